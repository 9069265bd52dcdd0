/**
 * Leadership transfer (Raft dissertation §3.10): the leader brings the target
 * up to date, then sends TimeoutNow; the target campaigns at once and wins.
 */
import { describe, expect, test } from 'vitest';
import { NotLeaderError, ProposalDroppedError, InvalidArgumentError } from '../../src/errors.js';
import { CoreCluster } from '../../src/testing/core-cluster.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function threeNodes(): CoreCluster {
  const cluster = new CoreCluster({ raft: { electionTicks: 10, heartbeatTicks: 1 } });
  expect(cluster.elect('n1')).toBe('n1');
  cluster.propose('n1', bytes('x'));
  cluster.stabilize();
  return cluster;
}

describe('§3.10 leadership transfer', () => {
  test('to an up-to-date follower: it becomes leader in the next term, without waiting for a timeout', () => {
    const cluster = threeNodes();
    const termBefore = cluster.raw('n1').status().term;

    cluster.transferLeadership('n1', 'n2');
    cluster.stabilize();

    expect(cluster.leader()).toBe('n2');
    expect(cluster.raw('n2').status().term).toBe(termBefore + 1);
    expect(cluster.raw('n1').status().role).toBe('follower');
    // The new leader commits its no-op, so every node agrees on the log.
    const commit = cluster.raw('n2').status().commitIndex;
    for (const id of cluster.ids) expect(cluster.raw(id).status().appliedIndex).toBe(commit);
  });

  test('works despite the CheckQuorum lease: followers that just heard from the leader still vote for the target', () => {
    const cluster = threeNodes();
    cluster.tickAndStabilize(2); // every follower has heard from n1 within the election timeout
    cluster.transferLeadership('n1', 'n3');
    cluster.stabilize();
    expect(cluster.leader()).toBe('n3');
  });

  test('to a slow follower: the leader first catches it up, then hands over', () => {
    const cluster = threeNodes();
    cluster.isolate(['n3']);
    for (let i = 0; i < 5; i++) cluster.propose('n1', bytes(`while-n3-away-${i}`));
    cluster.stabilize();
    const leaderLast = cluster.raw('n1').status().lastIndex;
    expect(cluster.raw('n3').status().lastIndex).toBeLessThan(leaderLast);

    cluster.heal();
    cluster.transferLeadership('n1', 'n3');
    // No TimeoutNow may go out before n3 is up to date.
    expect(cluster.inFlight.some((flight) => flight.message.type === 'timeoutNow')).toBe(false);
    // The leader probes n3 again on the next heartbeat answer, catches it up, then hands over.
    cluster.tickAndStabilize(2);

    expect(cluster.leader()).toBe('n3');
    expect(cluster.raw('n3').status().lastIndex).toBeGreaterThan(leaderLast); // its own no-op on top
  });

  test('proposals are refused while the transfer is in flight', () => {
    const cluster = threeNodes();
    cluster.isolate(['n2']); // the target cannot answer, so the transfer stays in flight
    cluster.transferLeadership('n1', 'n2');
    expect(cluster.raw('n1').status().leadTransferee).toBe('n2');
    expect(() => cluster.propose('n1', bytes('y'))).toThrow(ProposalDroppedError);
  });

  test('a transfer that does not complete within an election timeout is abandoned and proposals flow again', () => {
    const cluster = threeNodes();
    cluster.isolate(['n2']);
    cluster.transferLeadership('n1', 'n2');
    cluster.tickAndStabilize(10); // one election timeout of the leader

    expect(cluster.leader()).toBe('n1');
    expect(cluster.raw('n1').status().leadTransferee).toBeNull();
    expect(() => cluster.propose('n1', bytes('after-timeout'))).not.toThrow();
  });

  test('transferring to the leader itself cancels a transfer in progress', () => {
    const cluster = threeNodes();
    cluster.isolate(['n2']);
    cluster.transferLeadership('n1', 'n2');
    cluster.transferLeadership('n1', 'n1');
    expect(cluster.raw('n1').status().leadTransferee).toBeNull();
  });

  test('bad input: an unknown target is rejected, and a follower cannot transfer', () => {
    const cluster = threeNodes();
    expect(() => cluster.transferLeadership('n1', 'n9')).toThrow(InvalidArgumentError);
    expect(cluster.raw('n1').status().leadTransferee).toBeNull();
    expect(() => cluster.transferLeadership('n2', 'n3')).toThrow(NotLeaderError);
  });
});
