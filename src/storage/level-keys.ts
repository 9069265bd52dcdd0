/**
 * The key layout of {@link LevelStorage} inside one LevelDB database.
 *
 * Every key starts with a one-byte ASCII prefix so that each kind of record
 * occupies its own contiguous key range and a dump of the database stays
 * readable. Index-bearing keys append the index as a fixed-width 8-byte
 * big-endian integer: LevelDB compares keys bytewise, so fixed width and
 * big-endian order make byte order equal numeric order, and a range scan over
 * `e…` visits entries in index order.
 *
 * | key                     | value                                   |
 * | ----------------------- | --------------------------------------- |
 * | `m`                     | storage meta: format version, node, cluster |
 * | `h` + version (8 bytes) | hard state (term, vote, commit); the two newest versions |
 * | `s` + version (8 bytes) | snapshot meta (index, term, voters) or none; the two newest versions |
 * | `r` + start (8 bytes)   | term run: entries from `start` have `term` |
 * | `e` + index (8 bytes)   | a block of log entries, from `index` on |
 * | `c` + index (8 bytes)   | a copy of the configuration entry at `index` |
 *
 * The hard state and the snapshot meta are rewritten often, so they are not
 * overwritten in place: each write adds the next version and deletes the one
 * before the previous (see versioned-record.ts for why).
 *
 * The `c` keys are a small index of the log's configuration entries, written
 * in the same batch as the entries themselves: a restarted node needs every
 * configuration entry of its log, and open reads them with one short range
 * scan instead of the whole log (docs/storage.md, "Ready at open").
 *
 * @packageDocumentation
 */
import type { Index } from '../core/types.js';
import { assert } from '../util/assert.js';

/** Prefix byte of the storage meta key. */
const PREFIX_META = 0x6d; // 'm'
/** Prefix byte of the hard state key. */
const PREFIX_HARD_STATE = 0x68; // 'h'
/** Prefix byte of the snapshot meta key. */
const PREFIX_SNAPSHOT = 0x73; // 's'
/** Prefix byte of term-run keys. */
const PREFIX_TERM_RUN = 0x72; // 'r'
/** Prefix byte of entry keys. */
const PREFIX_ENTRY = 0x65; // 'e'
/** Prefix byte of configuration-entry keys. */
const PREFIX_CONFIG = 0x63; // 'c'

/** Length of an index-bearing key: prefix byte plus an 8-byte big-endian index. */
export const INDEX_KEY_BYTES = 9;

/** 2^32, to split a safe integer into two 32-bit halves. */
const UINT32_RANGE = 0x1_0000_0000;

/** Key of the storage meta record. */
export const META_KEY: Buffer = Buffer.from([PREFIX_META]);
/** Prefix byte of hard state versions, for {@link versionKey}. */
export const HARD_STATE_PREFIX = PREFIX_HARD_STATE;
/** Prefix byte of snapshot meta versions, for {@link versionKey}. */
export const SNAPSHOT_PREFIX = PREFIX_SNAPSHOT;

/** Lower bound (inclusive) of the whole entry key range. */
export const ENTRY_RANGE_START: Buffer = Buffer.from([PREFIX_ENTRY]);
/** Upper bound (exclusive) of the whole entry key range: the next prefix byte. */
export const ENTRY_RANGE_END: Buffer = Buffer.from([PREFIX_ENTRY + 1]);
/** Lower bound (inclusive) of the whole term-run key range. */
export const TERM_RUN_RANGE_START: Buffer = Buffer.from([PREFIX_TERM_RUN]);
/** Upper bound (exclusive) of the whole term-run key range. */
export const TERM_RUN_RANGE_END: Buffer = Buffer.from([PREFIX_TERM_RUN + 1]);

/** Lower bound (inclusive) of the whole configuration-entry key range. */
export const CONFIG_RANGE_START: Buffer = Buffer.from([PREFIX_CONFIG]);
/** Upper bound (exclusive) of the whole configuration-entry key range. */
export const CONFIG_RANGE_END: Buffer = Buffer.from([PREFIX_CONFIG + 1]);

/** The key of the copy of the configuration entry at `index`. */
export function configKey(index: Index): Buffer {
  return indexKey(PREFIX_CONFIG, index);
}

