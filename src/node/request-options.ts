import type { ClientSession } from './sessions.js';

/** Options of one {@link RaftNode.propose} or {@link RaftNode.read} call. */
export interface RequestOptions {
  /** Rejects with `AbortedError` when it fires. */
  readonly signal?: AbortSignal;
  /** Deadline in clock milliseconds. @defaultValue the node's `requestTimeoutMs` */
  readonly timeoutMs?: number;
}

/** Options of one {@link RaftNode.read} call. */
export interface ReadOptions extends RequestOptions {
  /**
   * Serve the read from the leader's lease without a round trip when it
   * holds one (falls back to ReadIndex otherwise). Safe only if no node's
   * clock runs faster than another's by more than `maxClockDriftTicks` per
   * election timeout; needs CheckQuorum.
   */
  readonly lease?: boolean;
}

/** Options of one {@link RaftNode.propose} call. */
export interface ProposeOptions extends RequestOptions {
  /**
   * Makes the proposal exactly-once (Raft dissertation §6.3): a retry with the
   * same client id and sequence number is applied at most once and resolves
   * with the original result, on any node. Results must be msgpack-encodable.
   */
  readonly session?: ClientSession;
}
