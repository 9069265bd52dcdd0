/**
 * Typed records of {@link LevelStorage}: how each kind of value is laid out in
 * its msgpack body, and the shape checks that turn a record that passed its
 * checksum but does not fit the schema into a {@link CorruptionError}.
 *
 * Entries are stored in blocks (`[[term, type, data], …]`; the key holds the
 * first entry's index), and term runs (`[start, term]`) are positional arrays: they are written by the thousand,
 * and a map would repeat field names in every one. The single records (meta,
 * hard state, snapshot) are maps so that a dump reads plainly.
 *
 * @packageDocumentation
 */
import { plainMembership } from '../confchange/encoding.js';
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from '../core/types.js';
import { encodeEntryRecord, readCanonicalEntryBody } from '../codec/entry-body.js';
import type { EntryBodyFields } from '../codec/entry-body.js';
import { blockEntryBytes, blockHeaderBytes, readCanonicalEntryBlock, writeEntryBlock } from '../codec/entry-block.js';
import { decodeRecord, encodeRecord, openRecord, RECORD_HEADER_BYTES, unpackBody } from '../codec/record.js';
import { CorruptionError } from '../errors.js';
import type { BatchSink } from './group-commit.js';
import { configKey, entryKey, INDEX_KEY_BYTES, keyName, META_KEY, rewriteEntryKey, termRunKey } from './level-keys.js';

/**
 * The storage layout version recorded in the meta record. Bumped on any
 * incompatible change of the key layout. Version 2 stores entries in blocks;
 * version 1 stored one record per entry, which version 2 reads as blocks of
 * one entry, so a version 1 database is upgraded at open by rewriting the
 * meta record only. Version 3 adds the `c` keys, a copy of every
 * configuration entry of the log (level-keys.ts); a version 1 or 2 database
 * is upgraded at open by scanning its log once for them.
 */
export const STORAGE_FORMAT_VERSION = 3;

/** Format versions this build opens. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2, 3];

/** Entry type codes on disk. */
const ENTRY_TYPE_NORMAL = 0;
const ENTRY_TYPE_CONFIG = 1;

/** Identity of the storage, written once when an empty directory is first opened. */
export interface StorageMeta {
  readonly formatVersion: number;
  readonly nodeId: string;
  /** The cluster the node belongs to, or null when none was given at creation. */
  readonly clusterId: string | null;
}

/** One run of the term table: every entry from `start` up to the next run's start has `term`. */
export interface TermRun {
  readonly start: Index;
  readonly term: Term;
}

/**
 * Encodes the entry as a single-entry record of storage format 1, stored
 * under {@link entryKey}(entry.index). Keel writes blocks now; this stays for
 * tests of reading format-1 databases and of damaged records.
 */
export function encodeEntry(entry: Entry, key: Uint8Array = entryKey(entry.index)): Buffer {
  return encodeEntryRecord(key, entry.term, entryTypeCode(entry), entry.data);
}

/** Encodes the copy of a configuration entry stored under {@link configKey}(entry.index): a single-entry record. */
export function encodeConfigEntry(entry: Entry): Buffer {
  return encodeEntryRecord(configKey(entry.index), entry.term, entryTypeCode(entry), entry.data);
}

/** Decodes and checks the copy of a configuration entry stored under `key`, whose index is `index`. */
export function decodeConfigEntry(key: Uint8Array, value: Uint8Array, index: Index): Entry {
  const label = keyName(key);
  const fields = readCanonicalEntryBody(openRecord(key, value, label));
  if (fields === undefined) throw new CorruptionError(label, 'configuration entry record is not a canonical entry');
  const entry = checkEntry(fields, index, label);
  if (entry.type !== 'config') throw new CorruptionError(label, `entry ${index} is indexed as a configuration entry but has type ${entry.type}`);
  return entry;
}

function entryTypeCode(entry: Entry): number {
  return entry.type === 'config' ? ENTRY_TYPE_CONFIG : ENTRY_TYPE_NORMAL;
}

/**
 * Bodies of at most this many bytes go in one block; a longer batch is split,
 * and a single entry larger than this gets a block of its own. Large enough
 * that a batch of a few hundred small entries is one LevelDB value, small
 * enough that reading one entry below the tail decodes little besides it.
 */
export const BLOCK_TARGET_BYTES = 64 * 1024;

