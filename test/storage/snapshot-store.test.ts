/**
 * The snapshot store conformance suite, run against MemorySnapshotStore and
 * FileSnapshotStore, then what only the file store promises: crash safety of
 * its write steps, damage found at open or while streaming, and streaming a
 * large snapshot in bounded chunks.
 *
 * The chunk-sequence property replays with the seed and path fast-check prints:
 * KEEL_SNAPSHOT_SEED=<seed> KEEL_SNAPSHOT_PATH=<path>.
 */
import * as fs from 'node:fs/promises';
import { copyFile, open, readdir, rename, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SnapshotMeta } from '../../src/core/types.js';
import { CorruptionError, InvalidArgumentError, StorageClosedError, StorageIOError } from '../../src/errors.js';
import { FileSnapshotStore } from '../../src/storage/file-snapshot-store.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { snapshotFileName } from '../../src/storage/snapshot-file-format.js';
import type { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { DEFAULT_READ_CHUNK_BYTES } from '../../src/storage/snapshot-validate.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

// Pass-through spies, so that one test can check the order of the durability steps.
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, open: vi.fn(real.open), rename: vi.fn(real.rename) };
});

const SEED = process.env['KEEL_SNAPSHOT_SEED'];
const PATH = process.env['KEEL_SNAPSHOT_PATH'];
const replay = { ...(SEED === undefined ? {} : { seed: Number(SEED) }), ...(PATH === undefined ? {} : { path: PATH }) };

// ---------------------------------------------------------------- builders

function meta(index: number, term = 1, voters: readonly string[] = ['n1', 'n2', 'n3']): SnapshotMeta {
  return { index, term, membership: { voters } };
}

/** Deterministic content that differs from byte to byte and from seed to seed. */
function content(lengthBytes: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) bytes[i] = (i * 31 + seed * 101 + (i >>> 8)) & 0xff;
  return bytes;
}

/** Writes `bytes` as a snapshot, cutting it into chunks of the given sizes in turn, and commits. */
async function putSnapshot(store: SnapshotStore, snapshot: SnapshotMeta, bytes: Uint8Array, chunkSizes: readonly number[] = [4096]): Promise<void> {
  const writer = await store.create(snapshot);
  for (let offset = 0, turn = 0; offset < bytes.byteLength; turn++) {
    const size = chunkSizes[turn % chunkSizes.length]!;
    await writer.write(bytes.subarray(offset, offset + size));
    offset += size;
  }
  await writer.commit();
}

/** Reads a whole snapshot and returns its bytes and the size of each chunk. */
async function readSnapshot(store: SnapshotStore, index: number, chunkBytes?: number): Promise<{ bytes: Uint8Array; chunkSizes: number[] }> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of chunkBytes === undefined ? store.read(index) : store.read(index, chunkBytes)) chunks.push(chunk);
  return { bytes: new Uint8Array(Buffer.concat(chunks)), chunkSizes: chunks.map((chunk) => chunk.byteLength) };
}

/** The chunk sizes a read of `totalBytes` in `chunkBytes` must produce: all full but the last. */
function expectedChunkSizes(totalBytes: number, chunkBytes: number): number[] {
  const sizes = Array.from({ length: Math.floor(totalBytes / chunkBytes) }, () => chunkBytes);
  if (totalBytes % chunkBytes !== 0) sizes.push(totalBytes % chunkBytes);
  return sizes;
}

// ---------------------------------------------------------------- conformance

interface SnapshotStoreHarness {
  /** A new, empty store. */
  create(): Promise<SnapshotStore>;
  /** Closes `store` and opens its durable state again; omitted for stores without durability. */
  reopen?(store: SnapshotStore): Promise<SnapshotStore>;
  /** Runs of the chunk-sequence property. */
  propertyRuns: number;
}

