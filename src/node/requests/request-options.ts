import type { ClientSession, Session } from '../apply/session.js';

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
   * Makes the proposal exactly-once (Raft dissertation §6.3), on any node: a
   * {@link Session} from `openSession`. A retry with the same `seq` and the
   * same command is applied at most once and resolves with the first result;
   * a request of an unknown or evicted session is refused with
   * `SessionExpiredError` and not applied. The result must be
   * msgpack-encodable (otherwise `ResultNotEncodableError`; see docs/api.md).
   *
   * A `{ clientId, seq }` object is the deprecated implicit session: a retry
   * after the client's eviction from the table is applied again.
   */
  readonly session?: Session | ClientSession;
  /**
   * The sequence number of this request in `session`. Omit it and the session
   * assigns the next one; to be able to retry, reserve it first
   * (`session.nextSeq()`) and pass the same number on every attempt.
   */
  readonly seq?: number;
}