/**
 * Encodes entries for a {@link BatchSink} as entry blocks (see
 * codec/entry-block.ts): each append becomes as few LevelDB values as
 * {@link BLOCK_TARGET_BYTES} allows, keyed by the first index of each. LevelDB
 * costs a memtable insert and a native call per key whatever its size, so
 * one value per block rather than per entry is what lets LevelStorage write
 * as fast as raw per-entry batches of the same payloads or faster.
 *
 * The key buffer is reused from block to block: a sink copies what it is
 * given before returning (LevelDB's chained batch copies each key and value
 * into native memory inside `put`).
 */
export class EntryEncoder {
  private readonly key = Buffer.allocUnsafe(INDEX_KEY_BYTES);
  private readonly sizes: number[] = [];

  /** Puts `entries` (consecutive indexes) into `sink` as one or more blocks, in order. */
  putAll(entries: readonly Entry[], sink: BatchSink): void {
    const sizes = this.sizes;
    sizes.length = 0;
    for (const entry of entries) sizes.push(blockEntryBytes(entry.term, entryTypeCode(entry), entry.data.byteLength));
    let from = 0;
    while (from < entries.length) {
      let to = from + 1;
      let bodyBytes = sizes[from]!;
      while (to < entries.length && bodyBytes + sizes[to]! <= BLOCK_TARGET_BYTES) bodyBytes += sizes[to++]!;
      const key = rewriteEntryKey(this.key, entries[from]!.index);
      const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + blockHeaderBytes(to - from) + bodyBytes);
      sink.put(key, writeEntryBlock(record, key, entries, from, to, entryTypeCode));
      from = to;
    }
  }

  /**
   * Puts an empty block at `index`: it ends the log at `index - 1`, hiding the
   * entries an older block starting below `index` holds from `index` on.
   */
  putEnd(index: Index, sink: BatchSink): void {
    const key = rewriteEntryKey(this.key, index);
    sink.put(key, writeEntryBlock(Buffer.allocUnsafe(RECORD_HEADER_BYTES + blockHeaderBytes(0)), key, [], 0, 0, entryTypeCode));
  }
}

/**
 * Decodes and checks the value stored under the entry key `key`, whose index
 * is `first`: the entries `first, first + 1, …` it holds. Reads both the
 * blocks of storage format 2 and the single-entry records of format 1 (a
 * database written by format 1 reads as blocks of one entry).
 */
export function decodeEntryBlock(key: Uint8Array, value: Uint8Array, first: Index): Entry[] {
  const label = `entry:${first}`;
  const body = openRecord(key, value, label);
  const fields = readCanonicalEntryBlock(body) ?? singleEntry(readCanonicalEntryBody(body)) ?? generalFields(unpackBody(body, label), label);
  return fields.map((entryFields, i) => checkEntry(entryFields as unknown, first + i, label));
}

function singleEntry(fields: EntryBodyFields | undefined): EntryBodyFields[] | undefined {
  return fields === undefined ? undefined : [fields];
}

/** A body in msgpack that is not in canonical form: a block (array of entries) or one format-1 entry. */
function generalFields(body: unknown, label: string): readonly unknown[] {
  if (!Array.isArray(body)) throw new CorruptionError(label, 'entry record is not an array');
  const isSingleEntry = body.length === 3 && !Array.isArray(body[0]);
  return isSingleEntry ? [body] : body;
}

function checkEntry(fields: unknown, index: Index, label: string): Entry {
  if (!Array.isArray(fields) || fields.length !== 3) throw new CorruptionError(label, `entry ${index} is not a 3-element array`);
  const [term, type, data] = fields as readonly unknown[];
  if (!isPositiveInteger(term)) throw new CorruptionError(label, `entry ${index} has invalid term ${String(term)}`);
  if (type !== ENTRY_TYPE_NORMAL && type !== ENTRY_TYPE_CONFIG) throw new CorruptionError(label, `entry ${index} has unknown type ${String(type)}`);
  if (!(data instanceof Uint8Array)) throw new CorruptionError(label, `entry ${index} data is not binary`);
  // Expose a plain Uint8Array (msgpackr hands back Buffers), so that read
  // entries look exactly like the ones callers append.
  const entryType = type === ENTRY_TYPE_CONFIG ? 'config' : 'normal';
  const plain = data.constructor === Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { index, term, type: entryType, data: plain };
}

/** Encodes a hard state version stored under `key`. */
export function encodeHardState(key: Uint8Array, state: HardState): Buffer {
  return encodeRecord(key, { term: state.term, vote: state.vote, commit: state.commit });
}

