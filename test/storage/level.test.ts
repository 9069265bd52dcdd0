import { afterEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { entrySizeBytes } from '../../src/core/types.js';
import { InvalidArgumentError, StorageIOError, StorageLockedError } from '../../src/errors.js';
import { encodeMembership } from '../../src/confchange/encoding.js';
import type { Entry } from '../../src/core/types.js';
import { entryKey, isConfigKey, isEntryKey, keyIndex, META_KEY, termRunKey } from '../../src/storage/level-keys.js';
import {
  decodeStorageMeta, encodeEntry, encodeStorageMeta, encodeTermRun, STORAGE_FORMAT_VERSION,
} from '../../src/storage/level-records.js';
import { LevelStorage } from '../../src/storage/level.js';
import type { LevelStorageOptions } from '../../src/storage/level.js';
import type { LogStorage } from '../../src/storage/storage.js';
import { startChild } from './child-process.js';
import { describeStorageConformance } from './conformance.js';
import { entry, log, plain, readAll } from './log-builders.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const locations = new WeakMap<LogStorage, string>();
const opened: LevelStorage[] = [];

async function openAt(location: string, extra: Partial<LevelStorageOptions> = {}): Promise<LevelStorage> {
  const storage = await LevelStorage.open({ location, nodeId: 'n1', ...extra });
  locations.set(storage, location);
  opened.push(storage);
  return storage;
}

async function openNew(extra: Partial<LevelStorageOptions> = {}): Promise<LevelStorage> {
  return openAt(await makeTempDir('level'), extra);
}

function levelHarness(extra: Partial<LevelStorageOptions>) {
  return {
    create: () => openNew(extra),
    reopen: async (storage: LogStorage) => {
      await storage.close();
      return openAt(locations.get(storage)!, extra);
    },
    settle: (storage: LogStorage) => (storage as LevelStorage).loadsSettled(),
  };
}

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  await removeTempDirs();
});

describeStorageConformance('LevelStorage', levelHarness({}));
// With no tail budget every durable entry is read back from disk, through the on-demand loader.
describeStorageConformance('LevelStorage, tail cache of 0 bytes', levelHarness({ tailCacheBytes: 0, loadedCacheBytes: 4096 }));

/** Every entry key on disk, read through a raw handle after the storage is closed. */
async function storedEntryIndexes(location: string): Promise<number[]> {
  const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.open();
  try {
    const keys = await raw.keys().all();
    return keys.filter(isEntryKey).map(keyIndex);
  } finally {
    await raw.close();
  }
}

