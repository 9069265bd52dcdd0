/**
 * Known Raft bug 10 (Raft notes §4): the InstallSnapshot livelock of
 * far-behind followers (hashicorp/raft #212, #697). While a slow snapshot
 * transfer is under way, the leader takes a newer snapshot and compacts its
 * log past the one being sent. When the follower has installed it, the
 * entries that follow are gone: it needs another snapshot, which by then is
 * stale too, and so on while writes keep coming. The fix: compaction never
 * passes the index of a snapshot still being sent, so the follower continues
 * from the log.
 *
 * Runtime level, on a virtual clock: the production RaftNode with its
 * snapshot sender and taker, a network that slows snapshot chunks down, and
 * only public behaviour (messages on the wire, storage, state machines) is
 * asserted. Bounded in virtual time.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { NodeMessage } from '../../src/transport/transport.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** A snapshot every 20 entries, no log kept behind it, small chunks one at a time: a transfer takes many round trips. */
const SNAPSHOTTING = { entries: 20, keepEntries: 0, chunkBytes: 32, maxChunksInFlight: 1 };
/** Each snapshot chunk takes this long to arrive: the transfer outlasts the next snapshot the leader takes. */
const CHUNK_DELAY_MS = 3 * TICK_MS;

async function proposeMany(c: NodeCluster, leader: string, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await c.run(Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => c.node(leader).propose(text(`${prefix}${i + j}`)))));
  }
}

describe('bug 10, InstallSnapshot livelock of far-behind followers (hashicorp/raft #212, #697)', () => {
  test('hashicorp/raft#212: a leader that snapshots during a slow transfer keeps the log after the snapshot in flight; the follower catches up with that one snapshot', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: SNAPSHOTTING });
    const c = cluster;
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.network.isolate([lagging], c.ids);
    await proposeMany(c, leader, 60, 'a');
    const leaderStorage = c.entry(leader).storage;
    expect(leaderStorage.firstIndex(), 'the leader compacted past the lagging follower').toBeGreaterThan(c.entry(lagging).storage.lastIndex() + 1);

    // Snapshot chunks crawl; everything else flows. Every snapshot sent to the lagging node is noted.
    const snapshotsSent = new Set<number>();
    let inFlightIndex: number | null = null;
    c.network.setPolicy((_from, to, message: NodeMessage) => {
      if (message.kind !== 'snapshotChunk') return { deliver: true, delayMs: 0 };
      if (to === lagging) {
        snapshotsSent.add(message.meta.index);
        inFlightIndex = message.meta.index;
      }
      return { deliver: true, delayMs: CHUNK_DELAY_MS };
    });
    c.network.heal();
    await c.advance(2 * CHUNK_DELAY_MS);
    expect(inFlightIndex, 'a snapshot transfer to the lagging node started').not.toBeNull();
    const sending = inFlightIndex!;

    // The leader takes at least one newer snapshot while that transfer is under way.
    await proposeMany(c, leader, 40, 'b');
    const newest = c.entry(leader).snapshots.latest()?.index ?? 0;
    expect(newest, 'the leader took a newer snapshot during the transfer').toBeGreaterThan(sending);
    expect(c.entry(lagging).storage.lastIndex(), 'the transfer is still under way').toBeLessThan(sending);
    // The bound itself: the log after the snapshot being sent is kept.
    expect.soft(leaderStorage.firstIndex() - 1, `compacted past the snapshot at ${sending} still being sent`).toBeLessThanOrEqual(sending);

    await c.advance(400 * TICK_MS);
    await proposeMany(c, leader, 5, 'c');
    await c.advance(10 * TICK_MS);

    expect([...snapshotsSent], 'snapshots sent to the lagging node').toEqual([sending]);
    expect(c.entry(lagging).machine.items).toHaveLength(105);
    expect(c.entry(lagging).machine.items).toEqual(c.entry(leader).machine.items);
  });
});