function describeSnapshotStoreConformance(name: string, harness: SnapshotStoreHarness): void {
  describe(`SnapshotStore conformance: ${name}`, () => {
    const stores: SnapshotStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    async function create(): Promise<SnapshotStore> {
      const store = await harness.create();
      stores.push(store);
      return store;
    }
    /** Reopens a durable store, so that what is asserted next also checks persistence. */
    async function reopen(store: SnapshotStore): Promise<SnapshotStore> {
      if (harness.reopen === undefined) return store;
      const reopened = await harness.reopen(store);
      stores.push(reopened);
      return reopened;
    }

    it('an empty store has no latest snapshot and refuses to read one', async () => {
      const store = await create();
      expect(store.latest()).toBeNull();
      expect(() => store.read(1)).toThrow(InvalidArgumentError);
    });

    it('reads back byte-exact in any chunk size, whatever sizes it was written in', async () => {
      // Arrange: odd write sizes, one larger than the default read chunk.
      const bytes = content(70_001);
      let store = await create();
      await putSnapshot(store, meta(5, 2), bytes, [1, 7, 1000, 65_537, 3, 333]);
      store = await reopen(store);
      // Act / Assert
      for (const chunkBytes of [13, 4096, DEFAULT_READ_CHUNK_BYTES, 1 << 20]) {
        const read = await readSnapshot(store, 5, chunkBytes);
        expect(read.chunkSizes).toEqual(expectedChunkSizes(bytes.byteLength, chunkBytes));
        expect(Buffer.compare(read.bytes, bytes)).toBe(0);
      }
      expect((await readSnapshot(store, 5)).chunkSizes).toEqual(expectedChunkSizes(bytes.byteLength, DEFAULT_READ_CHUNK_BYTES));
    });

    it('an empty snapshot reads back as no chunks', async () => {
      let store = await create();
      await putSnapshot(store, meta(3), new Uint8Array(0));
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(3));
      expect((await readSnapshot(store, 3)).chunkSizes).toEqual([]);
    });

    it('latest() is the committed snapshot with the highest index', async () => {
      let store = await create();
      await putSnapshot(store, meta(10, 2), content(100, 10));
      expect(store.latest()).toEqual(meta(10, 2));
      await putSnapshot(store, meta(20, 3, ['n1', 'n4']), content(100, 20));
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(20, 3, ['n1', 'n4']));
      expect((await readSnapshot(store, 10)).bytes).toEqual(content(100, 10));
      expect((await readSnapshot(store, 20)).bytes).toEqual(content(100, 20));
    });

    it('a snapshot committed after a newer one stays readable but does not become latest', async () => {
      let store = await create();
      const older = await store.create(meta(10));
      const newer = await store.create(meta(20));
      await older.write(content(50, 10));
      await newer.write(content(50, 20));
      await newer.commit();
      await older.commit();
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(20));
      expect((await readSnapshot(store, 10)).bytes).toEqual(content(50, 10));
    });

    it('nothing is visible before commit, and abort leaves nothing behind', async () => {
      let store = await create();
      await putSnapshot(store, meta(4), content(10));
      const writer = await store.create(meta(8));
      await writer.write(content(1000, 8));
      expect(store.latest()).toEqual(meta(4));
      expect(() => store.read(8)).toThrow(InvalidArgumentError);
      await writer.abort();
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(4));
      expect(() => store.read(8)).toThrow(InvalidArgumentError);
    });

    it('keeps only the two newest snapshots', async () => {
      let store = await create();
      for (const index of [1, 2, 3]) await putSnapshot(store, meta(index), content(10, index));
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(3));
      expect((await readSnapshot(store, 2)).bytes).toEqual(content(10, 2));
      expect(() => store.read(1)).toThrow(InvalidArgumentError);
      // An older commit than both kept ones is dropped at once.
      await putSnapshot(store, meta(1), content(10, 1));
      expect(() => store.read(1)).toThrow(InvalidArgumentError);
    });

    it('a commit at an existing index replaces that snapshot', async () => {
      let store = await create();
      await putSnapshot(store, meta(7, 2), content(10, 1));
      await putSnapshot(store, meta(7, 2, ['n9']), content(20, 2));
      store = await reopen(store);
      expect(store.latest()).toEqual(meta(7, 2, ['n9']));
      expect((await readSnapshot(store, 7)).bytes).toEqual(content(20, 2));
    });

    it('refuses a second writer for an index being written, and allows one after abort', async () => {
      const store = await create();
      const first = await store.create(meta(6));
      await expect(store.create(meta(6))).rejects.toThrow(InvalidArgumentError);
      await first.abort();
      const second = await store.create(meta(6));
      await second.commit();
      expect(store.latest()).toEqual(meta(6));
    });

    it.each([
      ['index 0', meta(0)],
      ['a fractional index', meta(1.5)],
      ['term 0', meta(1, 0)],
      ['no voters', meta(1, 1, [])],
      ['an empty voter id', meta(1, 1, [''])],
      ['a duplicate voter', meta(1, 1, ['n1', 'n1'])],
    ])('create() rejects a meta with %s', async (_, bad) => {
      const store = await create();
      await expect(store.create(bad)).rejects.toThrow(InvalidArgumentError);
      expect(store.latest()).toBeNull();
    });

    it('read() rejects a bad index or chunk size', async () => {
      const store = await create();
      await putSnapshot(store, meta(2), content(10));
      for (const index of [0, -1, 2.5]) expect(() => store.read(index)).toThrow(InvalidArgumentError);
      for (const chunkBytes of [0, -1, 1.5, 2 ** 40]) expect(() => store.read(2, chunkBytes)).toThrow(InvalidArgumentError);
    });

    it('a writer that has ended refuses writes and commits; abort after commit is a no-op', async () => {
      const store = await create();
      const writer = await store.create(meta(2));
      await writer.commit();
      await expect(writer.write(content(1))).rejects.toThrow(InvalidArgumentError);
      await expect(writer.commit()).rejects.toThrow(InvalidArgumentError);
      await writer.abort();
      expect(store.latest()).toEqual(meta(2));
    });

    it("the caller's buffers cannot change stored content", async () => {
      const store = await create();
      const writer = await store.create(meta(2));
      const chunk = content(100);
      await writer.write(chunk);
      chunk.fill(0);
      await writer.commit();
      const first = await readSnapshot(store, 2, 10);
      first.bytes.fill(0);
      expect((await readSnapshot(store, 2)).bytes).toEqual(content(100));
    });

    it('after close every method fails with StorageClosedError; close is idempotent', async () => {
      // Arrange: a committed snapshot, a writer still writing and a read in progress.
      const store = await create();
      await putSnapshot(store, meta(2), content(100));
      const writer = await store.create(meta(3));
      await writer.write(content(10));
      const reading = store.read(2, 10)[Symbol.asyncIterator]();
      expect((await reading.next()).value).toEqual(content(100).subarray(0, 10));
      // Act
      await store.close();
      await store.close();
      // Assert
      expect(() => store.latest()).toThrow(StorageClosedError);
      expect(() => store.read(2)).toThrow(StorageClosedError);
      await expect(store.create(meta(4))).rejects.toThrow(StorageClosedError);
      await expect(writer.write(content(1))).rejects.toThrow(StorageClosedError);
      await expect(writer.commit()).rejects.toThrow(StorageClosedError);
      await expect(reading.next()).rejects.toThrow(StorageClosedError);
    });

    it('property: any sequence of chunk writes reads back identical in any chunk size', async () => {
      const store = await create();
      let index = 0;
      const property = fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 700 }),
        async (chunks, chunkBytes) => {
          index += 1;
          const writer = await store.create(meta(index));
          for (const chunk of chunks) await writer.write(chunk);
          await writer.commit();
          const expected = Buffer.concat(chunks);
          const read = await readSnapshot(store, index, chunkBytes);
          expect(Buffer.compare(read.bytes, expected)).toBe(0);
          expect(read.chunkSizes).toEqual(expectedChunkSizes(expected.byteLength, chunkBytes));
        },
      );
      await fc.assert(property, { numRuns: harness.propertyRuns, ...replay });
    });
  });
}

