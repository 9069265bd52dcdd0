/**
 * Finding the block that holds an index. Entries are stored in blocks keyed
 * by their first index (see level-records.ts). The block holding index `i` is
 * the one with the greatest key at or below `i`: a later block (a greater key)
 * replaces, from its first index on, whatever an earlier block holds. That is
 * how a truncating append rewrites the log from the conflict without
 * rewriting the block it starts in, and how an empty block ends the log.
 *
 * @packageDocumentation
 */
import { entrySizeBytes } from '../core/types.js';
import type { Entry, Index } from '../core/types.js';
import { scanRange } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { ENTRY_RANGE_START, entryKey, isEntryKey, keyIndex, keyName } from './level-keys.js';
import { CorruptionError } from '../errors.js';
import { decodeEntryBlock } from './level-records.js';

/** A stored block: its first index and its entries (`first`, `first + 1`, …). */
export interface StoredBlock {
  readonly first: Index;
  readonly entries: readonly Entry[];
}

/** The first index of the block with the greatest key at or below `index`, or undefined when there is none. */
export async function blockStartAt(db: LevelDb, index: Index): Promise<Index | undefined> {
  return visitBlockAt(db, index, (key) => blockFirst(key));
}

/** The block holding `index` (the greatest key at or below it), decoded, or undefined when there is none. */
export async function blockAt(db: LevelDb, index: Index): Promise<StoredBlock | undefined> {
  return visitBlockAt(db, index, decodeBlock);
}

/** Reads the record with the greatest entry key at or below `index` (one reverse seek) through `read`. */
async function visitBlockAt<T>(db: LevelDb, index: Index, read: (key: Buffer, value: Buffer) => T): Promise<T | undefined> {
  let result: T | undefined;
  await scanRange(db, { gte: ENTRY_RANGE_START, lt: entryKey(index + 1), reverse: true, limit: 1 }, (key, value) => {
    result = read(key, value);
    return false;
  });
  return result;
}

/** Checks an entry key's shape and decodes the block stored under it. */
export function decodeBlock(key: Buffer, value: Buffer): StoredBlock {
  const first = blockFirst(key);
  return { first, entries: decodeEntryBlock(key, value, first) };
}

function blockFirst(key: Buffer): Index {
  if (!isEntryKey(key)) throw new CorruptionError(keyName(key), 'malformed entry key');
  return keyIndex(key);
}

/** How many of `entries`, from the first, it takes to reach `bytesMax` (all of them when they do not). At least one. */
export function entriesWithin(entries: readonly Entry[], bytesMax: number): number {
  let bytes = 0;
  for (let count = 0; count < entries.length; count++) {
    bytes += entrySizeBytes(entries[count]!);
    if (bytes >= bytesMax) return count + 1;
  }
  return entries.length;
}
