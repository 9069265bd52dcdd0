/**
 * The owner loop (src/node/owner-loop.ts) as seen from outside: every input
 * goes through the inbox, a turn batches what arrived together, every bound
 * holds, every request settles exactly once and nothing throws synchronously.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError, NodeClosedError, ReadDroppedError } from '../../src/errors.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import { NodeCluster, TICK_MS, text, clustersClosedAfterEach } from '../support/node-cluster.js';

const startCluster = clustersClosedAfterEach();

/** Counts the AppendEntries that carry entries, per sender, through the network's policy hook. */
function countAppends(c: NodeCluster): { appendsWithEntries: number; entriesSent: number } {
  const counts = { appendsWithEntries: 0, entriesSent: 0 };
  c.network.setPolicy((_from, _to, message: NodeMessage) => {
    if (message.kind === 'raft' && message.message.type === 'appendEntries' && message.message.entries.length > 0) {
      counts.appendsWithEntries++;
      counts.entriesSent += message.message.entries.length;
    }
    return { deliver: true, delayMs: 0 };
  });
  return counts;
}

describe('the owner loop', () => {
  test('proposals made together share one turn: one append of all of them per follower, one write', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('warm-up')));
    const counts = countAppends(c);
    const lastBefore = c.entry(leader).storage.lastIndex();
    const results = await c.run(Promise.all(Array.from({ length: 100 }, (_, i) => c.node(leader).propose(text(`p${i}`)))));
    // Applied in the order they were made, each once.
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
    expect(c.entry(leader).storage.lastIndex()).toBe(lastBefore + 100);
    // One AppendEntries per follower carried all 100 (none were sent one by one).
    expect(counts.appendsWithEntries).toBe(2);
    expect(counts.entriesSent).toBe(200);
  });

  test('nothing is stepped into the core outside a turn: a proposal waits in the inbox until the loop runs', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const before = c.node(leader).coreReader().lastIndex();
    const pending = c.node(leader).propose(text('later'));
    expect(c.node(leader).coreReader().lastIndex()).toBe(before);
    await c.run(pending);
    expect(c.node(leader).coreReader().lastIndex()).toBe(before + 1);
  });

  test('limits.maxInputsPerTurn bounds a turn: the rest wait for the next turns, and all are applied in order', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxInputsPerTurn: 8, maxAppliesPerTurn: 3 } });
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('warm-up')));
    const counts = countAppends(c);
    const results = await c.run(Promise.all(Array.from({ length: 40 }, (_, i) => c.node(leader).propose(text(`q${i}`)))));
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i + 2));
    // 40 proposals at most 8 per turn: at least 5 turns, so at least 5 appends per follower.
    expect(counts.appendsWithEntries).toBeGreaterThanOrEqual(10);
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items.slice(1)).toEqual(Array.from({ length: 40 }, (_, i) => `q${i}`));
  });

  test('limits.maxCommittedBytesPerReady bounds the entries per Ready: with room for one, all still apply in order, once', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxCommittedBytesPerReady: 1 } });
    const leader = await c.waitForLeader();
    const results = await c.run(Promise.all(Array.from({ length: 20 }, (_, i) => c.node(leader).propose(text(`r${i}`)))));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await c.advance(10 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
  });

  test('limits are validated: a turn bound must be a positive integer', async () => {
    await expect(NodeCluster.start(undefined, undefined, { limits: { maxCommittedBytesPerReady: 0 } })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'limits.maxCommittedBytesPerReady' });
    await expect(NodeCluster.start(undefined, undefined, { limits: { maxInflightBytes: -1 } })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'limits.maxInflightBytes' });
    await expect(NodeCluster.start(undefined, undefined, { limits: { maxInputsPerTurn: 0 } })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'limits.maxInputsPerTurn' });
    await expect(NodeCluster.start(undefined, undefined, { limits: { maxAppliesPerTurn: 1.5 } })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'limits.maxAppliesPerTurn' });
    await expect(NodeCluster.start(undefined, undefined, { limits: { maxPendingReads: -1 } })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'limits.maxPendingReads' });
  });

  test('timeoutMs of 0, negative, NaN or Infinity is refused as invalid before anything is appended', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const before = c.entry(leader).storage.lastIndex();
    for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(node.propose(text('x'), { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(node.read({ timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(node.transferLeadership(leader, { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(node.addLearner('n9', 'local:n9', { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await c.advance(5 * TICK_MS);
    expect(c.entry(leader).storage.lastIndex()).toBe(before);
  });

  test('no method throws synchronously: bad input and a closed node reject', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const calls: (() => Promise<unknown>)[] = [
      () => node.propose('not bytes' as unknown as Uint8Array),
      () => node.propose(text('x'), { seq: 3 }),
      () => node.read({ timeoutMs: -1 }),
      () => node.transferLeadership(42 as unknown as string),
      () => node.promote([]),
      () => node.removeMember(''),
    ];
    for (const call of calls) {
      let promise: Promise<unknown> | null = null;
      expect(() => {
        promise = call();
      }).not.toThrow();
      await expect(c.run(promise!)).rejects.toBeInstanceOf(Error);
    }
    await node.close();
    for (const call of [() => node.propose(text('x')), () => node.read(), () => node.transferLeadership(leader), () => node.openSession()]) {
      let promise: Promise<unknown> | null = null;
      expect(() => {
        promise = call();
      }).not.toThrow();
      await expect(promise!).rejects.toBeInstanceOf(NodeClosedError);
    }
  });

  test('close() settles what is still in the inbox: queued proposals and reads reject with NodeClosedError', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    // Made and not yet drained into the core: the loop has not run since.
    const queued = [node.propose(text('a')), node.propose(text('b')), node.read()];
    await node.close();
    for (const request of queued) await expect(request).rejects.toBeInstanceOf(NodeClosedError);
  });

  test('limits.maxPendingReads: reads past it are refused with ReadDroppedError; the others complete', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxPendingReads: 3 } });
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const first = [node.read(), node.read(), node.read()];
    await expect(node.read()).rejects.toBeInstanceOf(ReadDroppedError);
    await c.run(Promise.all(first));
    // Settled reads free their places.
    await c.run(node.read());
  });

  test('a proposal that timed out while still in the inbox is never appended', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const before = c.entry(leader).storage.lastIndex();
    const controller = new AbortController();
    const pending = node.propose(text('never'), { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'KEEL_ABORTED' });
    await c.advance(5 * TICK_MS);
    expect(c.entry(leader).storage.lastIndex()).toBe(before);
  });
});
