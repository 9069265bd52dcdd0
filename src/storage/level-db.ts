/**
 * The thin layer over the `level` package that the rest of the LevelDB
 * storage uses: opening with Keel's settings, synced batches, point reads and
 * bounded range reads, each mapping Level's errors to Keel's.
 *
 * @packageDocumentation
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Level } from 'level';
import type { AbstractLevel } from 'abstract-level';
import { CorruptionError, StorageIOError } from '../errors.js';
import type { PendingBatch } from './group-commit.js';
import { keyName } from './level-keys.js';
import { openError, readError } from './level-errors.js';

/**
 * A LevelDB handle with raw binary keys and values: Keel encodes both itself.
 * Either a whole database (one node's `LevelStorage`) or a sublevel of one
 * (one Raft group's keys in a host's shared database, level-engine.ts): the
 * storage reads and writes both the same way.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the format type differs between a database and its sublevels
export type LevelDb = AbstractLevel<any, Buffer, Buffer>;

/** Entries fetched per native call when iterating; large enough to amortise the call, small enough to bound memory. */
const ITERATOR_CHUNK = 1024;

/** A key range for {@link scanRange}: `gte <= key < lt` (a missing bound is open), in key order or reversed. */
export interface ScanRange {
  readonly gte?: Buffer;
  readonly lt?: Buffer;
  readonly reverse?: boolean;
  /** Stop after this many records. */
  readonly limit?: number;
}

/**
 * Opens (creating if missing) the LevelDB database at `location`. Fails with
 * `StorageLockedError` when another handle holds it, in this process or another.
 */
export async function openDatabase(location: string): Promise<Level<Buffer, Buffer>> {
  // Loaded on first use, not when 'keel' is imported: a program that keeps its log in memory (or a
  // platform for which classic-level ships no prebuilt binary) never loads LevelDB's native addon.
  const { Level: LevelDatabase } = await loadLevel();
  const db = new LevelDatabase<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true });
  try {
    await db.open();
  } catch (error) {
    const mapped = openError(error, location);
    if (!(mapped instanceof StorageIOError)) throw mapped;
    const damage = await describeDamagedCurrent(location);
    if (damage === null) throw mapped;
    throw new CorruptionError('CURRENT', damage, { cause: error });
  }
  return db;
}

let levelModule: Promise<typeof import('level')> | null = null;

/**
 * The `level` package, imported once, on first use. Rejects with
 * `StorageIOError` when it cannot be loaded (no prebuilt `classic-level`
 * binary for this platform, and none built): the caller asked for LevelDB,
 * and that is an environmental failure, not a bug.
 */
function loadLevel(): Promise<typeof import('level')> {
  levelModule ??= import('level').catch((error: unknown) => {
    levelModule = null;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StorageIOError(`cannot load LevelDB (the level package and its native classic-level addon): ${reason}`, { cause: error });
  });
  return levelModule;
}

/** What `CURRENT` must hold: the name of the live manifest and a newline. */
const CURRENT_CONTENT = /^MANIFEST-[0-9]+\n$/;

/**
 * LevelDB starts from the file `CURRENT`, which names the live MANIFEST. When
 * `CURRENT` is damaged, LevelDB fails with an I/O error about a file that does
 * not exist, and its message can be cut short by a damaged byte (a NUL in the
 * name). So after an I/O failure at open, Keel reads `CURRENT` itself: when it
 * does not name an existing manifest, the failure is corruption. Returns a
 * description of the damage, or null when `CURRENT` is fine or absent (a new
 * database), so that the I/O error stands.
 */
async function describeDamagedCurrent(location: string): Promise<string | null> {
  let current: string;
  try {
    current = await readFile(join(location, 'CURRENT'), 'latin1');
  } catch {
    // No CURRENT to judge (or unreadable): nothing to add to LevelDB's own error.
    return null;
  }
  if (!CURRENT_CONTENT.test(current)) return `CURRENT does not name a manifest: ${JSON.stringify(current)}`;
  const manifest = current.trimEnd();
  try {
    await access(join(location, manifest));
  } catch {
    return `CURRENT names ${manifest}, which does not exist`;
  }
  return null;
}

/**
 * Starts a LevelDB batch to be filled and then written atomically with
 * `sync: true` (durable on disk when `write` resolves).
 *
 * Uses the chained-batch form (`db.batch().put(…).write()`) rather than
 * `db.batch(array)`: in abstract-level 3 the array form clones and re-encodes
 * every operation object and classic-level then reads each one's properties by
 * name, which measured 4 to 5 times the CPU per operation of the chained form
 * (about 8 µs against 2 µs on the benchmark machine). The chained form also
 * copies each key and value into native memory at once, so nothing is kept on
 * the JavaScript heap while the batch waits for its turn.
 *
 * An error while filling (only possible if the database was closed under the
 * batch) is kept and reported by `write`, so that it reaches the writer's
 * promise like any other write failure.
 */
export function openBatch(db: LevelDb): PendingBatch {
  let failure: { readonly error: unknown } | null = null;
  let batch: ReturnType<LevelDb['batch']> | null = null;
  try {
    batch = db.batch();
  } catch (error) {
    failure = { error };
  }
  return {
    put(key, value) {
      if (batch === null || failure !== null) return;
      try {
        batch.put(key, value);
      } catch (error) {
        failure = { error };
      }
    },
    del(key) {
      if (batch === null || failure !== null) return;
      try {
        batch.del(key);
      } catch (error) {
        failure = { error };
      }
    },
    async write() {
      if (failure !== null || batch === null) {
        await batch?.close();
        throw failure?.error;
      }
      await batch.write({ sync: true });
    },
    discard() {
      // Closing an unwritten batch only frees memory; a failure to do so changes nothing on disk.
      batch?.close().catch(() => undefined);
    },
  };
}

/** Reads one value; undefined when the key does not exist. */
export async function getValue(db: LevelDb, key: Buffer): Promise<Buffer | undefined> {
  try {
    return (await db.get(key)) as Buffer | undefined;
  } catch (error) {
    throw readError(error, keyName(key));
  }
}

/** Reads several values in one call; undefined for keys that do not exist. */
export async function getValues(db: LevelDb, keys: Buffer[]): Promise<(Buffer | undefined)[]> {
  try {
    return (await db.getMany(keys)) as (Buffer | undefined)[];
  } catch (error) {
    throw readError(error, `${keys.length} keys from ${keys[0] === undefined ? '-' : keyName(keys[0])}`);
  }
}

/**
 * Visits the records of `range` in order until `visit` returns false or the
 * range ends. Reads in chunks, so memory stays bounded by what `visit` keeps.
 */
export async function scanRange(db: LevelDb, range: ScanRange, visit: (key: Buffer, value: Buffer) => boolean): Promise<void> {
  const iterator = db.iterator({
    ...(range.gte === undefined ? {} : { gte: range.gte }),
    ...(range.lt === undefined ? {} : { lt: range.lt }),
    reverse: range.reverse ?? false,
    limit: range.limit ?? -1,
  });
  try {
    for (;;) {
      const chunk = await iterator.nextv(ITERATOR_CHUNK);
      if (chunk.length === 0) return;
      for (const [key, value] of chunk) {
        if (!visit(key, value)) return;
      }
    }
  } catch (error) {
    throw readError(error, `range ${boundName(range.gte)}..${boundName(range.lt)}`);
  } finally {
    await iterator.close();
  }
}

function boundName(bound: Buffer | undefined): string {
  return bound === undefined ? '(open)' : keyName(bound);
}
