import type { Index } from '../core/types.js';
import { StorageIOError } from '../errors.js';
import { assert } from '../util/assert.js';

/**
 * Where a write puts its operations: the batch of the group it joins. Keys and
 * values are already encoded, and copied before `put` or `del` returns, so a
 * caller may reuse its buffers at once.
 */
export interface BatchSink {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/** A LevelDB batch being filled; `write` applies it atomically and durably (`sync: true`). */
export interface PendingBatch extends BatchSink {
  write(): Promise<void>;
  /** Drops the batch unwritten, releasing its memory. */
  discard(): void;
}

/** Starts a new, empty batch. */
export type BatchFactory = () => PendingBatch;

/**
 * What a storage writes through: a {@link GroupCommit} of its own database,
 * or its share of a host's ({@link PrefixedCommitter}, one Raft group's keys
 * in a database shared by many groups).
 */
export interface Committer {
  /** Adds a write; see {@link GroupCommit.submit}. */
  submit(fill: (sink: BatchSink) => void, minEntryIndex: Index): Promise<void>;
  /** The lowest entry index of this storage's writes not durable yet; Infinity when none is pending. */
  pinnedFrom(): Index;
  /** Resolves when none of this storage's writes is queued or in flight. */
  idle(): Promise<void>;
  /** Synced batches written (for a shared committer: by every storage sharing it). */
  readonly batches: number;
  /** Writes this storage submitted. */
  readonly submits: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Group {
  readonly batch: PendingBatch;
  /** Counts bytes into `bytes`, then forwards to `batch`. */
  readonly sink: BatchSink;
  readonly waiters: Waiter[];
  /** Encoded bytes of the group's keys and values. */
  bytes: number;
  /** The lowest entry index the group writes, or Infinity when it writes none. */
  minEntryIndex: Index;
}

/**
 * Group commit: while one synced batch is in flight, later writes queue up and
 * go to disk together as the next single batch, so that many appends share one
 * fsync. Each caller's promise resolves when the batch holding its write is
 * durable.
 *
 * A write puts its operations straight into the open group's LevelDB batch,
 * which copies the bytes into native memory at once: no operation objects are
 * kept, and the encoded keys and values become garbage while they are young.
 *
 * Order is preserved: groups are written one at a time in submission order, and
 * within a group the operations keep call order (LevelDB applies a batch's
 * operations in order, so a later put of the same key wins). A group is closed
 * once it holds `maxBatchBytes`, which bounds the size of a single batch; a
 * single write larger than that still goes out whole, since each write must be
 * atomic.
 *
 * The first failed batch fails the committer for good: its writers and every
 * queued writer are rejected with {@link StorageIOError}, and so is every later
 * submission, because the in-memory view already includes writes that did not
 * reach the disk and the node must stop.
 */
export class GroupCommit implements Committer {
  /** Groups not yet written, oldest first. Only the last one accepts new writes. */
  private readonly queue: Group[] = [];
  private inFlight: Group | null = null;
  private failure: StorageIOError | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  private batchCount = 0;
  private submitCount = 0;

  /**
   * @param openBatch starts a new batch for a group.
   * @param maxBatchBytes bytes after which a group stops accepting writes.
   * @param onFailure called once, with the error, when a batch fails.
   */
  constructor(
    private readonly openBatch: BatchFactory,
    private readonly maxBatchBytes: number,
    private readonly onFailure: (error: StorageIOError) => void,
  ) {
    assert(Number.isSafeInteger(maxBatchBytes) && maxBatchBytes > 0, () => `group commit: invalid maxBatchBytes ${maxBatchBytes}`);
  }

  /** Batches handed to the writer so far. With group commit, at most `submits`. */
  get batches(): number {
    return this.batchCount;
  }

  /** Writes submitted so far. */
  get submits(): number {
    return this.submitCount;
  }

  /** The error that failed the committer, or null. */
  get failed(): StorageIOError | null {
    return this.failure;
  }

  /**
   * The lowest entry index written by a batch that is queued or in flight:
   * entries from there on are not durable yet. Infinity when nothing is pending.
   */
  pinnedFrom(): Index {
    let pinned = this.inFlight?.minEntryIndex ?? Infinity;
    for (const group of this.queue) pinned = Math.min(pinned, group.minEntryIndex);
    return pinned;
  }

  /**
   * Adds a write to the open group: `fill` puts its operations, synchronously,
   * into that group's batch, so they are written atomically, in the same batch,
   * after everything submitted before. `minEntryIndex` is the lowest entry
   * index they write (Infinity for none). Resolves once they are durable.
   * After a failure, rejects without calling `fill`.
   */
  submit(fill: (sink: BatchSink) => void, minEntryIndex: Index): Promise<void> {
    if (this.failure !== null) return Promise.reject(failedEarlier(this.failure));
    this.submitCount++;
    const group = this.openGroup();
    fill(group.sink);
    group.minEntryIndex = Math.min(group.minEntryIndex, minEntryIndex);
    const promise = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    if (this.inFlight === null && this.queue.length === 1 && group.waiters.length === 1) {
      // Start on a microtask rather than now: writes made in the same
      // synchronous burst (one Ready's worth) then share this first batch too.
      queueMicrotask(() => this.startNext());
    }
    return promise;
  }

  /** Resolves when nothing is queued or in flight (whether the writes succeeded or not). */
  idle(): Promise<void> {
    if (this.inFlight === null && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private openGroup(): Group {
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined && last.bytes < this.maxBatchBytes) return last;
    const batch = this.openBatch();
    const group: Group = {
      batch,
      sink: {
        put: (key, value) => {
          group.bytes += key.byteLength + value.byteLength;
          batch.put(key, value);
        },
        del: (key) => {
          group.bytes += key.byteLength;
          batch.del(key);
        },
      },
      waiters: [],
      bytes: 0,
      minEntryIndex: Infinity,
    };
    this.queue.push(group);
    return group;
  }

  private startNext(): void {
    if (this.inFlight !== null) return;
    const group = this.queue.shift();
    if (group === undefined) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.inFlight = group;
    this.batchCount++;
    group.batch.write().then(
      () => this.finish(group, null),
      (error: unknown) => this.finish(group, error),
    );
  }

  private finish(group: Group, error: unknown): void {
    assert(this.inFlight === group, 'group commit: finished a group that was not in flight');
    this.inFlight = null;
    if (error !== null && this.failure === null) {
      this.failure = new StorageIOError(`storage write failed: ${describe(error)}`, { cause: error });
      this.onFailure(this.failure);
    }
    if (this.failure === null) {
      for (const waiter of group.waiters) waiter.resolve();
    } else {
      // This group's writers get the error itself when this batch is the one
      // that failed; writers queued behind it were never attempted.
      const failure = this.failure;
      const own = error !== null ? failure : failedEarlier(failure);
      for (const waiter of group.waiters) waiter.reject(own);
      for (const queued of this.queue.splice(0)) {
        queued.batch.discard();
        for (const waiter of queued.waiters) waiter.reject(failedEarlier(failure));
      }
    }
    this.startNext();
  }
}

/** The error for a write that was not attempted because an earlier one failed. */
function failedEarlier(failure: StorageIOError): StorageIOError {
  return new StorageIOError(`storage failed earlier and accepts no more writes: ${failure.message}`, { cause: failure });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
