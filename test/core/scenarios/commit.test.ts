/**
 * Commitment (§5.3, §5.4.2): what a leader may count and what a follower may
 * conclude. Bugs that shipped: a follower setting commitIndex to
 * min(leaderCommit, lastLogIndex) instead of the last index the append
 * verified (copycat#265, NuRaft PR #57, scylladb#9965).
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { carriesTerm, electNode, inFlightWhere, logOf, scenarioCluster, settle } from '../../support/scenario-cluster.js';
import { entries, storageWith, terms, termsOf } from '../../support/scenario-log-builder.js';
import { NodeHarness, appendEntries, heartbeat } from '../../support/scenario-node.js';

test('§5.4.2: a new leader commits nothing until an entry of its own term commits, even with its old-term entries on every node', () => {
  // n1 holds entry 3 of term 2 that never committed; n2 and n3 lag behind it.
  const cluster = scenarioCluster({
    raft: { maxMsgBytes: 1 },
    stored: {
      n1: { log: terms(1, 1, 2), term: 2, commit: 1 },
      n2: { log: terms(1, 1), term: 2, commit: 1 },
      n3: { log: terms(1), term: 2, commit: 1 },
    },
  });
  // Hold back the new leader's no-op (term 3) until the followers hold everything before it.
  const noOp = carriesTerm(3);
  const holdsIndex3 = (id: string): boolean => cluster.raw(id).status().lastIndex >= 3;
  const rules = { hold: (m: Message): boolean => noOp(m) && holdsIndex3(m.to) };

  cluster.campaign('n1');
  settle(cluster, rules);

  expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 3, lastIndex: 4 });
  for (const id of cluster.ids) expect(logOf(cluster, id).slice(0, 3), id).toEqual(terms(1, 1, 2));
  expect(cluster.raw('n1').status().commitIndex).toBe(1);

  settle(cluster);

  expect(cluster.raw('n1').status().commitIndex).toBe(4);
  expect(cluster.node('n1').state.map((e) => e.term)).toEqual(terms(1, 1, 2, 3));
});

describe('§5.3 (copycat#265): a follower commits min(leaderCommit, the last index this append verified)', () => {
  // The follower holds 1, 1, 1, 2, 2: entries 4 and 5 came from a deposed leader of term 2 and were never committed.
  const follower = (): NodeHarness => new NodeHarness({ id: 'n2', storage: storageWith({ log: terms(1, 1, 1, 2, 2), term: 2 }) });

  test('§5.3 (copycat#265): an append verifying up to index 3 commits 3, not the stale entries after it', () => {
    const node = follower();

    node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: entries(terms(1), 3), leaderCommit: 5 }));

    expect(node.raw.status().commitIndex).toBe(3);
    expect(termsOf(node.raw, 5)).toEqual(terms(1, 1, 1, 2, 2));
    expect(node.drain().committed.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  test('§5.3 (copycat#265): an empty append verifies only its prevLogIndex', () => {
    const node = follower();

    node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: [], leaderCommit: 5 }));

    expect(node.raw.status().commitIndex).toBe(2);
  });

  test('§5.3 (copycat#265): a heartbeat whose commit is past the follower’s log is not clamped to its last index', () => {
    const node = new NodeHarness({ id: 'n2', storage: storageWith({ log: terms(1, 1), term: 2 }) });

    node.step(heartbeat({ from: 'n1', to: 'n2', term: 2, commit: 5 }));

    expect(node.raw.status().commitIndex).toBe(0);
  });

  test('§5.3: the leader’s heartbeats carry min(the follower’s match, commit), never an index the follower may lack', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: false } });
    electNode(cluster, 'n1');
    for (let i = 0; i < 3; i++) {
      cluster.propose('n1', new Uint8Array([i]));
      settle(cluster, { hold: (m) => m.to === 'n3' });
    }
    cluster.inFlight = [];
    expect(cluster.raw('n1').status().commitIndex).toBe(4);

    cluster.tick('n1');
    cluster.advanceReady('n1');

    const beats = inFlightWhere(cluster, (m) => m.type === 'heartbeat');
    expect(beats.map((m) => [m.to, m.type === 'heartbeat' && m.commit])).toEqual([
      ['n2', 4],
      ['n3', 1],
    ]);
  });
});

test('§5.3: an entry is committed once a majority stores it; a minority never commits', () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const cluster = new CoreCluster({ ids, raft: { checkQuorum: false } });
  electNode(cluster, 'n1');
  const cutOff = new Set(['n3', 'n4', 'n5']);
  const rules = { drop: (m: Message): boolean => cutOff.has(m.to) || cutOff.has(m.from) };

  cluster.propose('n1', new Uint8Array([1]));
  settle(cluster, rules);
  expect(cluster.raw('n1').status().commitIndex).toBe(1);
  cutOff.delete('n3');
  cluster.tickAll();
  settle(cluster, rules);

  expect(cluster.raw('n1').status().commitIndex).toBe(2);
  for (const id of ['n1', 'n2', 'n3']) expect(cluster.node(id).state.map((e) => e.index), id).toEqual([1, 2]);
});

test('§5.3: every node applies the same committed entries in index order, each exactly once', () => {
  const cluster = new CoreCluster({ seed: 7 });
  electNode(cluster, 'n1');
  for (let i = 0; i < 20; i++) {
    cluster.propose('n1', new Uint8Array([i]));
    if (i % 3 === 0) cluster.tickAll();
    settle(cluster, { drop: (m) => m.to === 'n3' && i % 5 === 0 });
  }
  cluster.tickAndStabilize(5);

  const reference = cluster.node('n1').state.map((e) => [e.index, e.term, Array.from(e.data)]);
  expect(reference).toHaveLength(21);
  for (const id of ['n2', 'n3']) expect(cluster.node(id).state.map((e) => [e.index, e.term, Array.from(e.data)]), id).toEqual(reference);
});
