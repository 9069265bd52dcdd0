/**
 * Small builders for storage tests: entries whose bytes are derived from their
 * index and term, so that any entry read back can be checked exactly.
 */
import type { Entry, Index, Term } from '../../src/core/types.js';
import type { LogReader } from '../../src/core/log-reader.js';

/** The payload of entry (`index`, `term`): `sizeBytes` bytes derived from both, so a stale entry of another term differs. */
export function payload(index: Index, term: Term, sizeBytes = 8): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) data[i] = (index * 31 + term * 17 + i * 7) & 0xff;
  return data;
}

/** One entry with a derived payload. */
export function entry(index: Index, term: Term, sizeBytes = 8): Entry {
  return { index, term, type: 'normal', data: payload(index, term, sizeBytes) };
}

/**
 * Contiguous entries from `first`, one per term in `terms`:
 * `log(1, [1, 1, 2])` is entries 1 and 2 in term 1 and entry 3 in term 2.
 */
export function log(first: Index, terms: readonly Term[], sizeBytes = 8): Entry[] {
  return terms.map((term, i) => entry(first + i, term, sizeBytes));
}

/** A plain, comparable view of entries (typed-array class differences vanish). */
export function plain(entries: readonly Entry[] | undefined): { index: Index; term: Term; data: number[] }[] | undefined {
  return entries?.map((e) => ({ index: e.index, term: e.term, data: Array.from(e.data) }));
}

/**
 * Reads `[low, high)` through `entries()`, waiting with `settle` when the
 * storage is loading the range (it returns undefined). A storage that answers
 * everything from memory never needs `settle`.
 */
export async function readEntries(
  storage: LogReader,
  low: Index,
  high: Index,
  maxBytes: number,
  settle?: () => Promise<void>,
): Promise<readonly Entry[]> {
  // Each retry either makes progress (the load lands in the cache) or throws the load's error;
  // a handful of attempts covers a load refused because others were in flight.
  for (let attempt = 0; attempt < 8; attempt++) {
    const result = storage.entries(low, high, maxBytes);
    if (result !== undefined) return result;
    if (settle === undefined) throw new Error(`entries(${low}, ${high}) returned undefined and there is no settle hook`);
    await settle();
  }
  throw new Error(`entries(${low}, ${high}, ${maxBytes}) still not resident after 8 loads`);
}

/** Reads the whole log `firstIndex() .. lastIndex()` in chunks of at most `chunkBytes`. */
export async function readAll(storage: LogReader, settle?: () => Promise<void>, chunkBytes = 1 << 20): Promise<Entry[]> {
  const all: Entry[] = [];
  let low = storage.firstIndex();
  const high = storage.lastIndex() + 1;
  while (low < high) {
    const chunk = await readEntries(storage, low, high, chunkBytes, settle);
    all.push(...chunk);
    low += chunk.length;
  }
  return all;
}
