/**
 * Typed records of {@link LevelStorage}: how each kind of value is laid out in
 * its msgpack body, and the shape checks that turn a record that passed its
 * checksum but does not fit the schema into a {@link CorruptionError}.
 *
 * Entries (`[term, type, data]`; the key holds the index) and term runs
 * (`[start, term]`) are positional arrays: they are written by the thousand,
 * and a map would repeat field names in every one. The single records (meta,
 * hard state, snapshot) are maps so that a dump reads plainly.
 *
 * @packageDocumentation
 */
import { plainMembership } from '../confchange/encoding.js';
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from '../core/types.js';
import { encodeEntryRecord, entryRecordBytes, readCanonicalEntryBody, writeEntryRecord } from '../codec/entry-body.js';
import { decodeRecord, encodeRecord, openRecord, unpackBody } from '../codec/record.js';
import { CorruptionError } from '../errors.js';
import type { BatchSink } from './group-commit.js';
import { entryKey, INDEX_KEY_BYTES, keyName, META_KEY, rewriteEntryKey, termRunKey } from './level-keys.js';

/** The storage layout version recorded in the meta record. Bumped on any incompatible change of the key layout. */
export const STORAGE_FORMAT_VERSION = 1;

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
 * Encodes the entry as the value stored under `key`, which must be
 * {@link entryKey}(entry.index); the writer passes the key it already built.
 */
export function encodeEntry(entry: Entry, key: Uint8Array = entryKey(entry.index)): Buffer {
  return encodeEntryRecord(key, entry.term, entryTypeCode(entry), entry.data);
}

function entryTypeCode(entry: Entry): number {
  return entry.type === 'config' ? ENTRY_TYPE_CONFIG : ENTRY_TYPE_NORMAL;
}

/** Record sizes up to this many bytes get a reusable buffer in {@link EntryEncoder}. */
const REUSED_RECORD_MAX_BYTES = 16 * 1024;
/** At most this many distinct record sizes are kept; then the set starts over. */
const REUSED_RECORD_SIZES = 32;

/**
 * Encodes entries for a {@link BatchSink} into buffers it reuses from one
 * entry to the next: one key buffer, and one record buffer per record size.
 * A sink copies what it is given before returning (LevelDB's chained batch
 * copies each key and value into native memory inside `put`), so the buffers
 * are free again at once. This saves two allocations per stored entry, which
 * with the garbage they leave measured about a third of LevelStorage's own
 * CPU per appended entry.
 */
export class EntryEncoder {
  private readonly key = Buffer.allocUnsafe(INDEX_KEY_BYTES);
  private readonly records = new Map<number, Buffer>();

  /** Puts every entry's key and record into `sink`, in order. */
  putAll(entries: readonly Entry[], sink: BatchSink): void {
    for (const entry of entries) {
      const key = rewriteEntryKey(this.key, entry.index);
      const typeCode = entryTypeCode(entry);
      sink.put(key, writeEntryRecord(this.recordBuffer(entryRecordBytes(entry.term, typeCode, entry.data.byteLength)), key, entry.term, typeCode, entry.data));
    }
  }

  private recordBuffer(size: number): Buffer {
    if (size > REUSED_RECORD_MAX_BYTES) return Buffer.allocUnsafe(size);
    let record = this.records.get(size);
    if (record === undefined) {
      if (this.records.size >= REUSED_RECORD_SIZES) this.records.clear();
      record = Buffer.allocUnsafe(size);
      this.records.set(size, record);
    }
    return record;
  }
}

/** Decodes and checks the entry stored under `key`, which holds `index`. */
export function decodeEntry(key: Uint8Array, value: Uint8Array, index: Index): Entry {
  const label = `entry:${index}`;
  const body = openRecord(key, value, label);
  const fields = readCanonicalEntryBody(body) ?? unpackBody(body, label);
  if (!Array.isArray(fields) || fields.length !== 3) throw new CorruptionError(label, 'entry record is not a 3-element array');
  const [term, type, data] = fields as readonly unknown[];
  if (!isPositiveInteger(term)) throw new CorruptionError(label, `entry record has invalid term ${String(term)}`);
  if (type !== ENTRY_TYPE_NORMAL && type !== ENTRY_TYPE_CONFIG) throw new CorruptionError(label, `entry record has unknown type ${String(type)}`);
  if (!(data instanceof Uint8Array)) throw new CorruptionError(label, 'entry record data is not binary');
  // Expose a plain Uint8Array (msgpackr hands back Buffers), so that read
  // entries look exactly like the ones callers append.
  const entryType = type === ENTRY_TYPE_CONFIG ? 'config' : 'normal';
  return { index, term, type: entryType, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
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
