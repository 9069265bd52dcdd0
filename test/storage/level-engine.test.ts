/**
 * The shared log engine of a multi-group host: every group's storage passes
 * the storage conformance suite, the groups' writes share synced batches, one
 * group's damage is reported for that group alone, and removal survives a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptionError, GroupExistsError, InvalidArgumentError, UnknownGroupError } from '../../src/errors.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import type { LevelStorage } from '../../src/storage/level.js';
import type { LogStorage } from '../../src/storage/storage.js';
import { describeStorageConformance } from './conformance.js';
import { entry, log, readAll } from './log-builders.js';
import { flipByte, withRaw } from './level-raw.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const engines: LevelEngine[] = [];

async function openEngine(location?: string): Promise<{ engine: LevelEngine; location: string }> {
  const where = location ?? (await makeTempDir('engine'));
  const engine = await LevelEngine.open({ location: where, hostId: 'h1' });
  engines.push(engine);
  return { engine, location: where };
}

async function closeEngines(): Promise<void> {
  for (const engine of engines.splice(0)) await engine.close();
}

afterEach(async () => {
  await closeEngines();
  await removeTempDirs();
});

/** The group storages of one engine, each a fresh group: the conformance suite runs against a group's share. */
function engineHarness(): Parameters<typeof describeStorageConformance>[1] {
  let counter = 0;
  const engineOf = new Map<LogStorage, { engine: LevelEngine; group: string }>();
  return {
    async create() {
      const { engine } = await openEngine();
      const group = `g${counter++}`;
      // A neighbour group with its own log: nothing it writes may show in the group under test.
      const neighbour = await engine.createGroup(`${group}-neighbour`, {});
      await neighbour.append(log(1, [1, 1, 2]));
      const storage = await engine.createGroup(group, {});
      engineOf.set(storage, { engine, group });
      return storage;
    },
    async reopen(storage) {
      const { engine, group } = engineOf.get(storage)!;
      await storage.close();
      const reopened = await engine.openGroup(group);
      engineOf.set(reopened, { engine, group });
      return reopened;
    },
    settle: (storage) => (storage as LevelStorage).loadsSettled(),
  };
}

describeStorageConformance('LevelEngine group', engineHarness());

