import type { Index, NodeId } from '../../core/types.js';
import { ReadDroppedError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import type { ReadRequest } from '../inbox.js';
import { guardedPromise } from './waiters.js';
import type { Deferred } from './waiters.js';

/**
 * Linearizable read barriers (ReadIndex, or the leader's lease): a read waits
 * for the leader to confirm an index, then for this node to apply it. Plain
 * state that the owner loop settles: {@link sent} when the core took the
 * request, {@link confirm} when a read state names it, {@link release} after
 * every apply.
 */
export class ReadBarriers {
  /** Reads not settled yet, wherever they wait (inbox, leader queue, core, apply index): bounded by `maxPending`. */
  private pending = 0;
  /** Reads the core took, waiting for the leader's confirmation (by request id). */
  private readonly readsPending = new Map<string, Deferred<void>>();
  /** Confirmed reads, waiting for this node to apply their index. */
  private readonly readsConfirmed: { index: Index; deferred: Deferred<void> }[] = [];
  private nextId = 1;
  /** Counts a read out when it settles, however it does. */
  private readonly readSettled = (): void => {
    this.pending--;
  };

  constructor(
    private readonly id: NodeId,
    private readonly clock: Clock,
    /** `limits.maxPendingReads`. */
    private readonly maxPending: number,
  ) {}

  /** Reads waiting, for metrics and tests. */
  get size(): number {
    return this.pending;
  }

  /**
   * A new read request, or `ReadDroppedError` (rejected, never thrown) when
   * `maxPending` reads are already waiting: each holds a promise and a
   * deadline, and the leader's queue of read indexes grows with them.
   */
  create(timeoutMs: number, lease: boolean, signal: AbortSignal | undefined): ReadRequest | ReadDroppedError {
    if (this.pending >= this.maxPending) return new ReadDroppedError(`${this.pending} reads are already waiting (limits.maxPendingReads)`);
    const requestId = `${this.id}:r${this.nextId++}`;
    this.pending++;
    const deferred = guardedPromise<void>('read', this.clock, timeoutMs, signal, () => this.forget(requestId, deferred), this.readSettled);
    return { requestId, lease, deferred };
  }

  /** The core took the read: it waits for the leader's confirmation. */
  sent(request: ReadRequest): void {
    if (!request.deferred.settled) this.readsPending.set(request.requestId, request.deferred);
  }

  /** The leader confirmed the read index of `requestId`: it now waits for this node to apply `index`. */
  confirm(requestId: string, index: Index): void {
    const deferred = this.readsPending.get(requestId);
    if (deferred === undefined) return;
    this.readsPending.delete(requestId);
    this.readsConfirmed.push({ index, deferred });
  }

  /** Reads whose index this node has applied may proceed. */
  release(appliedIndex: Index): void {
    const confirmed = this.readsConfirmed;
    if (confirmed.length === 0) return;
    for (let i = confirmed.length - 1; i >= 0; i--) {
      const read = confirmed[i]!;
      if (read.index > appliedIndex) continue;
      confirmed.splice(i, 1);
      read.deferred.resolve();
    }
  }

  /** The node stopped: every read still waiting rejects with `error`. */
  rejectAll(error: unknown): void {
    for (const deferred of this.readsPending.values()) deferred.reject(error);
    this.readsPending.clear();
    for (const read of this.readsConfirmed.splice(0)) read.deferred.reject(error);
  }

  private forget(requestId: string, deferred: Deferred<void>): void {
    this.readsPending.delete(requestId);
    const position = this.readsConfirmed.findIndex((read) => read.deferred === deferred);
    if (position >= 0) this.readsConfirmed.splice(position, 1);
  }
}
