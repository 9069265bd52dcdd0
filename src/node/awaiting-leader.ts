import type { NodeId } from '../core/types.js';

/** A request made while no leader was known. */
interface LeaderWaiter {
  readonly dispatch: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Requests (proposals and reads) made while no leader was known, retried as
 * soon as one is; they keep their deadlines. One queue for both kinds, so they
 * go out in the order they were made.
 */
export class AwaitingLeader {
  private waiting: LeaderWaiter[] = [];

  add(waiter: LeaderWaiter): void {
    this.waiting.push(waiter);
  }

  /** Requests made while no leader was known go out once one is. */
  dispatch(leader: NodeId | null): void {
    if (leader === null || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const waiter of waiting) waiter.dispatch();
  }

  /** The node stopped: requests still waiting for a leader are pending operations too (found by the runtime simulator). */
  rejectAll(error: unknown): void {
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
