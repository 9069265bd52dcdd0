import type { Entry } from '../../core/types.js';

/**
 * Committed entries waiting to be applied, in index order, as the Readies
 * handed them (batches, so that queueing a Ready's entries is one push).
 * At most one asynchronous apply runs at a time: while one does, the queue
 * is busy and nothing else is taken from it. The owner loop owns it; it is
 * plain state with no timers or callbacks of its own.
 */
export class ApplyQueue {
  private batches: (readonly Entry[])[] = [];
  private position = 0;
  /** The asynchronous apply in progress, or null. */
  private pending: Promise<void> | null = null;
  /** Resolvers waiting for the queue to be empty and not busy (a snapshot install). */
  private idleWaiters: (() => void)[] = [];

  /** True while an asynchronous apply is in progress. */
  get busy(): boolean {
    return this.pending !== null;
  }

  /** True when an entry can be taken now. */
  get ready(): boolean {
    return this.pending === null && this.position < (this.batches[0]?.length ?? 0);
  }

  /** True when nothing is queued and nothing is applying. */
  get idle(): boolean {
    return this.pending === null && this.batches.length === 0;
  }

  push(entries: readonly Entry[]): void {
    if (entries.length > 0) this.batches.push(entries);
  }

  /** The next entry to apply; the queue must be {@link ready}. */
  take(): Entry {
    const batch = this.batches[0]!;
    const entry = batch[this.position]!;
    if (++this.position === batch.length) {
      this.batches.shift();
      this.position = 0;
    }
    return entry;
  }

  /**
   * An apply returned a promise: the queue is busy until it settles. Returns
   * the promise that settles after `done` (or `failed`) ran, for a closing
   * node to wait on.
   */
  waitFor(apply: Promise<void>, done: () => void, failed: (error: unknown) => void): Promise<void> {
    const pending = apply.then(
      () => {
        this.pending = null;
        done();
      },
      (error: unknown) => {
        this.pending = null;
        failed(error);
      },
    );
    this.pending = pending;
    return pending;
  }

  /** Resolves once the queue is {@link idle}; call {@link notifyIdle} whenever it may have become so. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Releases the waiters of {@link whenIdle} if the queue is idle (or `force`: the node is stopping). */
  notifyIdle(force = false): void {
    if (this.idleWaiters.length === 0 || !(force || this.idle)) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
