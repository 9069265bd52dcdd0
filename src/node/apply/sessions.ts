import { crc32Bytes } from '../../codec/crc32-js.js';
import { CorruptionError, InvalidConfigError, ResultNotEncodableError, SessionConflictError, SessionExpiredError, SessionStaleError } from '../../errors.js';
import type { KeelError } from '../../errors.js';
import { assert } from '../../util/assert.js';
import { decodeResult, encodeResult, resultPackr } from './result-encoding.js';
import type { SessionId, SessionRequest } from './session.js';

/** What the table remembers of a session's latest request. */
type Remembered =
  | { readonly kind: 'none' }
  | { readonly kind: 'result'; readonly bytes: Uint8Array }
  | { readonly kind: 'notEncodable'; readonly index: number; readonly reason: string };

interface SessionRecord {
  /** The sequence number of the latest applied request; 0 for a session with none yet. */
  lastSeq: number;
  /**
   * CRC-32 and length of that request's command, to tell a retry from a
   * different command reusing the number; null for rows read from a snapshot
   * of the implicit-session format, which kept no digest.
   */
  digest: { readonly crc: number; readonly bytes: number } | null;
  remembered: Remembered;
}

/** What to do with a session request before it is applied. */
export type SessionDecision =
  | { readonly kind: 'apply' }
  | { readonly kind: 'duplicate'; readonly outcome: { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: KeelError } }
  | { readonly kind: 'refuse'; readonly error: KeelError };

/** Version of the snapshot encoding written by {@link SessionTable.encode}. */
const TABLE_FORMAT = 2;

/**
 * The exactly-once session table of Raft dissertation §6.3. It is part of the
 * replicated state: every node updates it in apply order and it travels in
 * snapshots, so a retried request is recognised on whichever node applies it.
 *
 * A session is registered by a log entry and named by that entry's index, so
 * ids are never reused. For each session the table remembers the latest
 * sequence number, a digest of its command and its encoded result (or that
 * the result could not be encoded). The table holds at most `maxSessions`
 * sessions: registering one more evicts the least recently used (use counted
 * in apply order, so every node evicts the same). A request of a session the
 * table does not hold is refused, never applied: after eviction nobody can
 * tell whether it was applied already.
 *
 * Deprecated implicit sessions (a client id, no registration) share the table
 * and its bound; an unknown client id is taken for a new client, which is
 * exactly why a retry after its eviction applies twice (docs/api.md).
 */
export class SessionTable {
  /** Keyed by session id (registered) or client id (implicit); Map order is LRU order, oldest first. */
  private readonly records = new Map<SessionId | string, SessionRecord>();

  constructor(private readonly maxSessions: number) {
    assert(Number.isSafeInteger(maxSessions) && maxSessions >= 1, `maxSessions ${maxSessions} must be a positive integer`);
  }

  /** Sessions held. */
  get size(): number {
    return this.records.size;
  }

  /** True while the table holds `session` (a registered id or an implicit client id). */
  has(session: SessionId | string): boolean {
    return this.records.has(session);
  }

  /** Registers the session opened by the entry at `index`; its id is `index`. */
  register(index: number): SessionId {
    assert(!this.records.has(index), `session ${index} registered twice`);
    this.touch(index, { lastSeq: 0, digest: null, remembered: { kind: 'none' } });
    return index;
  }

  /** Forgets a session (closed by its client). False when the table did not hold it. */
  close(id: SessionId): boolean {
    return this.records.delete(id);
  }

  /** Decides what to do with a request before it is applied; `command` is the command's bytes, for the digest. */
  check(request: SessionRequest, command: Uint8Array): SessionDecision {
    const key = request.kind === 'registered' ? request.id : request.clientId;
    const record = this.records.get(key);
    if (record === undefined) {
      return request.kind === 'registered' ? { kind: 'refuse', error: new SessionExpiredError(request.id, request.seq) } : { kind: 'apply' };
    }
    this.touch(key, record);
    if (request.seq > record.lastSeq) return { kind: 'apply' };
    if (request.seq < record.lastSeq) return { kind: 'refuse', error: new SessionStaleError(key, request.seq, record.lastSeq) };
    if (record.digest !== null && !sameDigest(record.digest, command)) return { kind: 'refuse', error: new SessionConflictError(key, request.seq) };
    return { kind: 'duplicate', outcome: replay(record.remembered) };
  }

  /**
   * Records the result of the request applied at `index` (after {@link check}
   * said `apply`) and returns what its proposer gets. A result msgpack cannot
   * encode is remembered as a failure: the proposer, and every retry, gets
   * {@link ResultNotEncodableError}, and no snapshot ever meets the value.
   */
  record(request: SessionRequest, command: Uint8Array, index: number, result: unknown): { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: KeelError } {
    const key = request.kind === 'registered' ? request.id : request.clientId;
    const previous = this.records.get(key);
    assert(request.kind === 'implicit' || previous !== undefined, () => `session ${key} applied a request without being registered`);
    assert(previous === undefined || request.seq > previous.lastSeq, () => `session ${key} applied seq ${request.seq} after ${previous?.lastSeq}`);
    const encoded = encodeResult(result);
    const remembered: Remembered = encoded.ok ? { kind: 'result', bytes: encoded.bytes } : { kind: 'notEncodable', index, reason: encoded.reason };
    this.touch(key, { lastSeq: request.seq, digest: digestOf(command), remembered });
    return encoded.ok ? { ok: true, result } : replay(remembered);
  }

