/**
 * Limits and argument checks shared by every {@link SnapshotStore}
 * implementation, so that the memory and file stores accept and refuse
 * exactly the same inputs.
 *
 * @packageDocumentation
 */
import { describeInvalidMembership } from '../confchange/confchange.js';
import { plainMembership } from '../confchange/encoding.js';
import type { Index, Membership, SnapshotMeta } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { SnapshotStore } from './snapshot-store.js';

/**
 * How many snapshots a store keeps: the newest (highest index) and the one
 * before it. The second one is a fallback, and lets a follower finish
 * streaming a snapshot that a newer commit has just superseded.
 */
export const KEPT_SNAPSHOTS = 2;

/** Chunk size of {@link SnapshotStore.read} when the caller gives none. @defaultValue 64 KiB */
export const DEFAULT_READ_CHUNK_BYTES = 64 * 1024;

/** The largest chunk {@link SnapshotStore.read} accepts: a bound on the memory one read step may take. */
export const MAX_READ_CHUNK_BYTES = 64 * 1024 * 1024;

/** The most voters a snapshot's membership may list; far beyond any practical cluster, it bounds the header. */
export const MAX_VOTERS = 1024;

/**
 * Describes what is wrong with a value that should be a {@link SnapshotMeta},
 * or returns null when it is well formed: positive integer index and term,
 * and between 1 and {@link MAX_VOTERS} distinct, non-empty voter ids.
 *
 * Returns a description rather than throwing so that the caller picks the
 * error: bad input to `create()` is an {@link InvalidArgumentError}, a bad
 * header read back from disk is a `CorruptionError`.
 */
export function describeInvalidSnapshotMeta(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'meta is not an object';
  const { index, term, membership } = value as Record<string, unknown>;
  if (!isPositiveInteger(index)) return `invalid index ${String(index)} (must be a positive safe integer)`;
  if (!isPositiveInteger(term)) return `invalid term ${String(term)} (must be a positive safe integer)`;
  if (typeof membership !== 'object' || membership === null) return 'membership is not an object';
  const { voters } = membership as Record<string, unknown>;
  if (!Array.isArray(voters)) return 'membership.voters is not an array';
  if (voters.length === 0 || voters.length > MAX_VOTERS) return `membership has ${voters.length} voters (must be 1..${MAX_VOTERS})`;
  if (!voters.every((voter) => typeof voter === 'string' && voter.length > 0)) return 'membership.voters holds an empty or non-string id';
  if (new Set(voters).size !== voters.length) return 'membership.voters holds a duplicate id';
  const { learners, outgoingVoters, autoLeave } = membership as Record<string, unknown>;
  for (const [name, list] of [['learners', learners], ['outgoingVoters', outgoingVoters]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length > MAX_VOTERS) return `membership.${name} is not a list of at most ${MAX_VOTERS} ids`;
  }
  if (autoLeave !== undefined && typeof autoLeave !== 'boolean') return 'membership.autoLeave is not a boolean';
  return describeInvalidMembership(membership as Membership);
}

/** Checks the meta given to `create()` and returns a frozen copy, so that later changes by the caller cannot reach the store. */
export function validateSnapshotMeta(meta: SnapshotMeta): SnapshotMeta {
  const problem = describeInvalidSnapshotMeta(meta);
  if (problem !== null) throw new InvalidArgumentError(`snapshot meta: ${problem}`);
  return copySnapshotMeta(meta);
}

/** A frozen deep copy of a meta that has passed {@link describeInvalidSnapshotMeta}. */
export function copySnapshotMeta(meta: SnapshotMeta): SnapshotMeta {
  const { voters, learners, outgoingVoters, autoLeave } = plainMembership(meta.membership);
  const membership: Membership = Object.freeze({
    voters: Object.freeze(voters),
    ...(learners ? { learners: Object.freeze(learners) } : {}),
    ...(outgoingVoters ? { outgoingVoters: Object.freeze(outgoingVoters), autoLeave } : {}),
  });
  return Object.freeze({ index: meta.index, term: meta.term, membership });
}

/** Checks the index given to `read()`. */
export function validateSnapshotIndex(index: Index): void {
  if (!isPositiveInteger(index)) throw new InvalidArgumentError(`snapshot read: invalid index ${String(index)} (must be a positive safe integer)`);
}

/** Checks the chunk size given to `read()`: an integer in 1..{@link MAX_READ_CHUNK_BYTES}. */
export function validateReadChunkBytes(chunkBytes: number): void {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_READ_CHUNK_BYTES) {
    throw new InvalidArgumentError(`snapshot read: chunkBytes ${String(chunkBytes)} is not an integer in 1..${MAX_READ_CHUNK_BYTES}`);
  }
}

/** Checks a chunk given to `SnapshotWriter.write()`. */
export function validateSnapshotChunk(chunk: Uint8Array): void {
  if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('snapshot write: chunk is not a Uint8Array');
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
