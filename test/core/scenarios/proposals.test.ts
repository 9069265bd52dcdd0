/**
 * Client proposals (§8): only the leader accepts them; others answer with
 * the leader they know so the client can redirect. A leader bounds its
 * uncommitted backlog so that a stuck quorum cannot exhaust its memory.
 */
import { describe, expect, test } from 'vitest';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { NotLeaderError, ProposalDroppedError, ProposalTooLargeError } from '../../../src/errors.js';
import { electNode, settle, tickUntil } from '../../support/scenario-cluster.js';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

describe('§8: proposals reach the leader only', () => {
  test('§8: a proposal on a follower is rejected with the leader’s id, so the client can go there', () => {
    const cluster = new CoreCluster();
    electNode(cluster, 'n1');

    for (const id of ['n2', 'n3']) {
      expect(() => cluster.propose(id, bytes(1))).toThrow(NotLeaderError);
      expect(() => cluster.propose(id, bytes(1))).toThrow(expect.objectContaining({ leader: 'n1' }));
    }
    expect(cluster.raw('n2').status().lastIndex).toBe(1);
  });

  test('§8: during an election no leader is known and the rejection says so', () => {
    const cluster = new CoreCluster({ raft: { preVote: false } });
    cluster.campaign('n2');

    expect(() => cluster.propose('n2', bytes(1))).toThrow(expect.objectContaining({ code: 'KEEL_NOT_LEADER', leader: null }));
    expect(() => cluster.propose('n1', bytes(1))).toThrow(expect.objectContaining({ leader: null }));
  });

  test('§8: after a leader change, followers name the new leader', () => {
    const cluster = new CoreCluster();
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);
    tickUntil(cluster, () => ['n2', 'n3'].includes(cluster.leader() ?? ''));
    const newLeader = cluster.leader()!;
    const follower = newLeader === 'n2' ? 'n3' : 'n2';

    expect(() => cluster.propose(follower, bytes(1))).toThrow(expect.objectContaining({ leader: newLeader }));
  });
});

describe('the uncommitted-bytes cap', () => {
  test('proposals past the uncommitted-bytes cap are rejected while the quorum is unreachable, and accepted again once the backlog commits', () => {
    const cluster = new CoreCluster({ raft: { maxUncommittedBytes: 300, checkQuorum: false } });
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);

    for (let i = 0; i < 3; i++) cluster.propose('n1', bytes(100, i));
    settle(cluster);
    expect(() => cluster.propose('n1', bytes(1))).toThrow(ProposalDroppedError);
    expect(() => cluster.propose('n1', bytes(1))).toThrow(expect.objectContaining({ code: 'KEEL_PROPOSAL_DROPPED' }));
    expect(cluster.raw('n1').status().lastIndex).toBe(4);

    cluster.heal();
    tickUntil(cluster, () => cluster.raw('n1').status().appliedIndex === 4);

    expect(() => cluster.propose('n1', bytes(100))).not.toThrow();
  });

  test('a proposal larger than maxEntryBytes is rejected on the leader, whatever the backlog', () => {
    const cluster = new CoreCluster({ raft: { maxEntryBytes: 64 } });
    electNode(cluster, 'n1');

    expect(() => cluster.propose('n1', bytes(65))).toThrow(ProposalTooLargeError);
    expect(() => cluster.propose('n1', bytes(64))).not.toThrow();
  });
});

test('§5.3: proposals accepted by one leader commit in the order proposed', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');

  const receipts = [1, 2, 3].map((i) => cluster.propose('n1', bytes(1, i)));
  settle(cluster);

  expect(receipts.map((r) => [r.term, r.firstIndex, r.lastIndex])).toEqual([
    [1, 2, 2],
    [1, 3, 3],
    [1, 4, 4],
  ]);
  for (const id of cluster.ids) expect(cluster.node(id).state.slice(1).map((e) => e.data[0]), id).toEqual([1, 2, 3]);
});
