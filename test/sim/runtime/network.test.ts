/**
 * The simulated network: partition shapes (pure functions) and the link
 * policy and transport wrapper (drops, duplicates, clogs, cuts, pauses).
 */
import { describe, expect, test } from 'vitest';
import type { NodeId } from '../../../src/core/types.js';
import { VirtualClock } from '../../../src/util/clock.js';
import type { NodeMessage, Transport } from '../../../src/transport/transport.js';
import { SeededRandom } from '../../../src/util/random.js';
import { SimNetwork } from '../../../sim/world/network.js';
import type { NetworkOptions } from '../../../sim/world/network.js';
import { NodeClock } from '../../../sim/world/node-clock.js';
import { bridge, isolateOne, majoritiesRing, oneWay, splitMinority } from '../../../sim/world/partitions.js';
import type { Link } from '../../../sim/world/partitions.js';

const five = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** Who `node` still hears from under `cuts` (itself included). */
function hears(ids: readonly NodeId[], cuts: readonly Link[], node: NodeId): NodeId[] {
  return ids.filter((from) => from === node || !cuts.some((link) => link.from === from && link.to === node));
}

describe('partition shapes', () => {
  test('isolate one: the node hears nobody and nobody hears it', () => {
    const cuts = isolateOne(five, 'n3');
    expect(hears(five, cuts, 'n3')).toEqual(['n3']);
    for (const id of ['n1', 'n2', 'n4', 'n5']) expect(hears(five, cuts, id)).not.toContain('n3');
  });

  test('majority/minority split: ⌊N/2⌋ nodes on one side, the rest on the other', () => {
    const cuts = splitMinority(['n4', 'n1', 'n2', 'n3', 'n5']);
    expect(hears(five, cuts, 'n4')).toEqual(['n1', 'n4']);
    expect(hears(five, cuts, 'n2')).toEqual(['n2', 'n3', 'n5']);
  });

  test('bridge: the first node hears everyone, the two halves hear only themselves and the bridge', () => {
    const cuts = bridge(['n3', 'n1', 'n2', 'n4', 'n5']);
    expect(hears(five, cuts, 'n3')).toEqual(five);
    expect(hears(five, cuts, 'n1')).toEqual(['n1', 'n2', 'n3']);
    expect(hears(five, cuts, 'n5')).toEqual(['n3', 'n4', 'n5']);
  });

  test.each([3, 5, 7])('majorities ring of %i: every node hears a majority, no two hear the same one', (size) => {
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const cuts = majoritiesRing(ids);
    const views = ids.map((id) => hears(ids, cuts, id).join(','));
    for (const view of views) expect(view.split(',')).toHaveLength(Math.floor(size / 2) + 1);
    expect(new Set(views).size).toBe(size);
  });

  test('one-way: only the named direction is cut', () => {
    expect(oneWay('n1', 'n2')).toEqual([{ from: 'n1', to: 'n2' }]);
  });
});

const quiet: NetworkOptions = { latencyMsMin: 1, latencyMsMax: 1, jitterMs: 0, dropRate: 0, duplicateRate: 0, reorderRate: 0, reorderDelayMsMax: 0 };
const ping = (from: NodeId, to: NodeId, requestId: number): NodeMessage => ({ kind: 'forward', from, to, requestId, payload: new Uint8Array() });

/** Two nodes on a SimNetwork; `received` lists (time, requestId) per delivery to n2. */
async function pair(options: Partial<NetworkOptions> = {}): Promise<{ clock: VirtualClock; network: SimNetwork; n1: Transport; n2Clock: NodeClock; received: [number, number][] }> {
  const clock = new VirtualClock();
  const network = new SimNetwork(clock, ['n1', 'n2'], new SeededRandom(9), { ...quiet, ...options }, { trace: () => undefined, mark: () => undefined });
  const n1 = network.transport('n1', new NodeClock(clock));
  const n2Clock = new NodeClock(clock);
  const n2 = network.transport('n2', n2Clock);
  const received: [number, number][] = [];
  await n1.start({ receive: () => undefined, unreachable: () => undefined });
  await n2.start({ receive: (message) => received.push([clock.now(), message.kind === 'forward' ? message.requestId : -1]), unreachable: () => undefined });
  return { clock, network, n1, n2Clock, received };
}

describe('SimNetwork', () => {
  test('delivers after the link latency', async () => {
    const { clock, n1, received } = await pair();
    n1.send('n2', ping('n1', 'n2', 1));
    await clock.advance(10);
    expect(received).toEqual([[1, 1]]);
  });

  test('a drop rate of 1 drops everything; a duplicate rate of 1 delivers every message twice', async () => {
    const dropping = await pair({ dropRate: 1 });
    dropping.n1.send('n2', ping('n1', 'n2', 1));
    await dropping.clock.advance(10);
    expect(dropping.received).toEqual([]);
    const duplicating = await pair({ duplicateRate: 1 });
    duplicating.n1.send('n2', ping('n1', 'n2', 1));
    await duplicating.clock.advance(10);
    expect(duplicating.received.map(([, id]) => id)).toEqual([1, 1]);
  });

  test('a clogged link holds every message until the clog clears', async () => {
    const { clock, network, n1, received } = await pair();
    network.clog('n1', 'n2', 50);
    n1.send('n2', ping('n1', 'n2', 1));
    await clock.advance(20);
    n1.send('n2', ping('n1', 'n2', 2));
    await clock.advance(100);
    expect(received).toEqual([
      [51, 1],
      [51, 2],
    ]);
  });

  test('a partition drops messages already in flight on a cut link; healing lets new ones through', async () => {
    const { clock, network, n1, received } = await pair({ latencyMsMin: 10, latencyMsMax: 10 });
    n1.send('n2', ping('n1', 'n2', 1));
    network.partition(oneWay('n1', 'n2'));
    await clock.advance(20);
    network.heal();
    n1.send('n2', ping('n1', 'n2', 2));
    await clock.advance(20);
    expect(received.map(([, id]) => id)).toEqual([2]);
  });

  test('a paused node receives nothing until it resumes, then everything, in arrival order', async () => {
    const { clock, n1, n2Clock, received } = await pair();
    n2Clock.pause();
    n1.send('n2', ping('n1', 'n2', 1));
    n1.send('n2', ping('n1', 'n2', 2));
    await clock.advance(30);
    expect(received).toEqual([]);
    n2Clock.resume();
    await clock.advance(1);
    expect(received).toEqual([
      [30, 1],
      [30, 2],
    ]);
  });
});

describe('NodeClock', () => {
  test('a fast clock fires its timers early in world time, and reads ahead', async () => {
    const world = new VirtualClock();
    const fast = new NodeClock(world, 1.25, 0);
    let firedAt = -1;
    fast.setTimeout(() => (firedAt = world.now()), 100);
    await world.advance(200);
    expect(firedAt).toBe(80);
    expect(fast.now()).toBe(250);
  });

  test('a killed clock never runs another callback, held or scheduled', async () => {
    const world = new VirtualClock();
    const clock = new NodeClock(world);
    let runs = 0;
    clock.setTimeout(() => runs++, 10);
    clock.pause();
    clock.setTimeout(() => runs++, 0);
    await world.advance(5);
    clock.kill();
    clock.resume();
    await world.advance(50);
    expect(runs).toBe(0);
    expect(world.pending()).toBe(0);
  });
});
