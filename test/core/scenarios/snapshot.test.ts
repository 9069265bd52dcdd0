/**
 * Log compaction and InstallSnapshot (§7). A follower whose next entry the
 * leader has compacted away must be sent a snapshot and then catch up with
 * ordinary appends, even while the leader keeps appending (the livelock of
 * hashicorp/raft#212 and #697).
 */
import { describe, expect, it, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { electNode, logOf, settle, tickUntil } from '../../support/scenario-cluster.js';
import { storageWith, terms } from '../../support/scenario-log-builder.js';
import { NodeHarness, ofType } from '../../support/scenario-node.js';

/** n1 leads; n3 was cut off while n1 committed `count` proposals and compacted its log. */
function farBehind(count: number): CoreCluster {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  cluster.isolate(['n3']);
  for (let i = 0; i < count; i++) cluster.propose('n1', new Uint8Array([i]));
  settle(cluster);
  expect(cluster.raw('n1').status().commitIndex).toBe(count + 1);
  expect(cluster.compact('n1')).toBe(true);
  expect(cluster.raw('n1').status().firstIndex).toBe(count + 2);
  return cluster;
}

const applied = (cluster: CoreCluster, id: string): number[][] => cluster.node(id).state.map((e) => [e.index, e.term, ...e.data]);

test('§7: a follower far behind the leader’s compacted log is sent InstallSnapshot and catches up', () => {
  const cluster = farBehind(20);
  cluster.heal();

  const delivered: Message[] = [];
  for (let tick = 0; tick < 50 && cluster.raw('n3').status().commitIndex < 21; tick++) {
    cluster.tickAll();
    delivered.push(...settle(cluster));
  }

  expect(delivered.some((m) => m.type === 'installSnapshot' && m.to === 'n3')).toBe(true);
  expect(cluster.node('n3').storage.snapshotMeta()).toMatchObject({ index: 21, term: 1 });
  expect(cluster.raw('n3').status()).toMatchObject({ firstIndex: 22, lastIndex: 21, appliedIndex: 21 });
  expect(applied(cluster, 'n3')).toEqual(applied(cluster, 'n1'));
});

test('§7: after the snapshot, later entries reach the follower as ordinary appends', () => {
  const cluster = farBehind(10);
  cluster.heal();
  tickUntil(cluster, () => cluster.raw('n3').status().commitIndex === 11);

  cluster.propose('n1', new Uint8Array([0xee]));
  const delivered = settle(cluster);

  expect(delivered.filter((m) => m.type === 'installSnapshot')).toEqual([]);
  expect(logOf(cluster, 'n3')).toEqual(terms(1));
  expect(cluster.raw('n3').status().commitIndex).toBe(12);
  expect(applied(cluster, 'n3')).toEqual(applied(cluster, 'n1'));
});

test('§7 (hashicorp/raft#212): a follower catches up through a snapshot while the leader keeps appending and compacting', () => {
  const cluster = farBehind(30);
  cluster.heal();

  let next = 100;
  tickUntil(
    cluster,
    () => {
      cluster.propose('n1', new Uint8Array([next++ & 0xff]));
      if (next % 4 === 0) cluster.compact('n1');
      const leader = cluster.raw('n1').status();
      return cluster.raw('n3').status().commitIndex >= leader.commitIndex - 1 && cluster.raw('n3').status().commitIndex > 31;
    },
    100,
  );
  cluster.tickAndStabilize(3);

  expect(cluster.raw('n3').status().commitIndex).toBe(cluster.raw('n1').status().commitIndex);
  expect(applied(cluster, 'n3')).toEqual(applied(cluster, 'n1'));
});

describe('§7: InstallSnapshot on the follower', () => {
  const snapshotFrom = (index: number, term: number): Parameters<NodeHarness['step']>[0] => ({
    type: 'installSnapshot',
    from: 'n1',
    to: 'n2',
    term: 2,
    snapshot: { index, term, membership: { voters: ['n1', 'n2', 'n3'] } },
  });

  it('§7: a snapshot that covers entries the follower already holds keeps the log after it and commits up to it', () => {
    const node = new NodeHarness({ id: 'n2', storage: storageWith({ log: terms(1, 1, 1, 1, 2, 2, 2, 2), term: 2, commit: 3 }) });

    node.step(snapshotFrom(6, 2));
    const ready = node.raw.ready();

    expect(ready.snapshot).toBeNull();
    expect(node.raw.status()).toMatchObject({ commitIndex: 6, lastIndex: 8 });
    expect(ofType(ready.messages, 'appendEntriesResponse')).toEqual([expect.objectContaining({ success: true, index: 6 })]);
  });

  it('§7: a snapshot that does not match the follower’s log replaces the log entirely', () => {
    const node = new NodeHarness({ id: 'n2', storage: storageWith({ log: terms(1, 1, 1), term: 1, commit: 1 }) });

    node.step(snapshotFrom(10, 2));
    const ready = node.raw.ready();

    expect(ready.snapshot).toMatchObject({ index: 10, term: 2 });
    expect(ready.committedEntries).toEqual([]);
    expect(node.raw.status()).toMatchObject({ commitIndex: 10, firstIndex: 11, lastIndex: 10 });
    node.persist(ready);
    node.raw.advance();
    expect(node.raw.status()).toMatchObject({ appliedIndex: 10 });
    expect(node.storage.firstIndex()).toBe(11);
  });

  it('§7: a stale snapshot, at or below the commit index, is ignored and answered with the commit index', () => {
    const node = new NodeHarness({ id: 'n2', storage: storageWith({ log: terms(1, 1, 1, 1, 1), term: 2, commit: 5 }) });

    node.step(snapshotFrom(3, 1));
    const ready = node.raw.ready();

    expect(ready.snapshot).toBeNull();
    expect(node.raw.status()).toMatchObject({ commitIndex: 5, lastIndex: 5, firstIndex: 1 });
    expect(ofType(ready.messages, 'appendEntriesResponse')).toEqual([expect.objectContaining({ success: true, index: 5 })]);
  });
});
