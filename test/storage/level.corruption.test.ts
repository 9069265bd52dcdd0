/**
 * Damaged records: each case damages one record through a raw LevelDB handle
 * (so LevelDB itself sees nothing wrong) and expects LevelStorage to refuse
 * with a CorruptionError naming the key, never to return wrong data. When open
 * refuses, the data on disk must be unchanged (see `digest`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMembership } from '../../src/confchange/encoding.js';
import type { Entry, HardState } from '../../src/core/types.js';
import { CorruptionError } from '../../src/errors.js';
import { configKey, entryKey, HARD_STATE_PREFIX, META_KEY, SNAPSHOT_PREFIX, termRunKey, versionKey } from '../../src/storage/level-keys.js';
import { encodeConfigEntry, encodeEntry, encodeHardState, encodeStorageMeta, encodeTermRun } from '../../src/storage/level-records.js';
import { LevelStorage } from '../../src/storage/level.js';
import type { LevelStorageOptions } from '../../src/storage/level.js';
import type { RawDb } from './level-raw.js';
import { digest, flipByte, rawGet, settle, versionsOf, withRaw } from './level-raw.js';
import { entry, log, plain, readAll, readEntries } from './log-builders.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

/** Entries 1..400 in terms 1..8 (a new term every 50 entries) in blocks of 10, a config entry at 150, snapshot at 20, commit 400. */
const LAST_INDEX = 400;
const CONFIG_INDEX = 150;
const SNAPSHOT_INDEX = 20;
const termOf = (index: number): number => 1 + Math.floor(index / 50);
const configAt = (index: number, term = termOf(index)): Entry => ({ index, term, type: 'config', data: encodeMembership({ voters: ['n1'] }) });
const IDENTITY = { nodeId: 'n1', clusterId: 'c1' };

afterEach(removeTempDirs);

/** The key of the block holding `index`: the fixture appends 10 entries at a time, each append one block. */
const blockKey = (index: number): Buffer => entryKey(index - ((index - 1) % 10));

async function buildFixture(): Promise<string> {
  const location = await makeTempDir('corrupt');
  const storage = await LevelStorage.open({ location, ...IDENTITY });
  for (let first = 1; first <= LAST_INDEX; first += 10) {
    const entries = log(first, Array.from({ length: 10 }, (_, i) => termOf(first + i)), 20).map((e) => (e.index === CONFIG_INDEX ? configAt(e.index) : e));
    await storage.append(entries, { term: termOf(first + 9), vote: 'n1', commit: first + 9 });
  }
  await storage.saveSnapshot({ index: SNAPSHOT_INDEX, term: termOf(SNAPSHOT_INDEX), membership: { voters: ['n1'] } });
  await storage.close();
  return location;
}

interface OpenFailureCase {
  readonly name: string;
  readonly damage: (db: RawDb) => Promise<void>;
  readonly key: string;
  readonly message?: RegExp;
  readonly options?: Partial<LevelStorageOptions>;
}

const putRecord = (key: Buffer, value: Buffer) => (db: RawDb) => db.put(key, value);
const hardState = (commit: number): HardState => ({ term: termOf(commit), vote: 'n1', commit });

/** The key of the newest (`back` = 0) or an older version of a versioned record. */
async function versionAt(db: RawDb, prefix: number, back: number): Promise<Buffer> {
  const newest = (await versionsOf(db, prefix))[0]!;
  return versionKey(prefix, newest - back);
}

/** Writes the next hard state version the way LevelStorage does (put n + 1, delete n - 1). */
async function writeHardStateVersion(db: RawDb, state: HardState): Promise<void> {
  const next = await versionAt(db, HARD_STATE_PREFIX, -1);
  await db.batch([{ type: 'put', key: next, value: encodeHardState(next, state) }, { type: 'del', key: await versionAt(db, HARD_STATE_PREFIX, 1) }]);
}

