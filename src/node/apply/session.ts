import { InvalidArgumentError } from '../../errors.js';

/**
 * A registered session's id: the log index of the entry that registered it.
 * Every node computes the same id, and no two sessions ever share one, since
 * a committed index holds exactly one entry for the life of the cluster.
 */
export type SessionId = number;

/**
 * A client session of Raft dissertation §6.3, registered through the log by
 * {@link RaftNode.openSession}. It is a plain value (an id and a counter), not
 * tied to the node that opened it: pass it to `propose` on any node. Its
 * requests must be sequential: the cluster remembers only the latest request's
 * result, so a retry is recognised only until the next request is applied.
 *
 * A client in another process rebuilds it with `new Session(id, lastSeq)`.
 */
export class Session {
  /** The session's id, assigned by the cluster. */
  readonly id: SessionId;
  private seq: number;

  /**
   * A handle on the registered session `id`; `openSession()` makes one.
   * @param lastSeq - the last sequence number already used in this session (0 for none).
   */
  constructor(id: SessionId, lastSeq = 0) {
    if (!Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError('Session: id must be a positive integer (a session id from openSession)');
    if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) throw new InvalidArgumentError('Session: lastSeq must be a non-negative integer');
    this.id = id;
    this.seq = lastSeq;
  }

  /** The last sequence number handed out (or passed to `propose`) for this session; 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Reserves the sequence number of a new request. Pass it as `seq` on every
   * attempt of that request, so the cluster applies it at most once.
   */
  nextSeq(): number {
    this.seq++;
    return this.seq;
  }

  /** Notes that `seq` was used (an explicit `seq` given to `propose`), so later numbers stay above it. */
  used(seq: number): void {
    if (seq > this.seq) this.seq = seq;
  }
}

/**
 * A client's identity and the sequence number of one of its requests, with no
 * registration: the implicit session of earlier Keel versions.
 *
 * @deprecated An unregistered client id cannot be told from a new client, so a
 * retry that arrives after the client was evicted from the session table
 * (`limits.maxSessions`) is applied **again**. Use {@link RaftNode.openSession}
 * and {@link Session}: a request of an evicted session is refused instead.
 */
export interface ClientSession {
  /** Stable per client. */
  readonly clientId: string;
  /** Increases with every new request of this client; a retry reuses it. */
  readonly seq: number;
}

/** The longest client id a deprecated implicit session may carry, in UTF-16 code units (JavaScript's string length). */
export const MAX_CLIENT_ID_LENGTH = 1024;

/** The session of one request as it travels in the log. */
export type SessionRequest =
  | { readonly kind: 'registered'; readonly id: SessionId; readonly seq: number }
  /** The deprecated implicit session ({@link ClientSession}). */
  | { readonly kind: 'implicit'; readonly clientId: string; readonly seq: number };

/**
 * Validates a proposal's session options at the public boundary and resolves
 * them to the request that goes into the log: with a {@link Session} and no
 * `seq`, the session's next number. Throws {@link InvalidArgumentError}
 * naming the bad field.
 */
export function resolveSessionRequest(session: Session | ClientSession, seq: number | undefined): SessionRequest {
  if (session instanceof Session) {
    if (seq === undefined) return { kind: 'registered', id: session.id, seq: session.nextSeq() };
    if (!Number.isSafeInteger(seq) || seq < 1) throw new InvalidArgumentError('propose: seq must be a positive integer');
    session.used(seq);
    return { kind: 'registered', id: session.id, seq };
  }
  if (seq !== undefined) throw new InvalidArgumentError('propose: seq goes with a Session; an implicit { clientId, seq } session carries its own');
  if (typeof session.clientId !== 'string' || session.clientId.length === 0 || session.clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new InvalidArgumentError(`propose: session.clientId must be a non-empty string of at most ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(session.seq) || session.seq < 1) throw new InvalidArgumentError('propose: session.seq must be a positive integer');
  return { kind: 'implicit', clientId: session.clientId, seq: session.seq };
}
