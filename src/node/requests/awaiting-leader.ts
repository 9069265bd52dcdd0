import type { NodeId } from '../../core/types.js';
import type { Input } from '../inbox.js';

/** A request that needs a leader: a proposal someone waits for, or a read. */
export type LeaderBoundInput = Extract<Input, { kind: 'propose' } | { kind: 'read' }>;

/**
 * Requests (proposals and reads) made while no leader was known. They go back
 * into the inbox as soon as one is, in the order they were made, and keep
 * their deadlines meanwhile. Bounded by the limits on pending proposals and
 * reads, which count them.
 */
export class AwaitingLeader {
  private waiting: LeaderBoundInput[] = [];

  add(input: LeaderBoundInput): void {
    this.waiting.push(input);
  }

  /** Once a leader is known, hands every waiting request back to the loop. */
  dispatch(leader: NodeId | null, enqueue: (input: Input) => void): void {
    if (leader === null || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const input of waiting) enqueue(input);
  }

  /** The node stopped: requests still waiting for a leader are pending operations too (found by the runtime simulator). */
  rejectAll(error: unknown): void {
    for (const input of this.waiting.splice(0)) {
      if (input.kind === 'read') input.request.deferred.reject(error);
      else input.request?.deferred.reject(error);
    }
  }
}
