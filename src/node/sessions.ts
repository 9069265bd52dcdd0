import { Packr } from 'msgpackr';
import { CorruptionError, InvalidArgumentError } from '../errors.js';

/** A client's identity and the sequence number of one of its requests. */
export interface ClientSession {
  /** Stable per client (or per idempotency key). */
  readonly clientId: string;
  /** Increases with every new request of this client; a retry reuses it. */
  readonly seq: number;
}

/** The longest client id a session may carry, in UTF-16 code units (JavaScript's string length). */
export const MAX_CLIENT_ID_LENGTH = 1024;

/** Checks a proposal's session at the public boundary; throws {@link InvalidArgumentError} naming the bad field. */
export function checkSession(session: ClientSession): void {
  if (typeof session.clientId !== 'string' || session.clientId.length === 0 || session.clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new InvalidArgumentError(`propose: session.clientId must be a non-empty string of at most ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  if (!Number.isSafeInteger(session.seq) || session.seq < 1) throw new InvalidArgumentError('propose: session.seq must be a positive integer');
}

interface SessionRecord {
  seq: number;
  result: unknown;
}

/** What applying a session command decided. */
export type SessionDecision = { readonly kind: 'apply' } | { readonly kind: 'duplicate'; readonly result: unknown } | { readonly kind: 'stale'; readonly lastSeq: number };

const packr = new Packr({ useRecords: false, moreTypes: true });

/**
 * The exactly-once session table of Raft dissertation §6.3. It is part of the
 * replicated state: every node updates it in apply order and it travels in
 * snapshots, so a retried request is recognised on whichever node applies it.
 * For each client it remembers the latest sequence number and its result; a
 * retry of that request returns the remembered result without applying again.
 * The table is bounded: beyond `maxSessions` the least recently used client is
 * forgotten (deterministically, since use is counted in apply order).
 */
export class SessionTable {
  private readonly records = new Map<string, SessionRecord>();

  constructor(private readonly maxSessions: number) {}

  get size(): number {
    return this.records.size;
  }

  /** Decides what to do with a request before it is applied. */
  check(session: ClientSession): SessionDecision {
    const record = this.records.get(session.clientId);
    if (record === undefined || session.seq > record.seq) return { kind: 'apply' };
    if (session.seq === record.seq) return { kind: 'duplicate', result: record.result };
    return { kind: 'stale', lastSeq: record.seq };
  }

  /** Records the result of an applied request. */
  record(session: ClientSession, result: unknown): void {
    this.records.delete(session.clientId);
    this.records.set(session.clientId, { seq: session.seq, result });
    if (this.records.size > this.maxSessions) this.records.delete(this.records.keys().next().value!);
  }

  /** Encodes the table for a snapshot (results must be msgpack-encodable). */
  encode(): Uint8Array {
    return packr.pack([...this.records].map(([clientId, record]) => [clientId, record.seq, record.result]));
  }

  /** Replaces the table with one decoded from a snapshot. */
  restore(bytes: Uint8Array): void {
    let rows: unknown;
    try {
      rows = packr.unpack(bytes);
    } catch (error) {
      throw new CorruptionError('snapshot sessions', 'cannot decode the session table', { cause: error });
    }
    if (!Array.isArray(rows)) throw new CorruptionError('snapshot sessions', 'the session table is not a list');
    this.records.clear();
    for (const row of rows) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'number') {
        throw new CorruptionError('snapshot sessions', 'malformed session row');
      }
      this.records.set(row[0], { seq: row[1], result: row[2] });
    }
  }
}