describe('LevelStorage', () => {
  describe('argument checks', () => {
    it('rejects an entry over maxEntryBytes and changes nothing', async () => {
      const storage = await openNew({ maxEntryBytes: 100 });
      await storage.append(log(1, [1]));
      const tooBig = entry(2, 1, 100 - entrySizeBytes(entry(2, 1, 0)) + 1);

      await expect(storage.append([tooBig])).rejects.toBeInstanceOf(InvalidArgumentError);

      expect(storage.lastIndex()).toBe(1);
    });

    it('rejects bad options before touching the disk', async () => {
      const location = await makeTempDir('options');

      await expect(LevelStorage.open({ location, nodeId: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(LevelStorage.open({ location, nodeId: 'n1', tailCacheBytes: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(LevelStorage.open({ location, nodeId: 'n1', maxEntryBytes: 0.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('locking', () => {
    it('refuses a second open in the same process with StorageLockedError', async () => {
      const storage = await openNew();
      const location = locations.get(storage)!;

      const second = LevelStorage.open({ location, nodeId: 'n1' });

      await expect(second).rejects.toBeInstanceOf(StorageLockedError);
      await expect(second).rejects.toMatchObject({ code: 'KEEL_STORAGE_LOCKED', location });
      expect(storage.lastIndex()).toBe(0);
    });

    it('refuses an open while another process holds the directory, and allows it after', async () => {
      const location = await makeTempDir('lock');
      const holder = startChild('./lock-holder.mjs', [location, 'n1']);
      await holder.waitForLine((line) => line === 'open');

      await expect(LevelStorage.open({ location, nodeId: 'n1' })).rejects.toBeInstanceOf(StorageLockedError);

      holder.process.stdin.end();
      await holder.waitForLine((line) => line === 'closed');
      expect((await holder.exited).code).toBe(0);
      const storage = await openAt(location);
      expect(storage.lastIndex()).toBe(0);
    });
  });

  describe('group commit', () => {
    it('writes a synchronous burst of appends as one synced batch', async () => {
      const storage = await openNew();

      const writes = Array.from({ length: 100 }, (_, i) => storage.append([entry(i + 1, 1)], { term: 1, vote: null, commit: i }));
      await Promise.all(writes);

      expect(storage.stats()).toMatchObject({ writes: 100, batches: 1 });
      expect(storage.lastIndex()).toBe(100);
    });

    it('queues appends made while a batch is in flight into the next single batch', async () => {
      const storage = await openNew();

      const first = storage.append([entry(1, 1)]);
      await Promise.resolve(); // the first batch is now in flight
      const queued = Array.from({ length: 50 }, (_, i) => storage.append([entry(i + 2, 1)]));
      await Promise.all([first, ...queued]);

      expect(storage.stats()).toMatchObject({ writes: 51, batches: 2 });
      expect(plain(await readAll(storage))).toEqual(plain(log(1, Array<number>(51).fill(1))));
    });

    it('rejects a failed write with StorageIOError and refuses every later write', async () => {
      const storage = await openNew();
      await storage.append([entry(1, 1)]);
      // Pull the database out from under the storage: the next batch fails in LevelDB.
      await (storage as unknown as { db: Level<Buffer, Buffer> }).db.close();

      const failed = storage.append([entry(2, 1)]);
      await expect(failed).rejects.toBeInstanceOf(StorageIOError);
      await expect(failed).rejects.toHaveProperty('cause');
      await expect(storage.append([entry(3, 1)])).rejects.toBeInstanceOf(StorageIOError);
      await expect(storage.saveSnapshot({ index: 1, term: 1, membership: { voters: [] } })).rejects.toBeInstanceOf(StorageIOError);
    });
  });

  describe('caches', () => {
    it('keeps the tail within tailCacheBytes once writes are durable', async () => {
      const tailCacheBytes = 16 * 1024;
      const storage = await openNew({ tailCacheBytes });

      for (let first = 1; first <= 2000; first += 100) await storage.append(log(first, Array<number>(100).fill(1), 100));

      const stats = storage.stats();
      expect(stats.tailBytes).toBeLessThanOrEqual(tailCacheBytes);
      expect(stats.tailBytes).toBeGreaterThan(tailCacheBytes - entrySizeBytes(entry(1, 1, 100)));
    });

    it('keeps entries that are not yet durable in memory even with a 0-byte tail', async () => {
      const storage = await openNew({ tailCacheBytes: 0 });
      await storage.append(log(1, [1, 1]));

      const pending = storage.append(log(3, [2, 2, 2], 1000));

      expect(plain(storage.entries(3, 6, Number.MAX_SAFE_INTEGER))).toEqual(plain(log(3, [2, 2, 2], 1000)));
      await pending;
      expect(storage.stats().tailEntries).toBe(0);
    });

    it('loads old ranges on demand into a cache bounded by loadedCacheBytes', async () => {
      const loadedCacheBytes = 8 * 1024;
      const location = await makeTempDir('loaded');
      const writer = await openAt(location);
      for (let first = 1; first <= 5000; first += 500) await writer.append(log(first, Array<number>(500).fill(2), 64));
      await writer.close();
      const storage = await openAt(location, { tailCacheBytes: 4096, loadedCacheBytes });
      const largest = entrySizeBytes(entry(1, 2, 64));

      expect(storage.stats().tailBytes).toBeLessThanOrEqual(4096 + largest);
      expect(storage.entries(1, 5001, 2048)).toBeUndefined();
      const all = await readAll(storage, () => storage.loadsSettled(), 2048);

      expect(plain(all)).toEqual(plain(log(1, Array<number>(5000).fill(2), 64)));
      expect(storage.stats().loadedBytes).toBeLessThanOrEqual(loadedCacheBytes + largest);
    });
  });

  describe('open', () => {
    it('restores the term of every index from the term runs without reading the entries', async () => {
      const location = await makeTempDir('runs');
      const writer = await openAt(location);
      const terms = Array.from({ length: 300 }, (_, i) => 1 + Math.floor(i / 7));
      await writer.append(log(1, terms));
      await writer.close();

      const storage = await openAt(location, { tailCacheBytes: 0 });

      expect(storage.stats().tailEntries).toBeLessThanOrEqual(1);
      expect(storage.stats().termRuns).toBe(43);
      expect(Array.from({ length: 300 }, (_, i) => storage.term(i + 1))).toEqual(terms);
    });

    it('reads only openTailBytes of the log at open, then grows the tail to tailCacheBytes', async () => {
      const location = await makeTempDir('open-tail');
      const writer = await openAt(location);
      await writer.append(log(1, Array<number>(1000).fill(1), 100));
      await writer.close();
      const size = entrySizeBytes(entry(1, 1, 100));

      const storage = await openAt(location, { openTailBytes: 10 * size, tailCacheBytes: 100 * size });
      const atOpen = storage.stats().tailEntries;
      await storage.append(log(1001, Array<number>(200).fill(1), 100));

      expect(atOpen).toBe(10);
      expect(storage.stats().tailEntries).toBe(100);
      expect(storage.term(500)).toBe(1);
    });

    it('deletes compacted entries after the snapshot is durable', async () => {
      const location = await makeTempDir('compact');
      const storage = await openAt(location);
      for (let first = 1; first <= 50; first += 10) await storage.append(log(first, Array<number>(10).fill(1)));

      await storage.saveSnapshot({ index: 40, term: 1, membership: { voters: ['n1'] } });
      await storage.close();
      // Entries are stored in blocks, one per append here, keyed by their first index.
      expect(await storedEntryIndexes(location)).toEqual([41]);

      const reopened = await openAt(location);
      await reopened.saveSnapshot({ index: 45, term: 1, membership: { voters: ['n1'] } });
      expect(plain(await readAll(reopened))).toEqual(plain(log(46, [1, 1, 1, 1, 1])));
      await reopened.close();
      // The block holding the new first index starts below it: it stays, whole.
      expect(await storedEntryIndexes(location)).toEqual([41]);
    });

    it('collects compacted entries left over by a crash at the next open', async () => {
      const location = await makeTempDir('garbage');
      const storage = await openAt(location);
      await storage.append(log(1, [1, 1]));
      await storage.append(log(3, [1, 1]));
      await storage.saveSnapshot({ index: 2, term: 1, membership: { voters: ['n1'] } });
      await storage.close();
      // As if the process died between the snapshot batch and the clear of its prefix.
      const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await raw.batch([1, 2].map((index) => ({ type: 'put' as const, key: entryKey(index), value: encodeEntry(entry(index, 1)) })));
      await raw.close();

      const reopened = await openAt(location);
      expect(reopened.firstIndex()).toBe(3);
      expect(plain(await readAll(reopened))).toEqual(plain(log(3, [1, 1])));
      await reopened.close();

      expect(await storedEntryIndexes(location)).toEqual([3]);
    });
  });

  describe('entry blocks', () => {
    it('stores an append as one block and reads a truncation inside it back from disk, before and after reopening', async () => {
      const location = await makeTempDir('block-truncate');
      const writer = await openAt(location);
      await writer.append(log(1, Array<number>(100).fill(1), 50));
      // Conflict at 50: the new block keyed 50 replaces entries 50..100 of the block keyed 1.
      await writer.append(log(50, Array<number>(11).fill(2), 50));
      const expected = plain([...log(1, Array<number>(49).fill(1), 50), ...log(50, Array<number>(11).fill(2), 50)]);
      await writer.close();
      expect(await storedEntryIndexes(location)).toEqual([1, 50]);

      // A tail of one entry: everything else comes through the on-demand loader, in small loads.
      const reader = await openAt(location, { tailCacheBytes: 0, loadedCacheBytes: 1024 });

      expect(reader.lastIndex()).toBe(60);
      expect(plain(await readAll(reader, () => reader.loadsSettled(), 300))).toEqual(expected);
    });

    it('ends the log at a snapshot that does not match it, even inside a block, across a reopen', async () => {
      const location = await makeTempDir('block-snapshot');
      const writer = await openAt(location);
      await writer.append(log(1, Array<number>(10).fill(1)));

      await writer.saveSnapshot({ index: 5, term: 3, membership: { voters: ['n1'] } });
      await writer.close();
      const reopened = await openAt(location);

      expect([reopened.firstIndex(), reopened.lastIndex()]).toEqual([6, 5]);
      await reopened.append(log(6, [3, 3]));
      await reopened.close();
      const last = await openAt(location, { tailCacheBytes: 0 });
      expect(plain(await readAll(last, () => last.loadsSettled()))).toEqual(plain(log(6, [3, 3])));
    });

    it('opens a format-1 database (one record per entry), reads it, and marks it format 3 before writing blocks', async () => {
      const location = await makeTempDir('format-1');
      await (await openAt(location)).close();
      const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await raw.batch([
        { type: 'put', key: META_KEY, value: encodeStorageMeta({ formatVersion: 1, nodeId: 'n1', clusterId: null }) },
        { type: 'put', key: termRunKey(1), value: encodeTermRun({ start: 1, term: 1 }) },
        ...log(1, [1, 1, 1, 1, 1]).map((e) => ({ type: 'put' as const, key: entryKey(e.index), value: encodeEntry(e) })),
      ]);
      await raw.close();

      const storage = await openAt(location, { tailCacheBytes: 0 });
      const read = await readAll(storage, () => storage.loadsSettled());
      await storage.append(log(6, [1, 1]));
      await storage.close();
      const check = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const meta = decodeStorageMeta((await check.get(META_KEY))!);
      await check.close();
      const reopened = await openAt(location);

      expect(plain(read)).toEqual(plain(log(1, [1, 1, 1, 1, 1])));
      expect(meta.formatVersion).toBe(STORAGE_FORMAT_VERSION);
      expect(plain(await readAll(reopened))).toEqual(plain(log(1, Array<number>(7).fill(1))));
    });

    it('upgrades a format-2 database by scanning its log once for config entries, then opens from their index', async () => {
      const location = await makeTempDir('format-2');
      const config = (index: number, term: number): Entry => ({ index, term, type: 'config', data: encodeMembership({ voters: ['n1', `n${index}`] }) });
      const withConfigs = (first: number, count: number, term: number, at: readonly number[]): Entry[] =>
        log(first, Array<number>(count).fill(term), 100).map((e) => (at.includes(e.index) ? config(e.index, term) : e));
      const writer = await openAt(location);
      await writer.append(withConfigs(1, 300, 1, [10, 50, 250]));
      // Replaces the block that holds 250 from 240 on: the scan must drop 250 when it reaches the new block.
      await writer.append(withConfigs(240, 20, 2, [245]));
      await writer.saveSnapshot({ index: 20, term: 1, membership: { voters: ['n1'] } });
      await writer.close();
      // Make it a format-2 database: no copies of the config entries, format 2 in the meta record.
      const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const copies = (await raw.keys().all()).filter(isConfigKey);
      await raw.batch([
        { type: 'put', key: META_KEY, value: encodeStorageMeta({ formatVersion: 2, nodeId: 'n1', clusterId: null }) },
        ...copies.map((key) => ({ type: 'del' as const, key })),
      ]);
      await raw.close();

      const upgraded = await openAt(location, { openTailBytes: 1024 });
      const listed = upgraded.configEntries().map((e) => e.index);
      await upgraded.close();
      const check = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const meta = decodeStorageMeta((await check.get(META_KEY))!);
      const written = (await check.keys().all()).filter(isConfigKey).map(keyIndex);
      await check.close();
      const reopened = await openAt(location, { openTailBytes: 1024 });

      expect(copies.map(keyIndex)).toEqual([50, 245]);
      expect(listed).toEqual([50, 245]);
      expect(meta.formatVersion).toBe(STORAGE_FORMAT_VERSION);
      expect(written).toEqual([50, 245]);
      expect(plain(reopened.configEntries())).toEqual(plain([config(50, 1), config(245, 2)]));
    });
  });
});
