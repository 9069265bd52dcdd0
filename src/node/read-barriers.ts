import type { RawNode } from '../core/raw-node.js';
import type { Index, NodeId } from '../core/types.js';
import type { AwaitingLeader } from './awaiting-leader.js';
import type { Clock } from '../util/clock.js';
import type { ReadOptions } from './request-options.js';
import { guardedPromise } from './waiters.js';
import type { Deferred } from './waiters.js';

/** What {@link ReadBarriers} needs from its node. */
export interface ReadHost {
  readonly id: NodeId;
  readonly core: RawNode;
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly awaitingLeader: AwaitingLeader;
  /** The node's request counter, shared with forwarded proposals: ids stay unique per node. */
  nextRequestId(): number;
  /** Runs the Ready loop for the read index just requested. */
  wake(): void;
}

/**
 * Linearizable read barriers (ReadIndex, or the leader's lease): a read waits
 * for the leader to confirm an index, then for this node to apply it.
 */
export class ReadBarriers {
  /** Reads waiting for the leader's confirmation (by request id), then for the apply index. */
  private readonly readsPending = new Map<string, Deferred<void>>();
  private readonly readsConfirmed: { index: Index; deferred: Deferred<void> }[] = [];

  constructor(private readonly host: ReadHost) {}

  read(options: ReadOptions): Promise<void> {
    const host = this.host;
    const requestId = `${host.id}:${host.nextRequestId()}`;
    const deferred = guardedPromise<void>('read', host.clock, options.timeoutMs ?? host.requestTimeoutMs, options.signal, () => {
      this.readsPending.delete(requestId);
      const position = this.readsConfirmed.findIndex((read) => read.deferred === deferred);
      if (position >= 0) this.readsConfirmed.splice(position, 1);
    });
    const dispatch = (): void => {
      if (deferred.settled) return;
      if (host.core.leader === null) {
        host.awaitingLeader.add({ dispatch, reject: (error) => deferred.reject(error) });
        return;
      }
      try {
        host.core.readIndex(requestId, { lease: options.lease === true });
        this.readsPending.set(requestId, deferred);
        host.wake();
      } catch (error) {
        deferred.reject(error);
      }
    };
    dispatch();
    return deferred.promise;
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
    for (let i = this.readsConfirmed.length - 1; i >= 0; i--) {
      const read = this.readsConfirmed[i]!;
      if (read.index > appliedIndex) continue;
      this.readsConfirmed.splice(i, 1);
      read.deferred.resolve();
    }
  }

  /** The node stopped: every read still waiting rejects with `error`. */
  rejectAll(error: unknown): void {
    for (const deferred of this.readsPending.values()) deferred.reject(error);
    this.readsPending.clear();
    for (const read of this.readsConfirmed.splice(0)) read.deferred.reject(error);
  }
}