/** The key of the entry at `index`. */
export function entryKey(index: Index): Buffer {
  return indexKey(PREFIX_ENTRY, index);
}

/** The key of the term run that starts at `start`. */
export function termRunKey(start: Index): Buffer {
  return indexKey(PREFIX_TERM_RUN, start);
}

/** The key of version `version` of the versioned record with prefix byte `prefix`. */
export function versionKey(prefix: number, version: number): Buffer {
  return indexKey(prefix, version);
}

/** Lower (inclusive) and upper (exclusive) bounds of every key with prefix byte `prefix`. */
export function prefixRange(prefix: number): { readonly gte: Buffer; readonly lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

/** True when `key` is an index-bearing key with prefix byte `prefix`. */
export function hasIndexKeyShape(key: Uint8Array, prefix: number): boolean {
  return key.byteLength === INDEX_KEY_BYTES && key[0] === prefix;
}

/** True when `key` is an entry key (right prefix and length). */
export function isEntryKey(key: Uint8Array): boolean {
  return hasIndexKeyShape(key, PREFIX_ENTRY);
}

/** True when `key` is a term-run key (right prefix and length). */
export function isTermRunKey(key: Uint8Array): boolean {
  return hasIndexKeyShape(key, PREFIX_TERM_RUN);
}

/** True when `key` is a configuration-entry key (right prefix and length). */
export function isConfigKey(key: Uint8Array): boolean {
  return hasIndexKeyShape(key, PREFIX_CONFIG);
}

/** The index encoded in an entry, term-run or configuration-entry key. The caller has checked the key's shape. */
export function keyIndex(key: Uint8Array): Index {
  assert(key.byteLength === INDEX_KEY_BYTES, () => `keyIndex: key is ${key.byteLength} bytes, expected ${INDEX_KEY_BYTES}`);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return view.getUint32(1) * UINT32_RANGE + view.getUint32(5);
}

/**
 * A readable name for a key, used in `CorruptionError.key` and messages:
 * `meta`, `hardState:3`, `snapshot:1`, `termRun:17`, `config:9`, `entry:42`, or the hex bytes
 * of a key that fits no known shape.
 */
export function keyName(key: Uint8Array): string {
  if (key.byteLength === 1 && key[0] === PREFIX_META) return 'meta';
  if (isEntryKey(key)) return `entry:${keyIndex(key)}`;
  if (isTermRunKey(key)) return `termRun:${keyIndex(key)}`;
  if (isConfigKey(key)) return `config:${keyIndex(key)}`;
  if (hasIndexKeyShape(key, PREFIX_HARD_STATE)) return `hardState:${keyIndex(key)}`;
  if (hasIndexKeyShape(key, PREFIX_SNAPSHOT)) return `snapshot:${keyIndex(key)}`;
  return `key:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`;
}

function indexKey(prefix: number, index: Index): Buffer {
  const key = Buffer.allocUnsafe(INDEX_KEY_BYTES);
  writeIndexKey(key, prefix, index);
  return key;
}

/** Rewrites `key` (an {@link INDEX_KEY_BYTES}-byte buffer) in place as the key of the entry at `index`. */
export function rewriteEntryKey(key: Buffer, index: Index): Buffer {
  writeIndexKey(key, PREFIX_ENTRY, index);
  return key;
}

function writeIndexKey(key: Buffer, prefix: number, index: Index): void {
  if (!Number.isSafeInteger(index) || index < 0) {
    assert(false, `key index must be a non-negative safe integer, got ${index}`);
  }
  // Byte by byte: this runs for every entry written, and Buffer#writeUInt32BE's
  // argument validation costs more than the write itself.
  const high = Math.floor(index / UINT32_RANGE);
  const low = index % UINT32_RANGE;
  key[0] = prefix;
  key[1] = high >>> 24;
  key[2] = (high >>> 16) & 0xff;
  key[3] = (high >>> 8) & 0xff;
  key[4] = high & 0xff;
  key[5] = low >>> 24;
  key[6] = (low >>> 16) & 0xff;
  key[7] = (low >>> 8) & 0xff;
  key[8] = low & 0xff;
}
