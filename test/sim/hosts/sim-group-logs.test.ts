/**
 * The group logs of a simulated host: one simulated disk per group, every
 * group's unsynced writes lost together when the host crashes, one group's
 * disk failing without touching another's, and the refusals of GroupLogs.
 */
import { describe, expect, test } from 'vitest';
import type { Entry } from '../../../src/core/types.js';
import { GroupExistsError, StorageClosedError, StorageIOError, UnknownGroupError } from '../../../src/errors.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { SimGroupLogs } from '../../../sim/hosts/sim-group-logs.js';
import type { DiskEvent } from '../../../sim/world/sim-disk.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index, term]) });

function logs(): { clock: VirtualClock; logs: SimGroupLogs; events: { group: string; event: DiskEvent }[] } {
  const clock = new VirtualClock();
  const events: { group: string; event: DiskEvent }[] = [];
  const groupLogs = new SimGroupLogs({
    disk: { latencyMsMin: 5, latencyMsMax: 5, unsyncedMaySurvive: false },
    random: new SeededRandom(7),
    report: (group, event) => events.push({ group, event }),
  });
  groupLogs.beginIncarnation(clock);
  return { clock, logs: groupLogs, events };
}

describe('SimGroupLogs', () => {
  test('groups are listed in id order with their founding membership, and reopen after a crash with their durable log', async () => {
    const { clock, logs: groupLogs } = logs();
    const b = await groupLogs.createGroup('g-b', { membership: { voters: ['h1', 'h2', 'h3'] } });
    await groupLogs.createGroup('g-a', {});
    const write = b.append([entry(1, 1)], { term: 1, vote: 'h1', commit: 0 });
    await clock.advance(5);
    await write;

    expect(await groupLogs.listGroups()).toEqual([
      { group: 'g-a', membership: null },
      { group: 'g-b', membership: { voters: ['h1', 'h2', 'h3'] } },
    ]);
    groupLogs.crash();
    groupLogs.beginIncarnation(clock);
    const reopened = await groupLogs.openGroup('g-b');
    expect(reopened.lastIndex()).toBe(1);
    expect(reopened.initialState().hardState).toEqual({ term: 1, vote: 'h1', commit: 0 });
  });

  test('a host crash loses the unsynced writes of every group at once, and revokes every open handle', async () => {
    const { clock, logs: groupLogs } = logs();
    const a = await groupLogs.createGroup('ga', {});
    const b = await groupLogs.createGroup('gb', {});
    const synced = a.append([entry(1, 1)], { term: 1, vote: null, commit: 0 });
    await clock.advance(5);
    await synced;
    const lostA = a.append([entry(2, 1)], { term: 1, vote: null, commit: 1 });
    const lostB = b.append([entry(1, 2)], { term: 2, vote: 'h2', commit: 0 });

    expect(groupLogs.crash()).toBe(2);
    await expect(lostA).rejects.toBeInstanceOf(StorageIOError);
    await expect(lostB).rejects.toBeInstanceOf(StorageIOError);
    expect(() => a.lastIndex()).toThrow(StorageClosedError);
    expect(groupLogs.disk('ga')!.durableLastIndex()).toBe(1);
    expect(groupLogs.disk('gb')!.durableLastIndex()).toBe(0);
  });

  test("one group's disk failing leaves the other groups' disks writing", async () => {
    const { clock, logs: groupLogs, events } = logs();
    const a = await groupLogs.createGroup('ga', {});
    const b = await groupLogs.createGroup('gb', {});
    groupLogs.disk('ga')!.armIoError();
    // Settled into a value at once: the rejection comes during the clock's advance, before any expect could attach.
    const failing = a.append([entry(1, 1)], { term: 1, vote: null, commit: 0 }).then(
      () => null,
      (error: unknown) => error,
    );
    const fine = b.append([entry(1, 1)], { term: 1, vote: null, commit: 0 });
    await clock.advance(5);

    expect(await failing).toBeInstanceOf(StorageIOError);
    await expect(fine).resolves.toBeUndefined();
    expect(groupLogs.handle('ga')!.failed).toBe(true);
    expect(groupLogs.handle('gb')!.failed).toBe(false);
    expect(events.filter((seen) => seen.event.kind === 'ioError').map((seen) => seen.group)).toEqual(['ga']);
  });

  test('refuses a group created twice, an unknown group, a malformed id, and an open before the host started', async () => {
    const { logs: groupLogs } = logs();
    await groupLogs.createGroup('ga', {});
    await expect(groupLogs.createGroup('ga', {})).rejects.toBeInstanceOf(GroupExistsError);
    await expect(groupLogs.openGroup('nope')).rejects.toBeInstanceOf(UnknownGroupError);
    await expect(groupLogs.removeGroup('nope')).rejects.toBeInstanceOf(UnknownGroupError);
    await expect(groupLogs.createGroup('bad!id', {})).rejects.toMatchObject({ code: 'KEEL_INVALID_ARGUMENT' });
    await expect(groupLogs.openGroup('ga')).rejects.toThrow(/open already/);
    groupLogs.crash();
    await expect(groupLogs.openGroup('ga')).rejects.toBeInstanceOf(StorageClosedError);
  });

  test('a removed group is gone from the listing', async () => {
    const { logs: groupLogs } = logs();
    await groupLogs.createGroup('ga', {});
    await groupLogs.removeGroup('ga');
    expect(await groupLogs.listGroups()).toEqual([]);
  });
});
