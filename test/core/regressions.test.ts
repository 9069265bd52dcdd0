/**
 * Minimal reproductions of bugs the property test found in Keel's core, kept
 * as named scenarios so they can never come back silently.
 */
import { describe, expect, test } from 'vitest';
import { CoreCluster } from '../../src/testing/core-cluster.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('regressions found by the property test', () => {
  test('a full inflight window whose acknowledgements were all lost recovers on the next heartbeat answer', () => {
    // Arrange: a leader streaming to n3 with a window of 2, where every answer from n3 is lost.
    const cluster = new CoreCluster({ raft: { maxInflightMsgs: 2, maxMsgBytes: 1 } });
    expect(cluster.elect('n1')).toBe('n1');
    cluster.propose('n1', [bytes('a'), bytes('b'), bytes('c'), bytes('d')]);
    cluster.processReady('n1');
    cluster.cutLinks.add('n3>n1');
    cluster.stabilize();
    const stuck = cluster.raw('n1').status().progress.get('n3');
    expect(stuck?.state).toBe('replicate');
    expect(stuck?.inflight).toBe(2);

    // Act: the link heals; only heartbeats flow, no new proposals.
    cluster.heal();
    cluster.tickAndStabilize(3);

    // Assert: n3 caught up to the leader and applied everything.
    const leader = cluster.raw('n1').status();
    expect(cluster.raw('n1').status().progress.get('n3')?.match).toBe(leader.lastIndex);
    expect(cluster.raw('n3').status().appliedIndex).toBe(leader.commitIndex);
  });

  // The slice bug itself (a range ending below the unstable tail) is pinned by test/core/unit/raft-log.test.ts.
  test('a restarted follower hands out its committed log again exactly once, in order', () => {
    const cluster = new CoreCluster();
    cluster.elect('n1');
    for (let i = 0; i < 5; i++) cluster.propose('n1', bytes(`e${i}`));
    cluster.stabilize();
    cluster.crash('n2');
    cluster.restart('n2');
    // The restarted node knows commit 6 from its hard state and applies entries 1..6 exactly once each.
    cluster.processReady('n2');
    expect(cluster.node('n2').state.map((entry) => entry.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('replication progress', () => {
  test('a probe answered with the match already known moves the follower to replicate at once', () => {
    const cluster = new CoreCluster();
    cluster.elect('n1');
    cluster.stabilize();
    // n2 is up to date; make the leader probe it again, as after an unreachable report.
    cluster.raw('n1').reportUnreachable('n2');
    expect(cluster.raw('n1').status().progress.get('n2')?.state).toBe('probe');
    cluster.tickAndStabilize(1); // heartbeat → answer → probe append → answer with the same match
    expect(cluster.raw('n1').status().progress.get('n2')?.state).toBe('replicate');
  });

  test('a single voter may lead the same term twice when a crash lost the term it won at once (the checker does not flag it)', () => {
    // keel sim --core --seed 116 with membership churn: the cluster shrank to {n1}. A single voter wins its election
    // without waiting for any message, so it leads term t before t is durable; a crash then loses that leadership
    // (nothing it appended was persisted or sent), and after restarting it leads term t again with a shorter log.
    const cluster = new CoreCluster({ ids: ['n1'] });
    cluster.campaign('n1');
    cluster.propose('n1', [bytes('a'), bytes('b')]);
    const lost = cluster.raw('n1').status();
    expect(lost).toMatchObject({ role: 'leader', lastIndex: 3 });
    expect(cluster.node('n1').storage.initialState().hardState.term).toBe(0);

    cluster.crash('n1');
    cluster.restart('n1');
    cluster.campaign('n1');
    cluster.stabilize();

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: lost.term, lastIndex: 1, commitIndex: 1 });
  });
});
