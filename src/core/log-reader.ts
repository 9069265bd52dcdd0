/**
 * The core's port to storage: what the pure core reads from a node's log.
 * It lives in the core, beside its only consumer; storage implements it
 * (src/storage/storage.ts extends it with the writes the runtime makes) and
 * the core imports nothing from storage.
 *
 * @packageDocumentation
 */
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from './types.js';

/** What a node finds in its storage when it starts. */
export interface InitialState {
  /** The last saved term, vote and commit index ({@link EMPTY_HARD_STATE} for a new node). */
  readonly hardState: HardState;
  /** The membership recorded with the latest snapshot, or null when the storage has never seen one. */
  readonly membership: Membership | null;
}

/**
 * The read side of a node's log, which the pure core consults.
 *
 * Every method is synchronous and answers from memory: the core never waits on
 * I/O. An implementation over an asynchronous store (LevelDB) keeps first and
 * last index, the term of every stored index, the configuration entries and a
 * bounded tail of entries in memory, and loads older entries on demand (see
 * {@link LogReader.entries}).
 *
 * **Ready at open.** Everything the core reads when it is constructed —
 * {@link LogReader.initialState}, {@link LogReader.firstIndex},
 * {@link LogReader.lastIndex}, {@link LogReader.term} of any stored index,
 * {@link LogReader.snapshotMeta} and {@link LogReader.configEntries} — is
 * answered from memory from the moment the storage is handed out (for
 * `LevelStorage`, when `open()` resolves). Only {@link LogReader.entries}
 * may answer "not loaded yet", and the core never calls it at construction.
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
  /**
   * Every configuration entry (`type: 'config'`) of the log
   * `firstIndex() .. lastIndex()`, in index order; empty when there is none.
   * Always answered from memory, however far below the newest entries they
   * lie: a restarted core recomputes its configuration from them (dissertation
   * §4.1: a server uses the latest configuration in its log, committed or
   * not), and must not depend on which entries happen to be loaded.
   */
  configEntries(): readonly Entry[];
  /** Metadata of the latest snapshot; index 0, term 0 and the initial membership when there is none. */
  snapshotMeta(): SnapshotMeta;
}
