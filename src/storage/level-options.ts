import type { Membership, NodeId } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';

/** Options of {@link LevelStorage.open}. */
export interface LevelStorageOptions {
  /** Directory of the LevelDB database; created when missing. One directory per node. */
  readonly location: string;
  /** The node this storage belongs to. Written at creation and checked on every later open. */
  readonly nodeId: NodeId;
  /**
   * The cluster this storage belongs to. Written at creation; on a later open
   * it must match the stored one when given.
   * @defaultValue not checked, stored as null at creation
   */
  readonly clusterId?: string | undefined;
  /**
   * Byte budget (by `entrySizeBytes`) of the newest entries kept in memory.
   * Entries not yet durable stay in memory beyond it.
   * @defaultValue 1 MiB (`DEFAULT_TAIL_CACHE_BYTES`)
   */
  readonly tailCacheBytes?: number | undefined;
  /**
   * Bytes of the newest entries read into the tail cache at open (never more
   * than `tailCacheBytes`). Open reads this much of the log and no more, so it
   * bounds the time open takes; the tail then grows to `tailCacheBytes` as
   * entries are appended, and older entries are loaded on demand.
   * @defaultValue 64 KiB (`DEFAULT_OPEN_TAIL_BYTES`)
   */
  readonly openTailBytes?: number | undefined;
  /**
   * Byte budget of older entries loaded on demand (followers catching up).
   * @defaultValue 4 MiB (`DEFAULT_LOADED_CACHE_BYTES`)
   */
  readonly loadedCacheBytes?: number | undefined;
  /**
   * Largest entry accepted by `append`, by `entrySizeBytes`.
   * @defaultValue 16 MiB (`DEFAULT_MAX_ENTRY_BYTES`)
   */
  readonly maxEntryBytes?: number | undefined;
  /**
   * Bytes after which group commit starts a new batch instead of growing the queued one.
   * @defaultValue 64 MiB (`DEFAULT_MAX_BATCH_BYTES`)
   */
  readonly maxBatchBytes?: number | undefined;
  /**
   * The membership before any snapshot exists, reported by `initialState()` and
   * `snapshotMeta()` until the first snapshot. Not stored: it is configuration
   * the runtime passes on every start, as it does to `MemoryStorage`.
   * @defaultValue null
   */
  readonly membership?: Membership | null | undefined;
}

/** {@link LevelStorageOptions} with every default applied and every value checked. */
export interface ResolvedLevelStorageOptions {
  readonly location: string;
  readonly nodeId: NodeId;
  readonly clusterId: string | undefined;
  readonly tailCacheBytes: number;
  /** At most `tailCacheBytes`. */
  readonly openTailBytes: number;
  readonly loadedCacheBytes: number;
  readonly maxEntryBytes: number;
  readonly maxBatchBytes: number;
  readonly membership: Membership | null;
}

/** Default tail budget: 1 MiB, about 7,000 entries of 128 bytes. */
export const DEFAULT_TAIL_CACHE_BYTES = 1024 * 1024;
/**
 * Default tail read at open: 64 KiB, about 450 entries of 128 bytes. Decoding
 * the tail is most of what open costs beyond LevelDB's own open; the tail
 * grows to `tailCacheBytes` as entries are appended, and older entries load
 * on demand a block at a time.
 */
export const DEFAULT_OPEN_TAIL_BYTES = 64 * 1024;
/** Default budget of entries loaded on demand: 4 MiB. */
export const DEFAULT_LOADED_CACHE_BYTES = 4 * 1024 * 1024;
/** Default largest entry: 16 MiB. */
export const DEFAULT_MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/** Default batch size at which group commit starts a new batch: 64 MiB. */
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024;

/** Checks `options` and fills in defaults. Throws {@link InvalidArgumentError} naming the bad option. */
export function resolveLevelStorageOptions(options: LevelStorageOptions): ResolvedLevelStorageOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('LevelStorage.open: options must be an object');
  const { location, nodeId, clusterId, membership } = options;
  if (typeof location !== 'string' || location.length === 0) {
    throw new InvalidArgumentError('LevelStorage.open: location must be a non-empty string');
  }
  if (typeof nodeId !== 'string' || nodeId.length === 0) {
    throw new InvalidArgumentError('LevelStorage.open: nodeId must be a non-empty string');
  }
  if (clusterId !== undefined && (typeof clusterId !== 'string' || clusterId.length === 0)) {
    throw new InvalidArgumentError('LevelStorage.open: clusterId must be a non-empty string when given');
  }
  if (membership !== undefined && membership !== null && !isMembership(membership)) {
    throw new InvalidArgumentError('LevelStorage.open: membership.voters must be a list of non-empty node ids');
  }
  const tailCacheBytes = byteOption('tailCacheBytes', options.tailCacheBytes, DEFAULT_TAIL_CACHE_BYTES, 0);
  return {
    location,
    nodeId,
    clusterId,
    tailCacheBytes,
    openTailBytes: Math.min(tailCacheBytes, byteOption('openTailBytes', options.openTailBytes, DEFAULT_OPEN_TAIL_BYTES, 0)),
    loadedCacheBytes: byteOption('loadedCacheBytes', options.loadedCacheBytes, DEFAULT_LOADED_CACHE_BYTES, 0),
    maxEntryBytes: byteOption('maxEntryBytes', options.maxEntryBytes, DEFAULT_MAX_ENTRY_BYTES, 1),
    maxBatchBytes: byteOption('maxBatchBytes', options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1),
    membership: membership ?? null,
  };
}

/** True when `value` is a membership: a list of non-empty node ids. */
export function isMembership(value: unknown): value is Membership {
  if (typeof value !== 'object' || value === null) return false;
  const voters = (value as { voters?: unknown }).voters;
  return Array.isArray(voters) && voters.every((voter) => typeof voter === 'string' && voter.length > 0);
}

function byteOption(name: string, value: number | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidArgumentError(`LevelStorage.open: ${name} must be an integer >= ${minimum}, got ${String(value)}`);
  }
  return value;
}
