import type { Index, SnapshotMeta } from '../core/types.js';

/**
 * Where a node keeps its state-machine snapshots: streamed in and out in
 * chunks, so a large state never has to sit in one buffer. Separate from the
 * log storage (narrow boundaries): the log records a snapshot's metadata and
 * drops the prefix it covers only after the snapshot itself is durable here.
 */
export interface SnapshotStore {
  /** Metadata of the newest complete snapshot, or null when there is none. */
  latest(): SnapshotMeta | null;
  /**
   * Starts writing a snapshot. Nothing is visible until `commit()` resolves,
   * at which point the snapshot is durable and becomes `latest()` (if newer);
   * a crash before that leaves no trace of it.
   */
  create(meta: SnapshotMeta): Promise<SnapshotWriter>;
  /**
   * Streams the complete snapshot with this index in chunks of at most
   * `chunkBytes`. Throws `CorruptionError` when its checksum fails, and
   * `InvalidArgumentError` when no such snapshot exists.
   */
  read(index: Index, chunkBytes?: number): AsyncIterable<Uint8Array>;
  /** Releases resources. Idempotent; other methods fail with `StorageClosedError` afterwards. */
  close(): Promise<void>;
}

/** An in-progress snapshot write. Exactly one of `commit` or `abort` ends it. */
export interface SnapshotWriter {
  /** Appends a chunk. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the snapshot durable and current; older snapshots may then be deleted (the newest few are kept). */
  commit(): Promise<void>;
  /** Discards what was written. */
  abort(): Promise<void>;
}