describe('LevelEngine', () => {
  it('writes the appends of many groups made in one burst as one synced batch', async () => {
    const { engine } = await openEngine();
    const groups = await Promise.all(['a', 'b', 'c', 'd'].map((group) => engine.createGroup(group, {})));
    const before = engine.stats();

    await Promise.all(groups.map((storage, i) => storage.append(log(1, [1, 1 + i]), { term: 1 + i, vote: 'h1', commit: 0 })));

    const after = engine.stats();
    expect(after.writes - before.writes).toBe(4);
    expect(after.batches - before.batches).toBe(1);
  });

  it('keeps each group to its own keys across a restart', async () => {
    const { engine, location } = await openEngine();
    const a = await engine.createGroup('a', { membership: { voters: ['h1', 'h2', 'h3'] } });
    const b = await engine.createGroup('b', {});
    await a.append(log(1, [1, 1, 2]), { term: 2, vote: 'h2', commit: 2 });
    await b.append(log(1, [5]), { term: 5, vote: 'h1', commit: 1 });
    await engine.close();

    const { engine: reopened } = await openEngine(location);
    expect((await reopened.listGroups()).map((listing) => listing.group)).toEqual(['a', 'b']);
    const a2 = await reopened.openGroup('a');
    const b2 = await reopened.openGroup('b');
    expect(await readAll(a2)).toEqual(log(1, [1, 1, 2]));
    expect(a2.initialState().hardState).toEqual({ term: 2, vote: 'h2', commit: 2 });
    expect(a2.initialState().membership).toEqual({ voters: ['h1', 'h2', 'h3'] });
    expect(await readAll(b2)).toEqual(log(1, [5]));
    expect(b2.initialState().hardState).toEqual({ term: 5, vote: 'h1', commit: 1 });
  });

  it('refuses a group created twice, an unknown group and a malformed id, and writes nothing', async () => {
    const { engine } = await openEngine();
    await engine.createGroup('a', {});

    await expect(engine.createGroup('a', {})).rejects.toBeInstanceOf(GroupExistsError);
    await expect(engine.openGroup('nope')).rejects.toBeInstanceOf(UnknownGroupError);
    await expect(engine.removeGroup('nope')).rejects.toBeInstanceOf(UnknownGroupError);
    await expect(engine.createGroup('bad!id', {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(engine.createGroup('', {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(engine.openGroup('a')).rejects.toBeInstanceOf(InvalidArgumentError);

    expect((await engine.listGroups()).map((listing) => listing.group)).toEqual(['a']);
  });

  it('refuses a database of another host', async () => {
    const { engine, location } = await openEngine();
    await engine.close();

    await expect(LevelEngine.open({ location, hostId: 'h2' })).rejects.toBeInstanceOf(CorruptionError);
  });

  it("reports damage in one group's log for that group; the others open", async () => {
    const { engine, location } = await openEngine();
    const a = await engine.createGroup('a', {});
    const b = await engine.createGroup('b', {});
    await a.append(log(1, [1, 1]));
    await b.append(log(1, [1, 1]));
    await engine.close();
    // The last byte of group b's entry block: inside the checksummed body.
    await withRaw(location, async (db) => {
      const keys = await db.keys({ gte: Buffer.from('!g:b!e'), lt: Buffer.from('!g:b!f') }).all();
      expect(keys.length).toBeGreaterThan(0);
      await flipByte(db, keys[0]!, -1);
    });

    const { engine: reopened } = await openEngine(location);
    const a2 = await reopened.openGroup('a');
    expect(await readAll(a2)).toEqual(log(1, [1, 1]));
    const failure = await reopened.openGroup('b', { openTailBytes: 1024 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CorruptionError);
    expect((failure as CorruptionError).key).toMatch(/^group b /);
  });

  it("lists a group whose registry record is damaged with its error, and the others", async () => {
    const { engine, location } = await openEngine();
    await engine.createGroup('a', {});
    await engine.createGroup('b', {});
    await engine.close();
    await withRaw(location, (db) => flipByte(db, Buffer.from('!groups!b'), -1));

    const { engine: reopened } = await openEngine(location);
    const listing = await reopened.listGroups();
    expect(listing.map((item) => [item.group, item.error?.code ?? 'ok'])).toEqual([['a', 'ok'], ['b', 'KEEL_CORRUPTION']]);
    await expect(reopened.openGroup('b')).rejects.toBeInstanceOf(CorruptionError);
    await expect(reopened.openGroup('a')).resolves.toBeDefined();
  });

  it('removes a group and all its keys; a group made again under its id starts empty', async () => {
    const { engine, location } = await openEngine();
    const a = await engine.createGroup('a', {});
    const b = await engine.createGroup('b', {});
    await a.append(log(1, [1, 1, 1]));
    await b.append(log(1, [2]));
    await a.close();

    await expect(engine.removeGroup('b')).rejects.toBeInstanceOf(InvalidArgumentError);
    await engine.removeGroup('a');
    expect((await engine.listGroups()).map((listing) => listing.group)).toEqual(['b']);
    const again = await engine.createGroup('a', {});
    expect(again.lastIndex()).toBe(0);
    await engine.close();
    await withRaw(location, async (db) => {
      const keys = await db.keys({ gte: Buffer.from('!g:a!'), lt: Buffer.from('!g:a"') }).all();
      // Only the fresh group's meta, hard state and snapshot records: no entry of the removed one.
      expect(keys.map((key) => key.toString('latin1')).filter((key) => key.startsWith('!g:a!e'))).toEqual([]);
    });
  });

  it('finishes a removal that a crash interrupted before the keys were cleared', async () => {
    const { engine, location } = await openEngine();
    const a = await engine.createGroup('a', {});
    await a.append(log(1, [1, 1]));
    await engine.close();
    // The state a crash between the two steps of removeGroup leaves: marked, keys still there.
    await withRaw(location, async (db) => {
      const { encodeRecord } = await import('../../src/codec/record.js');
      const key = Buffer.from('a');
      await db.sublevel<Buffer, Buffer>('groups', { keyEncoding: 'buffer', valueEncoding: 'buffer' }).put(key, encodeRecord(key, { membership: null, removing: true }));
    });

    const { engine: reopened } = await openEngine(location);
    expect(await reopened.listGroups()).toEqual([]);
    await reopened.close();
    await withRaw(location, async (db) => {
      expect(await db.keys({ gte: Buffer.from('!g:a!'), lt: Buffer.from('!g:a"') }).all()).toEqual([]);
    });
  });

  it('refuses every call after close', async () => {
    const { engine } = await openEngine();
    const a = await engine.createGroup('a', {});
    await engine.close();

    expect(() => a.lastIndex()).toThrow();
    await expect(engine.createGroup('b', {})).rejects.toThrow();
    await expect(a.append([entry(1, 1)])).rejects.toThrow();
  });
});
