/**
 * The thin layer over the `level` package that the rest of the LevelDB
 * storage uses: opening with Keel's settings, point reads and bounded range
 * reads, each mapping Level's errors to Keel's.
 *
 * @packageDocumentation
 */
import { Level } from 'level';
import { keyName } from './level-keys.js';
import { openError, readError } from './level-errors.js';

/** A LevelDB handle with raw binary keys and values: Keel encodes both itself. */
export type LevelDb = Level<Buffer, Buffer>;

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
export async function openDatabase(location: string): Promise<LevelDb> {
  const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true });
  try {
    await db.open();
  } catch (error) {
    throw openError(error, location);
  }
  return db;
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
