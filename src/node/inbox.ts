import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import type { ProposalReceipt } from '../core/raw-node.js';
import type { Index, NodeId } from '../core/types.js';
import type { ReplicaMessage } from '../transport/transport.js';
import type { QuiesceNotice } from './quiescence.js';
import { assert } from '../util/assert.js';
import type { Deferred } from './requests/waiters.js';

/**
 * A proposal waiting for its entry to be applied: the caller's promise, its
 * deadline, and (on a follower) what forwarding needs. Plain state that the
 * owner loop settles; the caller only holds the promise.
 */
export interface ProposalRequest<Result = unknown> {
  readonly deferred: Deferred<Result>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** The log index it waits at once the loop proposed it (or learned it from the leader); null before. */
  waitingAt: number | null;
}

/** A read barrier waiting for the leader to confirm an index. */
export interface ReadRequest {
  readonly requestId: string;
  readonly lease: boolean;
  readonly deferred: Deferred<void>;
}

/**
 * Everything that can happen to a node enters its inbox as one of these; the
 * owner loop drains the inbox into the core. Nothing else calls the core's
 * mutators.
 */
export type Input =
  /** A command (or a runtime payload such as a member address) to append; `request` is null when nobody waits for it. */
  | { readonly kind: 'propose'; readonly payload: Uint8Array; readonly request: ProposalRequest | null }
  | { readonly kind: 'read'; readonly request: ReadRequest }
  | { readonly kind: 'message'; readonly message: ReplicaMessage }
  | { readonly kind: 'unreachable'; readonly peer: NodeId }
  | { readonly kind: 'snapshotStatus'; readonly peer: NodeId; readonly succeeded: boolean }
  | { readonly kind: 'tick' }
  | {
      readonly kind: 'confChange';
      readonly changes: readonly ConfChange[];
      readonly options: ConfChangeOptions;
      /** A payload appended just before the change (a member's address), only if no other change is in progress. */
      readonly prelude: Uint8Array | null;
      readonly deferred: Deferred<ProposalReceipt>;
    }
  | { readonly kind: 'transfer'; readonly target: NodeId; readonly deferred: Deferred<void> }
  /**
   * The host asks an idle group's replica to quiesce (quiescence.ts): a
   * leader on its own judgement (`notice` null), a follower on its leader's
   * notice. `done` says whether it did.
   */
  | { readonly kind: 'quiesce'; readonly notice: QuiesceNotice | null; readonly done: (quiesced: boolean) => void }
  /**
   * A member's host told this replica's host that the member's committed
   * configuration, installed at `configIndex`, leaves this replica out
   * (docs/multi-raft.md, "A removed replica learns it").
   */
  | { readonly kind: 'notMember'; readonly configIndex: Index };

/**
 * A FIFO of inputs. Shifting from the head of a plain array is O(n), so the
 * head moves over a slot index and the array is cut once half of it is spent.
 * The inbox itself is not bounded: every producer bounds what it puts in
 * (proposals and reads by `limits`, messages by the peers' flow control,
 * ticks by the clock); the loop bounds what it takes per turn.
 */
export class Inbox {
  private items: Input[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(input: Input): void {
    this.items.push(input);
  }

  /** The oldest input; the inbox must not be empty. */
  shift(): Input {
    assert(this.head < this.items.length, 'inbox: shift from an empty inbox');
    const input = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Input;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return input;
  }

  /** Removes and returns every input still queued (the node is stopping). */
  takeAll(): Input[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
