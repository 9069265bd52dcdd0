import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from '../core/types.js';

/** What a node finds in its storage when it starts. */
export interface InitialState {
  readonly hardState: HardState;
  /** The membership recorded with the latest snapshot, or null when the storage has never seen one. */
  readonly membership: Membership | null;
}

/**
 * The read side of a node's log, which the pure core consults.
 *
 * Every method is synchronous and answers from memory: the core never waits on
 * I/O. An implementation over an asynchronous store (LevelDB) keeps first and
 * last index, the term of every stored index and a bounded tail of entries in
 * memory, and loads older entries on demand (see {@link LogReader.entries}).
 *
 * The log is the snapshot's position followed by the entries
 * `firstIndex() .. lastIndex()`. With no snapshot, the snapshot position is
 * index 0, term 0.
 */
export interface LogReader {
  /** Hard state and membership as stored. */
  initialState(): InitialState;
  /** The index of the first entry still available: the snapshot index + 1. */
  firstIndex(): Index;
  /** The index of the last entry, or the snapshot index when no entry follows it. */
  lastIndex(): Index;
  /**
   * The term of the entry at `index`, for `firstIndex() - 1 <= index <= lastIndex()`
   * (at `firstIndex() - 1` it is the snapshot's term). Throws `CompactedError`
   * below that range and `InvalidArgumentError` above it.
   */
  term(index: Index): Term;
  /**
   * Entries in `[low, high)`, at most `maxBytes` in total (by `entrySizeBytes`) but
   * always at least one when `low < high`. Throws `CompactedError` when
   * `low < firstIndex()` and `InvalidArgumentError` when `high > lastIndex() + 1`.
   *
   * Returns `undefined` when the entries are not in memory right now: the
   * implementation starts loading them and a later call succeeds. The core
   * treats that as "try again later" (the next heartbeat response retries).
   */
  entries(low: Index, high: Index, maxBytes: number): readonly Entry[] | undefined;
  /** Metadata of the latest snapshot; index 0, term 0 and the initial membership when there is none. */
  snapshotMeta(): SnapshotMeta;
}

/**
 * A node's durable log: the read side the core uses plus the writes the
 * runtime makes when it handles a `Ready`.
 *
 * Writes are visible to the read methods as soon as they are called, in call
 * order; the returned promise resolves once the write is durable (synced).
 * The runtime must not send a message that depends on a write before that
 * promise resolves. A rejected write leaves the storage unusable: the node must
 * stop.
 */
export interface LogStorage extends LogReader {
  /**
   * Atomically: discard every stored entry with index `>= entries[0].index`,
   * append `entries` (contiguous, starting at most at `lastIndex() + 1` and after the
   * snapshot) and, when given, replace the hard state. With no entries it only
   * sets the hard state.
   */
  append(entries: readonly Entry[], hardState?: HardState): Promise<void>;
  /**
   * Records a snapshot and drops the log prefix it covers, atomically.
   * When the log holds an entry at `meta.index` with `meta.term`, the entries
   * after it are kept (local compaction); otherwise the whole log is discarded
   * (a snapshot received from the leader replaces a log that does not match it).
   * Throws `SnapshotOutOfDateError` when `meta.index` is below the stored snapshot's index.
   */
  saveSnapshot(meta: SnapshotMeta): Promise<void>;
  /** Releases the storage. Idempotent; every other method fails with `StorageClosedError` afterwards. */
  close(): Promise<void>;
}
