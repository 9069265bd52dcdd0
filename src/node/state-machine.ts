import type { Index, Term } from '../core/types.js';

/** A committed command, as handed to {@link StateMachine.apply}. */
export interface AppliedCommand {
  /** The command's log index: increases by at least one from one applied command to the next. */
  readonly index: Index;
  /** The term in which the command was proposed. */
  readonly term: Term;
  /** The bytes that were proposed. */
  readonly command: Uint8Array;
}

/** A position in the log: the index and term of the last entry a snapshot covers. */
export interface SnapshotPoint {
  /** The index of the last command the snapshot covers. */
  readonly index: Index;
  /** The term of that command's entry. */
  readonly term: Term;
}

/**
 * A point-in-time view of the state, returned by {@link StateMachine.capture}
 * and written to the snapshot store in the background while later commands
 * keep being applied.
 */
export interface SnapshotSource {
  /**
   * Streams the state as it was when the view was captured, in chunks (any
   * sizes). Called at most once. The runtime pulls chunks while `apply` keeps
   * running, so the stream must read the captured view, never the live state.
   * A throw (or a rejected chunk) abandons this snapshot: the node reports a
   * `SnapshotFailedError` through its `snapshotFailed` event and keeps running.
   */
  chunks(): AsyncIterable<Uint8Array>;
  /**
   * The runtime is done with the view: the snapshot was committed, failed or
   * was abandoned (a newer snapshot from the leader, the node closing).
   * Called exactly once, also when `chunks()` was never called. After it the
   * runtime pulls no more chunks (one already requested may still settle; it
   * is discarded). Use it to drop a copy-on-write layer or a reference count.
   */
  release?(): void;
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
 * Snapshots are taken in two steps, so that the node never stops sending,
 * persisting and applying while a large state is written:
 * 1. `capture` is called synchronously right after the command at `point`
 *    was applied and before the next one is. It must be cheap — an immutable
 *    structure, a copy-on-write layer, or a copy when the state is small —
 *    because nothing else runs on the node while it does.
 * 2. The returned source's `chunks()` stream is written to the snapshot store
 *    in the background; `apply` keeps being called meanwhile.
 *
 * @typeParam Result - what `apply` returns to the proposer (it must survive
 * msgpack encoding when sessions cache it in snapshots).
 */
export interface StateMachine<Result = unknown> {
  /** Applies one committed command and returns its result, which resolves `propose` on the node that proposed it. May return a promise: the next command is applied only once it settles. A throw or rejection stops the node with a `NodeFailedError`. */
  apply(command: AppliedCommand): Result | Promise<Result>;
  /**
   * A point-in-time view of the state as of `point` (the last applied
   * command), synchronous and cheap. A throw is reported as a
   * `SnapshotFailedError` (`snapshotFailed` event); the node keeps running and
   * tries again later.
   */
  capture(point: SnapshotPoint): SnapshotSource;
  /**
   * Replaces the whole state with a snapshot's, streamed in chunks. `point` is
   * the snapshot's index and term: the state covers every command up to it.
   * Called when the node starts from a stored snapshot and when it installs
   * one from the leader; a source captured earlier may still be streaming
   * then (it must keep reading its own view). Do not switch to the restored
   * state before the stream has ended without an error: the snapshot store
   * checks its checksum after the last chunk.
   */
  restore(chunks: AsyncIterable<Uint8Array>, point: SnapshotPoint): Promise<void>;
}
