import type { Index, Term } from '../core/types.js';

/** A committed command, as handed to {@link StateMachine.apply}. */
export interface AppliedCommand {
  readonly index: Index;
  readonly term: Term;
  readonly command: Uint8Array;
}

/**
 * The user's replicated state machine. Keel calls `apply` for every committed
 * command, in log order, exactly once per node lifetime (after a restart the
 * state machine is rebuilt from the latest snapshot plus the log after it).
 *
 * `apply` must be deterministic: every node applies the same commands in the
 * same order and must reach the same state and results. A throw stops the
 * node with a fatal error rather than letting it diverge silently.
 *
 * @typeParam Result - what `apply` returns to the proposer (it must survive
 * msgpack encoding when sessions cache it in snapshots).
 */
export interface StateMachine<Result = unknown> {
  apply(command: AppliedCommand): Result | Promise<Result>;
  /** Streams the current state (as of the last applied command) in chunks. */
  snapshot(): AsyncIterable<Uint8Array>;
  /** Replaces the whole state with a snapshot's, streamed in chunks. */
  restore(chunks: AsyncIterable<Uint8Array>): Promise<void>;
}
