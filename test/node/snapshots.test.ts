import { afterEach, describe, expect, test } from 'vitest';
import type { SnapshotMeta } from '../../src/core/types.js';
import type { SnapshotEvent } from '../../src/node/events.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const SNAPSHOTTING = { entries: 20, keepEntries: 5, chunkBytes: 32, maxChunksInFlight: 2 };

async function proposeMany(c: NodeCluster, leader: string, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await c.run(Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => c.node(leader).propose(text(`${prefix}${i + j}`)))));
  }
}

describe('RaftNode: snapshots and log compaction', () => {
  test('a far-behind follower receives the snapshot in chunks, installs it and continues from the log', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: SNAPSHOTTING });
    const c = cluster;
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.network.isolate([lagging], c.ids);
    await proposeMany(c, leader, 120, 'v');
    // The leader compacted past everything the lagging node has.
    expect(c.entry(leader).storage.firstIndex()).toBeGreaterThan(c.entry(lagging).storage.lastIndex() + 1);

    let chunks = 0;
    c.network.setPolicy((_from, _to, message: NodeMessage) => {
      if (message.kind === 'snapshotChunk') chunks++;
      return { deliver: true, delayMs: 0 };
    });
    // The stored snapshot is read when the event fires: the follower takes snapshots of its own later.
    const installed = new Promise<[SnapshotEvent, SnapshotMeta | null]>((resolve) =>
      c.node(lagging).on('snapshot', (snapshot) => snapshot.kind === 'installed' && resolve([snapshot, c.entry(lagging).snapshots.latest()])));
    c.network.heal();
    const [event, stored] = await c.run(installed);
    await proposeMany(c, leader, 5, 'after');
    await c.advance(10 * TICK_MS);

    expect(chunks).toBeGreaterThan(3);
    expect(c.entry(lagging).machine.items).toEqual(c.entry(leader).machine.items);
    expect(c.entry(lagging).machine.items).toHaveLength(125);
    // The event and restore() both name the snapshot's position: the leader's stored snapshot.
    expect(event).toEqual({ kind: 'installed', index: stored!.index, term: stored!.term });
    expect(c.entry(lagging).machine.restoredAt).toEqual([{ index: stored!.index, term: stored!.term }]);
  });

  test('a snapshot transfer that loses chunks resumes from the offset the follower stored', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: SNAPSHOTTING });
    const c = cluster;
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.network.isolate([lagging], c.ids);
    await proposeMany(c, leader, 80, 'w');
    let seen = 0;
    let dropped = 0;
    c.network.setPolicy((_from, _to, message: NodeMessage) => {
      // Lose every third chunk: the follower must answer with its offset and the leader resume there.
      if (message.kind === 'snapshotChunk' && ++seen % 3 === 0) {
        dropped++;
        return { deliver: false };
      }
      return { deliver: true, delayMs: TICK_MS };
    });
    c.network.heal();
    await c.advance(400 * TICK_MS);
    expect(dropped).toBeGreaterThan(0);
    expect(c.entry(lagging).machine.items).toEqual(c.entry(leader).machine.items);
  });

  test('a node restarted after compaction rebuilds its state from its snapshot plus the log after it', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: SNAPSHOTTING });
    const c = cluster;
    const leader = await c.waitForLeader();
    await proposeMany(c, leader, 57, 'r');
    await c.advance(5 * TICK_MS);
    const follower = c.ids.find((id) => id !== leader)!;
    expect(c.entry(follower).snapshots.latest()).not.toBeNull();
    await c.crash(follower);
    const stored = c.entry(follower).snapshots.latest()!;
    await c.startNode(follower);
    // A node opening from its own snapshot restores it with the snapshot's index and term.
    expect(c.entry(follower).machine.restoredAt).toEqual([{ index: stored.index, term: stored.term }]);
    await c.advance(5 * TICK_MS);
    expect(c.entry(follower).machine.items).toEqual(c.entry(leader).machine.items);
    expect(c.entry(follower).machine.items).toHaveLength(57);
  });

  test('compaction keeps the log bounded however much is written', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: SNAPSHOTTING });
    const c = cluster;
    const leader = await c.waitForLeader();
    await proposeMany(c, leader, 300, 'm');
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) {
      const storage = c.entry(id).storage;
      const retained = storage.lastIndex() - storage.firstIndex() + 1;
      // At most one snapshot interval plus the kept tail (and a batch in flight).
      expect(retained).toBeLessThanOrEqual(SNAPSHOTTING.entries + SNAPSHOTTING.keepEntries + 10);
    }
  });
});

describe('RaftNode: snapshot thresholds', () => {
  test('a snapshot is also taken once the applied entries carry snapshotting.bytes, however few they are', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 1_000_000, bytes: 4 * 1024, keepEntries: 0 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const taken = new Promise<SnapshotEvent>((resolve) => c.node(leader).once('snapshot', resolve));
    const big = new TextEncoder().encode('x'.repeat(1024));
    for (let i = 0; i < 5; i++) await c.run(c.node(leader).propose(big));
    const event = await c.run(taken);
    expect(event.kind).toBe('taken');
    expect(event.index).toBeLessThanOrEqual(6);
    const stored = c.entry(leader).snapshots.latest()!;
    expect(event).toEqual({ kind: 'taken', index: stored.index, term: stored.term });
  });
});
