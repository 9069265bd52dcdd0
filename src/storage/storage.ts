import type { LogReader } from '../core/log-reader.js';
import type { Entry, HardState, SnapshotMeta } from '../core/types.js';

/** The core's port, defined in the core; re-exported here for storage implementations. */
export type { InitialState, LogReader } from '../core/log-reader.js';

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