/** Decodes and checks a hard state version stored under `key`. */
export function decodeHardState(key: Uint8Array, value: Uint8Array): HardState {
  const label = keyName(key);
  const { term, vote, commit } = decodeObject(key, value, label);
  if (!isNonNegativeInteger(term)) throw new CorruptionError(label, `invalid term ${String(term)}`);
  if (!isNonNegativeInteger(commit)) throw new CorruptionError(label, `invalid commit ${String(commit)}`);
  if (vote !== null && (typeof vote !== 'string' || vote.length === 0)) {
    throw new CorruptionError(label, `invalid vote ${String(vote)}`);
  }
  return { term, vote, commit };
}

/** Encodes a snapshot meta version stored under `key`; null records "no snapshot yet". */
export function encodeSnapshotMeta(key: Uint8Array, meta: SnapshotMeta | null): Buffer {
  if (meta === null) return encodeRecord(key, { none: true });
  // Learners and the outgoing half are written only when present, so a plain configuration keeps the original record shape.
  const { voters, learners, outgoingVoters, autoLeave } = plainMembership(meta.membership);
  return encodeRecord(key, { index: meta.index, term: meta.term, voters, ...(learners ? { learners } : {}), ...(outgoingVoters ? { outgoingVoters, autoLeave } : {}) });
}

/** Decodes and checks a snapshot meta version stored under `key`; null for "no snapshot yet". */
export function decodeSnapshotMeta(key: Uint8Array, value: Uint8Array): SnapshotMeta | null {
  const label = keyName(key);
  const body = decodeObject(key, value, label);
  if (body['none'] === true && Object.keys(body).length === 1) return null;
  const { index, term, voters, learners, outgoingVoters, autoLeave } = body;
  if (!isNonNegativeInteger(index)) throw new CorruptionError(label, `invalid index ${String(index)}`);
  if (!isNonNegativeInteger(term)) throw new CorruptionError(label, `invalid term ${String(term)}`);
  for (const [name, list] of [['voters', voters], ['learners', learners ?? []], ['outgoingVoters', outgoingVoters ?? []]] as const) {
    if (!Array.isArray(list) || !list.every((voter) => typeof voter === 'string')) throw new CorruptionError(label, `${name} is not a list of node ids`);
  }
  if (autoLeave !== undefined && typeof autoLeave !== 'boolean') throw new CorruptionError(label, 'autoLeave is not a boolean');
  const membership = plainMembership({ voters, learners, outgoingVoters, autoLeave } as Membership);
  return { index, term, membership };
}

/** Encodes the storage meta record. */
export function encodeStorageMeta(meta: StorageMeta): Buffer {
  return encodeRecord(META_KEY, { formatVersion: meta.formatVersion, nodeId: meta.nodeId, clusterId: meta.clusterId });
}

/**
 * Decodes the storage meta record. Checks its shape only; whether the version,
 * node and cluster are the expected ones is the caller's decision.
 */
export function decodeStorageMeta(value: Uint8Array): StorageMeta {
  const label = keyName(META_KEY);
  const { formatVersion, nodeId, clusterId } = decodeObject(META_KEY, value, label);
  if (!isNonNegativeInteger(formatVersion)) throw new CorruptionError(label, `invalid format version ${String(formatVersion)}`);
  if (typeof nodeId !== 'string' || nodeId.length === 0) throw new CorruptionError(label, `invalid node id ${String(nodeId)}`);
  if (clusterId !== null && typeof clusterId !== 'string') throw new CorruptionError(label, `invalid cluster id ${String(clusterId)}`);
  return { formatVersion, nodeId, clusterId };
}

/** Encodes the term run stored under {@link termRunKey}(run.start). */
export function encodeTermRun(run: TermRun): Buffer {
  return encodeRecord(termRunKey(run.start), [run.start, run.term]);
}

/** Decodes and checks the term run stored under `key`, which starts at `start`. */
export function decodeTermRun(key: Uint8Array, value: Uint8Array, start: Index): TermRun {
  const label = `termRun:${start}`;
  const body = decodeRecord(key, value, label);
  if (!Array.isArray(body) || body.length !== 2) throw new CorruptionError(label, 'term run record is not a 2-element array');
  const [storedStart, term] = body as unknown[];
  if (storedStart !== start) throw new CorruptionError(label, `term run record holds start ${String(storedStart)}`);
  if (!isPositiveInteger(term)) throw new CorruptionError(label, `term run has invalid term ${String(term)}`);
  return { start, term };
}

function decodeObject(key: Uint8Array, value: Uint8Array, label: string): Record<string, unknown> {
  const body = decodeRecord(key, value, label);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CorruptionError(label, 'record body is not a map');
  }
  return body as Record<string, unknown>;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPositiveInteger(value: unknown): value is number {
  return isNonNegativeInteger(value) && value >= 1;
}
