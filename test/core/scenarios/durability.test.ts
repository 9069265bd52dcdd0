/**
 * What must be durable before a node speaks (Figure 2: "updated on stable
 * storage before responding to RPCs"), and what survives a crash. Bugs that
 * shipped: a vote cleared or not persisted before replying (redpanda PR #14);
 * acknowledging before fsync (etcd#14370, nats-server#7564).
 *
 * The CoreCluster handles a Ready in three phases (take, persist, send), so a
 * crash can land between any two.
 */
import { expect, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { between, deliverWhere, electNode, inFlightWhere, logOf, processAll, settle, tickUntil } from '../../support/scenario-cluster.js';

const PAPER_RAFT = { preVote: false, checkQuorum: false } as const;
const voteFrom = (id: string) => (m: Message): boolean => m.type === 'requestVoteResponse' && m.from === id;

test('Figure 2: a vote not yet durable is never sent; after a crash it is gone and no candidate ever learned of it', () => {
  const cluster = new CoreCluster({ raft: PAPER_RAFT });
  cluster.campaign('n1');
  processAll(cluster);
  deliverWhere(cluster, between('n1', 'n2'));
  expect(cluster.raw('n2').status()).toMatchObject({ term: 1, vote: 'n1' });

  cluster.advanceReady('n2'); // take the Ready holding the vote and its answer
  cluster.crash('n2'); // before persisting it

  expect(inFlightWhere(cluster, voteFrom('n2'))).toEqual([]);
  expect(cluster.node('n2').storage.initialState().hardState).toMatchObject({ term: 0, vote: null });
  cluster.restart('n2');
  expect(cluster.raw('n2').status()).toMatchObject({ term: 0, vote: null });
});

test('redpanda PR #14: a node that crashed after persisting its vote still refuses another candidate of that term after restart', () => {
  const cluster = new CoreCluster({ raft: PAPER_RAFT });
  cluster.campaign('n1');
  processAll(cluster);
  deliverWhere(cluster, between('n1', 'n2'));
  cluster.advanceReady('n2'); // take
  cluster.advanceReady('n2'); // persist
  cluster.crash('n2'); // before sending the answer
  cluster.inFlight = cluster.inFlight.filter((f) => !between('n1', 'n3')(f.message)); // n3 never hears of n1's candidacy
  cluster.restart('n2');
  expect(cluster.raw('n2').status()).toMatchObject({ term: 1, vote: 'n1' });

  cluster.campaign('n3');
  const delivered = settle(cluster);

  // n1 (a candidate itself) and n2 (bound by its durable vote) both refuse: n3 loses.
  expect(cluster.raw('n3').status()).toMatchObject({ role: 'follower', term: 1, vote: 'n3' });
  expect(delivered.filter(voteFrom('n2'))).toEqual([expect.objectContaining({ to: 'n3', term: 1, granted: false })]);
  expect(cluster.leader()).toBeNull();
});

test('§5.1: a node’s term and vote survive a crash at any point after they were persisted', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  const before = cluster.ids.map((id) => cluster.raw(id).status());

  for (const id of cluster.ids) {
    cluster.crash(id);
    cluster.restart(id);
  }

  expect(cluster.ids.map((id) => cluster.raw(id).status())).toEqual(
    before.map((status) => expect.objectContaining({ term: status.term, vote: status.vote, role: 'follower', leader: null })),
  );
});

test('Figure 2: a follower that crashes before persisting an append never acknowledged it; the leader re-sends and commits later', () => {
  const cluster = new CoreCluster({ raft: { checkQuorum: false } });
  electNode(cluster, 'n1');
  cluster.propose('n1', new Uint8Array([1]));
  cluster.advanceReady('n1'); // take: the leader's appends leave in parallel
  cluster.advanceReady('n1'); // persist
  cluster.advanceReady('n1'); // send the rest and advance
  deliverWhere(cluster, (m) => m.type === 'appendEntries' && m.to === 'n2');
  cluster.advanceReady('n2'); // take
  cluster.crash('n2'); // before persisting
  cluster.inFlight = cluster.inFlight.filter((f) => f.message.to !== 'n3');

  expect(inFlightWhere(cluster, (m) => m.from === 'n2')).toEqual([]);
  expect(cluster.raw('n1').status()).toMatchObject({ commitIndex: 1 });
  expect(cluster.raw('n1').status().progress.get('n2')?.match).toBe(1);

  cluster.restart('n2');
  expect(logOf(cluster, 'n2')).toEqual([1]);
  tickUntil(cluster, () => cluster.raw('n1').status().commitIndex === 2);
  expect(logOf(cluster, 'n2')).toEqual([1, 1]);
});

test('etcd#14370: a leader that crashes before persisting its own entry had not counted it; the entry is not lost once committed by others', () => {
  const cluster = new CoreCluster({ raft: PAPER_RAFT });
  electNode(cluster, 'n1');
  cluster.propose('n1', new Uint8Array([0x42]));
  cluster.advanceReady('n1'); // take: appends leave before the leader's own write
  deliverWhere(cluster, (m) => m.type === 'appendEntries' && m.to === 'n2');
  cluster.processReady('n2');
  deliverWhere(cluster, (m) => m.from === 'n2');

  // n2's acknowledgement alone (the leader's write still in progress) is not a quorum of three.
  expect(cluster.raw('n1').status().commitIndex).toBe(1);
  cluster.crash('n1');
  cluster.inFlight = [];
  cluster.restart('n1');
  expect(logOf(cluster, 'n1')).toEqual([1]);

  // n2 holds the entry, so only n2 can win; its no-op commits the entry with it.
  tickUntil(cluster, () => cluster.leader() !== null && cluster.ids.every((id) => cluster.raw(id).status().commitIndex === 3));
  expect(cluster.leader()).toBe('n2');
  for (const id of cluster.ids) expect(cluster.node(id).state.map((e) => Array.from(e.data)), id).toEqual([[], [0x42], []]);
});
