/**
 * The simulated disk's fsync model: visible at once, durable after its
 * latency and in call order, unsynced writes lost (or a prefix kept) on a
 * crash, injected I/O errors that leave the handle unusable.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Entry } from '../../../src/core/types.js';
import { StorageClosedError, StorageIOError } from '../../../src/errors.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { SimDisk } from '../../../sim/world/sim-disk.js';
import type { DiskEvent, DiskOptions } from '../../../sim/world/sim-disk.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index, term]) });
const terms = (entries: readonly Entry[]): number[] => entries.map((e) => e.term);

function disk(options: Partial<DiskOptions> = {}, seed = 1): { clock: VirtualClock; disk: SimDisk; events: DiskEvent[] } {
  const clock = new VirtualClock();
  const events: DiskEvent[] = [];
  const simDisk = new SimDisk(new SeededRandom(seed), { latencyMsMin: 5, latencyMsMax: 5, unsyncedMaySurvive: false, ...options }, (event) => events.push(event));
  return { clock, disk: simDisk, events };
}

describe('SimDisk', () => {
  test('a write is visible when called and durable only once its promise resolves, after the latency', async () => {
    const { clock, disk: simDisk } = disk();
    const handle = simDisk.open(clock);
    let durable = false;
    void handle.append([entry(1, 1), entry(2, 1)], { term: 1, vote: 'n1', commit: 0 }).then(() => (durable = true));

    expect(handle.lastIndex()).toBe(2);
    expect(simDisk.durableLog().entries).toEqual([]);
    await clock.advance(4);
    expect(durable).toBe(false);
    await clock.advance(1);
    expect(durable).toBe(true);
    expect(terms(simDisk.durableLog().entries)).toEqual([1, 1]);
    expect(simDisk.durableHardState()).toEqual({ term: 1, vote: 'n1', commit: 0 });
  });

  test('held entries count what the open handle sees and what is on the platter (for the run budget)', async () => {
    const { clock, disk: simDisk } = disk();
    const handle = simDisk.open(clock);
    void handle.append([entry(1, 1), entry(2, 1), entry(3, 1)], { term: 1, vote: null, commit: 0 });

    expect(simDisk.heldEntries()).toBe(3);
    await clock.advance(5);
    expect(simDisk.heldEntries()).toBe(6);
    simDisk.crash();
    expect(simDisk.heldEntries()).toBe(3);
  });

  test('a crash loses every write whose promise has not resolved; a new handle sees only the durable state', async () => {
    const { clock, disk: simDisk, events } = disk();
    const handle = simDisk.open(clock);
    const first = handle.append([entry(1, 1)], { term: 1, vote: null, commit: 0 });
    await clock.advance(5);
    await first;
    const lost = handle.append([entry(2, 2)], { term: 2, vote: 'n2', commit: 1 });

    expect(simDisk.crash()).toBe(1);
    await expect(lost).rejects.toBeInstanceOf(StorageIOError);
    expect(() => handle.lastIndex()).toThrow(StorageClosedError);
    const reopened = simDisk.open(clock);
    expect(reopened.lastIndex()).toBe(1);
    expect(reopened.initialState().hardState).toEqual({ term: 1, vote: null, commit: 0 });
    expect(events.at(-1)).toEqual({ kind: 'crash', lostWrites: 1, survivedWrites: 0 });
  });

  test('writes become durable in call order: an fsync makes every earlier write durable too', async () => {
    const { clock, disk: simDisk } = disk({ latencyMsMin: 1, latencyMsMax: 20 }, 3);
    const handle = simDisk.open(clock);
    const order: number[] = [];
    const writes = [1, 2, 3, 4, 5].map((index) => handle.append([entry(index, 1)]).then(() => order.push(index)));
    await clock.advance(100);
    await Promise.all(writes);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  test('with unsyncedMaySurvive, what survives a crash is always a prefix of the unsynced writes, never a gap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 8 }), (seed, writes) => {
        const { clock, disk: simDisk, events } = disk({ unsyncedMaySurvive: true }, seed);
        const handle = simDisk.open(clock);
        for (let index = 1; index <= writes; index++) void handle.append([entry(index, 1)], { term: 1, vote: null, commit: 0 }).catch(() => undefined);
        const lost = simDisk.crash();
        const kept = simDisk.durableLog().entries;
        expect(kept.map((e) => e.index)).toEqual(Array.from({ length: writes - lost }, (_, i) => i + 1));
        expect(events.at(-1)).toEqual({ kind: 'crash', lostWrites: lost, survivedWrites: writes - lost });
      }),
      { numRuns: 200 },
    );
  });

  test('an injected I/O error rejects the write and every later one with StorageIOError, and nothing of them becomes durable', async () => {
    const { clock, disk: simDisk } = disk();
    const handle = simDisk.open(clock);
    simDisk.armIoError();
    const failed = handle.append([entry(1, 1)]);
    const later = handle.append([entry(2, 1)]);
    failed.catch(() => undefined);
    later.catch(() => undefined);
    await clock.advance(10);

    await expect(failed).rejects.toBeInstanceOf(StorageIOError);
    await expect(later).rejects.toBeInstanceOf(StorageIOError);
    await expect(handle.append([entry(3, 1)])).rejects.toBeInstanceOf(StorageIOError);
    expect(handle.failed).toBe(true);
    expect(simDisk.durableLog().entries).toEqual([]);
  });

  test('a conflicting suffix overwritten by an append is reported, and the durable log follows the overwrite', async () => {
    const { clock, disk: simDisk, events } = disk();
    const handle = simDisk.open(clock);
    void handle.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    void handle.append([entry(2, 2)]);
    await clock.advance(10);

    expect(events.filter((event) => event.kind === 'append').map((event) => event.kind === 'append' && event.truncatedConflict)).toEqual([false, true]);
    expect(terms(simDisk.durableLog().entries)).toEqual([1, 2]);
  });

  test('a disk that acknowledges before fsync (the deliberately broken mode) loses acknowledged writes on a crash', async () => {
    const { clock, disk: simDisk } = disk({ acknowledgeBeforeSync: true });
    const handle = simDisk.open(clock);
    await handle.append([entry(1, 1)], { term: 1, vote: 'n1', commit: 0 });

    simDisk.crash();
    expect(simDisk.durableHardState().vote).toBeNull();
  });
});