const openFailures: OpenFailureCase[] = [
  { name: 'a flipped body byte in a tail block', damage: (db) => flipByte(db, blockKey(390), -1), key: 'entry:381', message: /checksum mismatch/ },
  { name: 'a flipped checksum byte', damage: (db) => flipByte(db, blockKey(390), 2), key: 'entry:381', message: /checksum mismatch/ },
  { name: 'an unknown record format version', damage: (db) => flipByte(db, blockKey(390), 0, 0x02), key: 'entry:381', message: /unknown record format version 3/ },
  { name: 'a truncated record', damage: async (db) => db.put(blockKey(390), (await rawGet(db, blockKey(390))).subarray(0, 3)), key: 'entry:381', message: /shorter than its 5-byte header/ },
  { name: 'a flipped hard state', damage: async (db) => flipByte(db, await versionAt(db, HARD_STATE_PREFIX, 0), -1), key: 'hardState:41' },
  { name: 'a flipped previous hard state version', damage: async (db) => flipByte(db, await versionAt(db, HARD_STATE_PREFIX, 1), -1), key: 'hardState:40' },
  { name: 'a lost newest hard state version', damage: async (db) => db.del(await versionAt(db, HARD_STATE_PREFIX, 0)), key: 'hardState', message: /found 40$/ },
  {
    name: 'a resurrected older hard state version',
    damage: async (db) => db.put(await versionAt(db, HARD_STATE_PREFIX, 2), encodeHardState(await versionAt(db, HARD_STATE_PREFIX, 2), hardState(390))),
    key: 'hardState',
    message: /found 41, 40, 39$/,
  },
  {
    name: 'a lost hard state version between two others',
    damage: async (db) => {
      const older = await versionAt(db, HARD_STATE_PREFIX, 2);
      await db.batch([{ type: 'put', key: older, value: encodeHardState(older, hardState(390)) }, { type: 'del', key: await versionAt(db, HARD_STATE_PREFIX, 1) }]);
    },
    key: 'hardState:41',
    message: /versions 39 and 41 are not consecutive/,
  },
  { name: 'a flipped snapshot meta', damage: async (db) => flipByte(db, await versionAt(db, SNAPSHOT_PREFIX, 0), -1), key: 'snapshot:2' },
  { name: 'a flipped term run', damage: (db) => flipByte(db, termRunKey(100), -1), key: 'termRun:100' },
  { name: 'a flipped storage meta', damage: (db) => flipByte(db, META_KEY, 7), key: 'meta' },
  {
    name: 'an unknown storage format version',
    damage: putRecord(META_KEY, encodeStorageMeta({ formatVersion: 4, nodeId: 'n1', clusterId: 'c1' })),
    key: 'meta',
    message: /unknown storage format version 4/,
  },
  { name: 'another node id', damage: () => Promise.resolve(), key: 'meta', message: /node "n1", not "n2"/, options: { nodeId: 'n2' } },
  { name: 'another cluster id', damage: () => Promise.resolve(), key: 'meta', message: /cluster "c1", not "c2"/, options: { clusterId: 'c2' } },
  { name: 'a missing storage meta', damage: (db) => db.del(META_KEY), key: 'meta', message: /missing/ },
  { name: 'a hole in the tail', damage: (db) => db.del(blockKey(300)), key: 'entry:291', message: /hole in the log between 290 and 301/ },
  { name: 'a lost last block (commit past the log)', damage: (db) => db.del(blockKey(400)), key: 'entry:391', message: /commits up to 400/ },
  { name: 'a value moved under another key', damage: async (db) => db.put(blockKey(311), await rawGet(db, blockKey(301))), key: 'entry:311', message: /checksum mismatch/ },
  { name: 'an entry whose term disagrees with the term runs', damage: putRecord(entryKey(310), encodeEntry(entry(310, 99, 20))), key: 'entry:310', message: /term 99/ },
  { name: 'a lost term run', damage: (db) => db.del(termRunKey(100)), key: 'entry:100', message: /term runs say 2/ },
  { name: 'a term run past the last index', damage: putRecord(termRunKey(500), encodeTermRun({ start: 500, term: 20 })), key: 'termRun:500' },
  { name: 'a hard state committing past the log', damage: (db) => writeHardStateVersion(db, hardState(401)), key: 'entry:401' },
  { name: 'a hole at a term start below the tail', damage: (db) => db.del(blockKey(100)), key: 'entry:100', message: /hole in the log at the start of term 3/, options: { tailCacheBytes: 2048 } },
  { name: 'a flipped configuration-entry copy', damage: (db) => flipByte(db, configKey(CONFIG_INDEX), -1), key: 'config:150', message: /checksum mismatch/ },
  { name: 'a configuration-entry copy past the log', damage: putRecord(configKey(450), encodeConfigEntry(configAt(450))), key: 'config:450', message: /outside the log 21\.\.400/ },
  { name: 'a configuration-entry copy whose term disagrees with the term runs', damage: putRecord(configKey(CONFIG_INDEX), encodeConfigEntry(configAt(CONFIG_INDEX, 99))), key: 'config:150', message: /term 99/ },
  { name: 'a configuration-entry copy where the log holds a normal entry', damage: putRecord(configKey(151), encodeConfigEntry(configAt(151))), key: 'config:151', message: /differs from entry 151/ },
  { name: 'a normal entry under a configuration-entry key', damage: putRecord(configKey(152), encodeEntry(entry(152, termOf(152)), configKey(152))), key: 'config:152', message: /has type normal/ },
  { name: 'a hole at the first index below the tail', damage: (db) => db.del(blockKey(21)), key: 'entry:21', message: /hole in the log at the first index/, options: { tailCacheBytes: 2048 } },
];

