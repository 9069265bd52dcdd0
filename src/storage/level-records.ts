/**
 * Typed records of {@link LevelStorage}: how each kind of value is laid out in
 * its msgpack body, and the shape checks that turn a record that passed its
 * checksum but does not fit the schema into a {@link CorruptionError}.
 *
 * Entries and term runs are positional arrays (they are written by the
 * thousand, and a map would repeat field names in every one); the single
 * records (meta, hard state, snapshot) are maps so that a dump reads plainly.
 *
 * @packageDocumentation
 */
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../core/types.js';
import { decodeRecord, encodeRecord } from '../codec/record.js';
import { CorruptionError } from '../errors.js';
import { entryKey, HARD_STATE_KEY, keyName, META_KEY, SNAPSHOT_KEY, termRunKey } from './level-keys.js';

/** The storage layout version recorded in the meta record. Bumped on any incompatible change of the key layout. */
export const STORAGE_FORMAT_VERSION = 1;

/** Entry type codes on disk; `normal` is the only type today. */
const ENTRY_TYPE_NORMAL = 0;

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

/** Encodes the entry as the value stored under {@link entryKey}(entry.index). */
export function encodeEntry(entry: Entry): Buffer {
  return encodeRecord(entryKey(entry.index), [entry.index, entry.term, ENTRY_TYPE_NORMAL, entry.data]);
}

/** Decodes and checks the entry stored under `key`, which holds `index`. */
export function decodeEntry(key: Uint8Array, value: Uint8Array, index: Index): Entry {
  const label = `entry:${index}`;
  const body = decodeRecord(key, value, label);
  if (!Array.isArray(body) || body.length !== 4) throw new CorruptionError(label, 'entry record is not a 4-element array');
  const [storedIndex, term, type, data] = body as unknown[];
  if (storedIndex !== index) throw new CorruptionError(label, `entry record holds index ${String(storedIndex)}`);
  if (!isPositiveInteger(term)) throw new CorruptionError(label, `entry record has invalid term ${String(term)}`);
  if (type !== ENTRY_TYPE_NORMAL) throw new CorruptionError(label, `entry record has unknown type ${String(type)}`);
  if (!(data instanceof Uint8Array)) throw new CorruptionError(label, 'entry record data is not binary');
  // msgpackr hands back a Buffer view; expose a plain Uint8Array so that read
  // entries look exactly like the ones callers append.
  return { index, term, type: 'normal', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Encodes the hard state record. */
export function encodeHardState(state: HardState): Buffer {
  return encodeRecord(HARD_STATE_KEY, { term: state.term, vote: state.vote, commit: state.commit });
}

/** Decodes and checks the hard state record. */
export function decodeHardState(value: Uint8Array): HardState {
  const label = keyName(HARD_STATE_KEY);
  const body = decodeObject(HARD_STATE_KEY, value, label);
  const { term, vote, commit } = body;
  if (!isNonNegativeInteger(term)) throw new CorruptionError(label, `invalid term ${String(term)}`);
  if (!isNonNegativeInteger(commit)) throw new CorruptionError(label, `invalid commit ${String(commit)}`);
  if (vote !== null && (typeof vote !== 'string' || vote.length === 0)) {
    throw new CorruptionError(label, `invalid vote ${String(vote)}`);
  }
  return { term, vote, commit };
}

/** Encodes the snapshot meta record. */
export function encodeSnapshotMeta(meta: SnapshotMeta): Buffer {
  return encodeRecord(SNAPSHOT_KEY, { index: meta.index, term: meta.term, voters: meta.membership.voters });
}

/** Decodes and checks the snapshot meta record. */
export function decodeSnapshotMeta(value: Uint8Array): SnapshotMeta {
  const label = keyName(SNAPSHOT_KEY);
  const { index, term, voters } = decodeObject(SNAPSHOT_KEY, value, label);
  if (!isNonNegativeInteger(index)) throw new CorruptionError(label, `invalid index ${String(index)}`);
  if (!isNonNegativeInteger(term)) throw new CorruptionError(label, `invalid term ${String(term)}`);
  if (!Array.isArray(voters) || !voters.every((voter) => typeof voter === 'string')) {
    throw new CorruptionError(label, 'voters is not a list of node ids');
  }
  return { index, term, membership: { voters: voters as string[] } };
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