describeSnapshotStoreConformance('MemorySnapshotStore', {
  create: () => Promise.resolve(new MemorySnapshotStore()),
  propertyRuns: 200,
});

const directories = new WeakMap<SnapshotStore, string>();

async function openFileStore(directory: string): Promise<FileSnapshotStore> {
  const store = await FileSnapshotStore.open(directory);
  directories.set(store, directory);
  return store;
}

afterEach(removeTempDirs);

describeSnapshotStoreConformance('FileSnapshotStore', {
  create: async () => openFileStore(await makeTempDir('snapshots')),
  reopen: async (store) => {
    await store.close();
    return openFileStore(directories.get(store)!);
  },
  propertyRuns: 60,
});

// ---------------------------------------------------------------- file store only

describe('FileSnapshotStore', () => {
  const stores: SnapshotStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  async function openStore(directory: string): Promise<FileSnapshotStore> {
    const store = await openFileStore(directory);
    stores.push(store);
    return store;
  }
  /** A directory holding committed snapshots at the given indexes (term 1, content seeded by index). */
  async function directoryWith(indexes: readonly number[], contentBytes = 5000): Promise<string> {
    const directory = await makeTempDir('snapshots');
    const store = await FileSnapshotStore.open(directory);
    for (const index of indexes) await putSnapshot(store, meta(index), content(contentBytes, index));
    await store.close();
    return directory;
  }
  async function flipByte(path: string, position: number): Promise<void> {
    const handle = await open(path, 'r+');
    const byte = new Uint8Array(1);
    await handle.read(byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x40;
    await handle.write(byte, 0, 1, position);
    await handle.close();
  }

  it('creates its directory and names each file snapshot-<index hex>-<term hex>.snap', async () => {
    const directory = join(await makeTempDir('snapshots'), 'nested', 'dir');
    const store = await openStore(directory);
    await putSnapshot(store, meta(26, 3), content(10));
    expect(await readdir(directory)).toEqual(['snapshot-000000000000001a-0000000000000003.snap']);
  });

  it('commit fsyncs the temporary file, renames it, then fsyncs the directory, in that order', async () => {
    // Arrange
    const directory = await makeTempDir('snapshots');
    const store = await openStore(directory);
    const writer = await store.create(meta(3));
    await writer.write(content(10));
    const openSpy = vi.mocked(fs.open);
    const renameSpy = vi.mocked(fs.rename);
    openSpy.mockClear();
    renameSpy.mockClear();
    const probe = await open(directory, 'r');
    const syncSpy = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
    try {
      // Act
      await writer.commit();
      // Assert: label every sync with the path its handle was opened on.
      const pathOf = (handle: unknown): string => {
        const at = openSpy.mock.settledResults.findIndex((result) => result.value === handle);
        return at === -1 ? 'the temporary file' : basename(String(openSpy.mock.calls[at]![0]));
      };
      const steps = [
        ...syncSpy.mock.contexts.map((handle, i) => ({ order: syncSpy.mock.invocationCallOrder[i]!, step: `sync ${pathOf(handle)}` })),
        ...renameSpy.mock.calls.map((call, i) => ({ order: renameSpy.mock.invocationCallOrder[i]!, step: `rename ${basename(String(call[0]))}` })),
      ].sort((a, b) => a.order - b.order);
      const name = snapshotFileName(meta(3));
      expect(steps.map((entry) => entry.step)).toEqual(['sync the temporary file', `rename ${name}.tmp`, `sync ${basename(directory)}`]);
    } finally {
      syncSpy.mockRestore();
    }
  });

  it('a commit that fails leaves nothing behind and reports a StorageIOError with the cause', async () => {
    const directory = await directoryWith([2]);
    const store = await openStore(directory);
    const writer = await store.create(meta(3));
    await writer.write(content(10));
    const failure = Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
    vi.mocked(fs.rename).mockRejectedValueOnce(failure);
    const error = await writer.commit().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageIOError);
    expect((error as StorageIOError).cause).toBe(failure);
    expect(store.latest()).toEqual(meta(2));
    expect(await readdir(directory)).toEqual([snapshotFileName(meta(2))]);
    // The index is free again.
    await putSnapshot(store, meta(3), content(10));
    expect(store.latest()).toEqual(meta(3));
  });

  it('reopens with the latest snapshot and the one before it', async () => {
    const directory = await directoryWith([3, 9]);
    const store = await openStore(directory);
    expect(store.latest()).toEqual(meta(9));
    expect((await readSnapshot(store, 3)).bytes).toEqual(content(5000, 3));
  });

  it('a crash before commit leaves no visible snapshot: leftover .tmp files are removed at open', async () => {
    // Arrange: one write still in progress (its process "crashed"), and one
    // complete file that crashed between fsync and rename.
    const directory = await directoryWith([5]);
    const crashed = await FileSnapshotStore.open(directory);
    const unfinished = await crashed.create(meta(8));
    await unfinished.write(content(100));
    await copyFile(join(directory, snapshotFileName(meta(5))), join(directory, `${snapshotFileName(meta(9))}.tmp`));
    await writeFile(join(directory, 'notes.tmp'), 'not ours');
    // Act
    const store = await openStore(directory);
    // Assert
    expect(store.latest()).toEqual(meta(5));
    expect(() => store.read(8)).toThrow(InvalidArgumentError);
    expect(() => store.read(9)).toThrow(InvalidArgumentError);
    expect((await readdir(directory)).sort()).toEqual(['notes.tmp', snapshotFileName(meta(5))]);
    await crashed.close();
  });

  it('a flipped content byte passes open but read() throws CorruptionError naming the file at the end', async () => {
    const directory = await directoryWith([4]);
    const path = join(directory, snapshotFileName(meta(4)));
    await flipByte(path, 2000);
    const store = await openStore(directory);
    expect(store.latest()).toEqual(meta(4));
    const chunks: Uint8Array[] = [];
    const error = await (async () => {
      for await (const chunk of store.read(4, 1024)) chunks.push(chunk);
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).key).toBe(path);
    expect((error as CorruptionError).message).toMatch(/checksum mismatch/);
    // Every chunk came out before the error: the stream's end is the verdict.
    expect(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)).toBe(5000);
  });

  it.each([
    ['truncated', async (path: string) => truncate(path, 3000)],
    ['given a flipped header byte', async (path: string) => flipByte(path, 20)],
    ['renamed to another index', async (path: string) => rename(path, path.replace(snapshotFileName(meta(9)), snapshotFileName(meta(12))))],
    ['emptied', async (path: string) => writeFile(path, new Uint8Array(0))],
  ])('a file %s is skipped by latest() and read() of it throws CorruptionError naming it', async (_, damage) => {
    const directory = await directoryWith([3, 9]);
    await damage(join(directory, snapshotFileName(meta(9))));
    const store = await openStore(directory);
    expect(store.latest()).toEqual(meta(3));
    const damagedIndex = (await readdir(directory)).includes(snapshotFileName(meta(12))) ? 12 : 9;
    let error: unknown;
    try {
      store.read(damagedIndex);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).key).toContain(snapshotFileName({ index: damagedIndex, term: 1 }));
  });

  it('the next commit removes damaged files along with snapshots past the newest two', async () => {
    const directory = await directoryWith([3, 9]);
    await truncate(join(directory, snapshotFileName(meta(9))), 100);
    const store = await openStore(directory);
    await putSnapshot(store, meta(5), content(10));
    expect((await readdir(directory)).sort()).toEqual([snapshotFileName(meta(3)), snapshotFileName(meta(5))]);
    expect(store.latest()).toEqual(meta(5));
  });

  it('streams a 20 MiB snapshot in chunks no larger than requested', async () => {
    // Arrange: written one MiB at a time, so the test never holds it whole either.
    const mebibyte = 1024 * 1024;
    const store = await openStore(await makeTempDir('snapshots'));
    const writer = await store.create(meta(100));
    let writtenChecksum = 0;
    for (let i = 0; i < 20; i++) {
      const chunk = content(mebibyte, i);
      writtenChecksum = crc32(chunk, writtenChecksum);
      await writer.write(chunk);
    }
    await writer.commit();
    // Act
    let readChecksum = 0;
    const chunkSizes: number[] = [];
    for await (const chunk of store.read(100)) {
      chunkSizes.push(chunk.byteLength);
      readChecksum = crc32(chunk, readChecksum);
    }
    // Assert
    expect(chunkSizes).toEqual(expectedChunkSizes(20 * mebibyte, DEFAULT_READ_CHUNK_BYTES));
    expect(readChecksum).toBe(writtenChecksum);
  });

  it('an I/O failure is a StorageIOError with the cause', async () => {
    const file = join(await makeTempDir('snapshots'), 'not-a-directory');
    await writeFile(file, 'x');
    const error = await FileSnapshotStore.open(join(file, 'snapshots')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageIOError);
    expect((error as StorageIOError).code).toBe('KEEL_STORAGE_IO');
    expect((error as StorageIOError).cause).toMatchObject({ code: 'ENOTDIR' });
  });
});