  /** Encodes the table for a snapshot, in LRU order. */
  encode(): Uint8Array {
    const rows = [...this.records].map(([key, record]) => [key, record.lastSeq, record.digest?.crc ?? null, record.digest?.bytes ?? null, ...rememberedRow(record.remembered)]);
    return resultPackr.pack({ keelSessions: TABLE_FORMAT, rows });
  }

  /**
   * Replaces the table with one decoded from a snapshot. Reads both this
   * format and the implicit-session list of earlier versions (whose rows
   * become implicit sessions without a digest); anything else is corruption.
   */
  restore(bytes: Uint8Array): void {
    let value: unknown;
    try {
      value = resultPackr.unpack(bytes);
    } catch (error) {
      throw new CorruptionError('snapshot sessions', 'cannot decode the session table', { cause: error });
    }
    const rows = Array.isArray(value) ? value.map(implicitRow) : tableRows(value);
    this.records.clear();
    for (const [key, record] of rows) this.records.set(key, record);
    // Evicting here would make this node's table differ from its peers': every node must run with the same bound.
    if (this.records.size > this.maxSessions) throw new InvalidConfigError('limits.maxSessions', `the snapshot's session table holds ${this.records.size} sessions, over this node's ${this.maxSessions}; every node must use the same limit`);
  }

  /** Marks `key` most recently used, evicting the least recently used session beyond the bound. */
  private touch(key: SessionId | string, record: SessionRecord): void {
    this.records.delete(key);
    this.records.set(key, record);
    if (this.records.size > this.maxSessions) this.records.delete(this.records.keys().next().value!);
  }
}

function digestOf(command: Uint8Array): { readonly crc: number; readonly bytes: number } {
  return { crc: crc32Bytes(command, 0, command.byteLength, 0), bytes: command.byteLength };
}

function sameDigest(digest: { readonly crc: number; readonly bytes: number }, command: Uint8Array): boolean {
  return digest.bytes === command.byteLength && digest.crc === crc32Bytes(command, 0, command.byteLength, 0);
}

function replay(remembered: Remembered): { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: KeelError } {
  if (remembered.kind === 'notEncodable') return { ok: false, error: new ResultNotEncodableError(remembered.index, remembered.reason) };
  return { ok: true, result: remembered.kind === 'result' ? decodeResult(remembered.bytes) : undefined };
}

function rememberedRow(remembered: Remembered): unknown[] {
  if (remembered.kind === 'result') return [1, remembered.bytes];
  if (remembered.kind === 'notEncodable') return [2, remembered.index, remembered.reason];
  return [0];
}

/** Decodes the rows of a format-2 table. */
function tableRows(value: unknown): [SessionId | string, SessionRecord][] {
  const table = value as { keelSessions?: unknown; rows?: unknown } | null;
  if (typeof table !== 'object' || table === null || table.keelSessions !== TABLE_FORMAT || !Array.isArray(table.rows)) {
    throw new CorruptionError('snapshot sessions', `not a session table of format ${TABLE_FORMAT} (format ${String(table?.keelSessions)})`);
  }
  return (table.rows as unknown[]).map((row) => {
    if (!Array.isArray(row) || row.length < 5) throw new CorruptionError('snapshot sessions', 'malformed session row');
    const [key, lastSeq, crc, bytes, kind] = row as unknown[];
    const keyOk = typeof key === 'string' || (Number.isSafeInteger(key) && (key as number) >= 1);
    if (!keyOk || !Number.isSafeInteger(lastSeq) || (lastSeq as number) < 0) throw new CorruptionError('snapshot sessions', 'malformed session row');
    const digest = typeof crc === 'number' && typeof bytes === 'number' ? { crc, bytes } : null;
    return [key as SessionId | string, { lastSeq: lastSeq as number, digest, remembered: rememberedOf(kind, row as unknown[]) }];
  });
}

function rememberedOf(kind: unknown, row: readonly unknown[]): Remembered {
  if (kind === 0) return { kind: 'none' };
  if (kind === 1 && row[5] instanceof Uint8Array) return { kind: 'result', bytes: row[5] };
  if (kind === 2 && Number.isSafeInteger(row[5]) && typeof row[6] === 'string') return { kind: 'notEncodable', index: row[5] as number, reason: row[6] };
  throw new CorruptionError('snapshot sessions', `malformed remembered result (kind ${String(kind)})`);
}

/** A row `[clientId, seq, result]` of the implicit-session list that earlier versions wrote. */
function implicitRow(row: unknown): [string, SessionRecord] {
  if (!Array.isArray(row) || typeof row[0] !== 'string' || !Number.isSafeInteger(row[1])) {
    throw new CorruptionError('snapshot sessions', 'malformed session row in a table of the implicit-session format');
  }
  // The result was decoded from msgpack, so it encodes again.
  const encoded = encodeResult(row[2]);
  if (!encoded.ok) throw new CorruptionError('snapshot sessions', `a remembered result does not encode: ${encoded.reason}`);
  return [row[0], { lastSeq: row[1] as number, digest: null, remembered: { kind: 'result', bytes: encoded.bytes } }];
}
