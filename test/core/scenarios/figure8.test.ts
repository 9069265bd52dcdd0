/**
 * Figure 8 of the Raft paper (§5.4.2): "a leader cannot immediately conclude
 * that an entry from a previous term is committed once it is stored on a
 * majority of servers." Committing an old-term entry by counting replicas
 * shipped in real systems (logcabin#44, canonical/raft#220, async-raft#108).
 *
 * Five servers S1..S5, scripted step by step without PreVote or CheckQuorum
 * (the paper's basic algorithm) and with one entry per AppendEntries, so each
 * replica receives exactly the entries the figure shows.
 *
 * Keel's leaders append a no-op when elected (§8), so the "entry of the new
 * term" each leader accepts in the figure is its no-op. One difference from the
 * figure: in (c), S2 also accepts S1's term-4 entry (the only way for S1 to
 * learn that S2 holds index 2 is S2 acknowledging the append that follows it).
 * The point of (c) is unchanged: index 2 is on S1, S2 and S3, a majority,
 * and S1 knows it, yet must not commit it.
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { carriesTerm, electNode, logOf, settle, tickUntil } from '../../support/scenario-cluster.js';
import { terms } from '../../support/scenario-log-builder.js';

const SERVERS = ['s1', 's2', 's3', 's4', 's5'];

const appendTo = (id: string) => (m: Message): boolean => m.type === 'appendEntries' && m.to === id;

/** Runs (a), (b) and (c) of Figure 8 and checks the state after each. */
function figure8UpToC(): CoreCluster {
  const cluster = new CoreCluster({ ids: SERVERS, raft: { preVote: false, checkQuorum: false, maxMsgBytes: 1 } });
  // Index 1, term 1 is on every log: S1 leads term 1 and commits its no-op everywhere.
  electNode(cluster, 's1');
  expect(SERVERS.map((id) => cluster.raw(id).status().commitIndex)).toEqual([1, 1, 1, 1, 1]);

  // (a) S1 is leader in term 2 and replicates the entry at index 2 to S2 only.
  cluster.crash('s1');
  cluster.restart('s1');
  electNode(cluster, 's1', { drop: (m) => carriesTerm(2)(m) && m.to !== 's2' });
  expect(cluster.raw('s1').status()).toMatchObject({ role: 'leader', term: 2, commitIndex: 1 });
  expect(SERVERS.map((id) => logOf(cluster, id))).toEqual([terms(1, 2), terms(1, 2), terms(1), terms(1), terms(1)]);

  // (b) S1 crashes; S5 is elected for term 3 with votes from S3, S4 and itself, and accepts a different entry at index 2.
  cluster.crash('s1');
  electNode(cluster, 's5', { drop: carriesTerm(3) });
  expect(cluster.raw('s5').status()).toMatchObject({ role: 'leader', term: 3 });
  expect(cluster.raw('s2').status().vote).toBeNull(); // S2's log (index 2, term 2) is more up to date than S5's: no vote
  expect(logOf(cluster, 's5')).toEqual(terms(1, 3));

  // (c) S5 crashes; S1 restarts and is elected for term 4 (its first try, in term 3, cannot win: S3 and S4 voted for S5).
  // It replicates index 2 to S3 but not yet its own term-4 entry; S4 hears nothing.
  cluster.crash('s5');
  cluster.restart('s1');
  const s3HoldsIndex2 = (): boolean => cluster.raw('s3').status().lastIndex >= 2;
  electNode(cluster, 's1', { drop: (m) => appendTo('s4')(m) || (appendTo('s3')(m) && carriesTerm(4)(m) && s3HoldsIndex2()) });
  expect(cluster.raw('s1').status()).toMatchObject({ role: 'leader', term: 4 });
  expect(['s1', 's2', 's3', 's4'].map((id) => logOf(cluster, id))).toEqual([terms(1, 2, 4), terms(1, 2, 4), terms(1, 2), terms(1)]);
  return cluster;
}

test('§5.4.2 Figure 8 (c): an entry from an older term is not committed by counting replicas', () => {
  const cluster = figure8UpToC();

  const leader = cluster.raw('s1').status();

  // S1 knows index 2 is on S1, S2 and S3: a majority of five.
  expect(leader.progress.get('s2')?.match).toBeGreaterThanOrEqual(2);
  expect(leader.progress.get('s3')?.match).toBe(2);
  expect(leader.commitIndex).toBe(1);
  for (const id of ['s1', 's2', 's3', 's4']) expect(cluster.node(id).state.map((e) => e.index)).toEqual([1]);
});

test('§5.4.2 Figure 8 (d): the uncommitted older-term entry on a majority is overwritten by S5, a leader of a later term', () => {
  const cluster = figure8UpToC();

  // S1 crashes; S5 restarts and is elected for term 5 with votes from S3 and S4 (its try in term 4 fails: they voted for S1).
  cluster.crash('s1');
  cluster.restart('s5');
  electNode(cluster, 's5');
  expect(cluster.raw('s5').status()).toMatchObject({ role: 'leader', term: 5 });
  cluster.restart('s1');
  tickUntil(cluster, () => SERVERS.every((id) => cluster.raw(id).status().commitIndex === 3));

  // Index 2 of term 2 is gone everywhere, replaced by S5's entry of term 3; no server ever applied the term-2 entry.
  for (const id of SERVERS) {
    expect(logOf(cluster, id), id).toEqual(terms(1, 3, 5));
    expect(cluster.node(id).state.map((e) => e.term), id).toEqual(terms(1, 3, 5));
  }
});

test('§5.4.2 Figure 8 (e): once S1 commits an entry of its own term, the older entry before it is committed too, and S5 can no longer win', () => {
  const cluster = figure8UpToC();

  // S1 replicates its term-4 entry to S3 (on the next heartbeat's answer) before crashing.
  cluster.tickAll();
  settle(cluster, { drop: appendTo('s4') });
  expect(cluster.raw('s1').status().commitIndex).toBe(3);
  expect(cluster.node('s1').state.map((e) => e.term)).toEqual(terms(1, 2, 4));

  cluster.crash('s1');
  cluster.restart('s5');
  for (let attempt = 0; attempt < 3; attempt++) {
    cluster.campaign('s5');
    settle(cluster);
    expect(cluster.raw('s5').status().role).not.toBe('leader');
  }
  tickUntil(cluster, () => cluster.leader() !== null);

  expect(['s2', 's3']).toContain(cluster.leader());
  tickUntil(cluster, () => ['s2', 's3', 's4', 's5'].every((id) => cluster.raw(id).status().commitIndex >= 4));
  for (const id of ['s2', 's3', 's4', 's5']) expect(logOf(cluster, id).slice(0, 3), id).toEqual(terms(1, 2, 4));
});

describe('§5.4.2: a leader commits an older-term entry only through an entry of its own term', () => {
  test('§5.4.2: the old-term entry commits at the moment the current-term entry after it reaches a majority', () => {
    const cluster = figure8UpToC();
    expect(cluster.raw('s1').status().commitIndex).toBe(1);

    cluster.tickAll();
    const delivered = settle(cluster, { drop: appendTo('s4') });
    const acks = delivered.filter((m) => m.type === 'appendEntriesResponse' && m.success && m.index === 3);

    expect(acks.length).toBeGreaterThan(0);
    expect(cluster.raw('s1').status().commitIndex).toBe(3);
  });
});