describe('LevelStorage with damaged records', () => {
  describe('open refuses with CorruptionError and leaves the disk unchanged', () => {
    for (const failure of openFailures) {
      it(`on ${failure.name}`, async () => {
        const location = await buildFixture();
        await withRaw(location, failure.damage);
        await settle(location);
        const before = await digest(location);

        const opening = LevelStorage.open({ location, ...IDENTITY, ...failure.options });

        await expect(opening).rejects.toBeInstanceOf(CorruptionError);
        await expect(opening).rejects.toMatchObject({ code: 'KEEL_CORRUPTION', key: failure.key });
        if (failure.message !== undefined) await expect(opening).rejects.toThrow(failure.message);
        expect(await digest(location)).toBe(before);
      });
    }
  });

  it('opens the undamaged fixture (so every refusal above is caused by its damage)', async () => {
    const location = await buildFixture();

    const storage = await LevelStorage.open({ location, ...IDENTITY, tailCacheBytes: 2048 });
    const entries = await readAll(storage, () => storage.loadsSettled());
    await storage.close();

    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: LAST_INDEX - SNAPSHOT_INDEX }, (_, i) => SNAPSHOT_INDEX + 1 + i));
  });

  it('has a digest that notices a single written key (so "unchanged" above means something)', async () => {
    const location = await buildFixture();
    await settle(location);
    const before = await digest(location);

    await withRaw(location, (db) => db.put(Buffer.from('x'), Buffer.from('y')));

    expect(await digest(location)).not.toBe(before);
  });

  describe('damage below the tail is reported when that range is read', () => {
    async function openWithSmallTail(damage: (db: RawDb) => Promise<void>): Promise<LevelStorage> {
      const location = await buildFixture();
      await withRaw(location, damage);
      return LevelStorage.open({ location, ...IDENTITY, tailCacheBytes: 2048, loadedCacheBytes: 4096 });
    }

    it('reports a hole inside a term as CorruptionError naming the missing entry', async () => {
      const storage = await openWithSmallTail((db) => db.del(blockKey(120)));
      const settleLoads = () => storage.loadsSettled();

      const before = await readEntries(storage, 101, 111, Number.MAX_SAFE_INTEGER, settleLoads);
      const reading = readEntries(storage, 111, 130, Number.MAX_SAFE_INTEGER, settleLoads);

      expect(plain(before)).toEqual(plain(log(101, Array<number>(10).fill(3), 20)));
      await expect(reading).rejects.toMatchObject({ code: 'KEEL_CORRUPTION', key: 'entry:111' });
      await storage.close();
    });

    it('reports a flipped entry as CorruptionError every time it is asked for, never as data', async () => {
      const storage = await openWithSmallTail((db) => flipByte(db, blockKey(135), -3));
      const settleLoads = () => storage.loadsSettled();

      const before = await readEntries(storage, 125, 140, Number.MAX_SAFE_INTEGER, settleLoads);

      expect(before.map((e) => e.index)).toEqual([125, 126, 127, 128, 129, 130]);
      expect(() => storage.entries(131, 140, Number.MAX_SAFE_INTEGER)).toThrow(/corruption at entry:131: checksum mismatch/);
      expect(() => storage.entries(131, 132, 1)).toThrow(CorruptionError);
      await storage.close();
    });
  });
});
