/**
 * The KV service's HTTP API on Node's `http`: JSON bodies, UTF-8 string keys
 * and values. Any node accepts any request: writes are proposed through
 * `RaftNode.propose` (which forwards to the leader) and reads wait for a
 * linearizable read barrier (`RaftNode.read`, ReadIndex, also on followers).
 * The routes, status codes and guarantees are documented in docs/kv.md.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KeelError } from '../errors.js';
import type { RaftNode } from '../node/raft-node.js';
import { Session } from '../node/apply/session.js';
import type { Role } from '../core/types.js';
import { DEFAULT_KV_LIMITS, encodeKvCommand } from './commands.js';
import type { KvCommand, KvLimits, KvResult } from './commands.js';
import { MetricsRegistry } from './metrics.js';
import type { Counter, Histogram } from './metrics.js';
import type { KvStore } from './store.js';

/** One structured log record of the service. */
export interface KvLogRecord {
  /** The record's severity. */
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** What happened, in words. */
  readonly message: string;
  /** Structured fields of the event (method, path, status, duration…). */
  readonly [field: string]: unknown;
}

/** Bytes a transport has moved, for `/metrics`. */
export interface TransportCounters {
  /** Bytes sent to peers. */
  readonly sentBytes: number;
  /** Bytes received from peers. */
  readonly receivedBytes: number;
}

/** Options of {@link KvHttpApi}. */
export interface KvHttpApiOptions {
  /** The node the API proposes writes to and reads through. */
  readonly node: RaftNode<KvResult>;
  /** The node's state machine, read locally after a read barrier. */
  readonly store: KvStore;
  /** Largest key and value the API accepts (a longer key is a 400, a longer value a 413). @defaultValue {@link DEFAULT_KV_LIMITS} (keys 1,024 bytes, values 1 MiB) */
  readonly limits?: KvLimits;
  /** Deadline of one write or read, in milliseconds; past it the answer is 503. @defaultValue 5000 */
  readonly requestTimeoutMs?: number;
  /**
   * Deadline of one membership change (`/admin/members`), in milliseconds: a
   * new voter may need this long to catch up before its promotion. @defaultValue 60000
   */
  readonly adminTimeoutMs?: number;
  /** The transport's byte counters, when it keeps them. */
  readonly transportCounters?: () => TransportCounters;
  /** Where the API logs; nothing is logged when absent. */
  readonly log?: (record: KvLogRecord) => void;
}

/** An `Idempotency-Key`: `SESSION:SEQ`, a session id from `POST /sessions` and the request's sequence number in it. */
const IDEMPOTENCY_KEY = /^([1-9][0-9]{0,15}):([1-9][0-9]{0,15})$/;
const ROLES: readonly Role[] = ['follower', 'preCandidate', 'candidate', 'leader'];
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Route =
  | { readonly kind: 'key'; readonly key: string; readonly action: 'value' | 'append' | 'cas' }
  | { readonly kind: 'status' }
  | { readonly kind: 'members' }
  | { readonly kind: 'member'; readonly id: string }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'sessions' }
  | { readonly kind: 'session'; readonly id: number };

/** An answer to send: status, JSON body, extra headers. */
interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request that cannot be served as sent; becomes a 4xx reply. */
class RequestError extends Error {
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message);
  }
}

/**
 * Serves the KV HTTP API for one node. {@link KvHttpApi.handle} is a Node
 * `http` request listener; it never throws.
 */
export class KvHttpApi {
  /** The metrics `/metrics` renders; add your own families to it. */
  readonly metrics = new MetricsRegistry();
  private readonly limits: KvLimits;
  private readonly requestTimeoutMs: number;
  private readonly adminTimeoutMs: number;
  private readonly requests: Counter;
  private readonly proposals: Counter;
  private readonly applyLatency: Histogram;
  private readonly snapshots: Counter;

  /** The API of one node; serve it with {@link KvHttpServer.start} or call {@link KvHttpApi.handle} from your own server. */
  constructor(private readonly options: KvHttpApiOptions) {
    this.limits = options.limits ?? DEFAULT_KV_LIMITS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.adminTimeoutMs = options.adminTimeoutMs ?? 60_000;
    const { node } = options;
    const m = this.metrics;
    m.gauge('keel_role', 'The node\'s Raft role (1 for the current one).', () => {
      const role = node.status().role;
      return [...ROLES, 'stopped'].map((name) => [{ role: name }, name === role ? 1 : 0] as const);
    });
    m.gauge('keel_term', 'The node\'s current term.', () => [[{}, node.status().term]]);
    m.gauge('keel_commit_index', 'The highest log index known to be committed.', () => [[{}, node.status().commitIndex]]);
    m.gauge('keel_applied_index', 'The highest log index applied to the store.', () => [[{}, node.status().appliedIndex]]);
    m.gauge('keel_kv_keys', 'Keys in the local store.', () => [[{}, options.store.size]]);
    this.proposals = m.counter('keel_proposals_total', 'Writes proposed through this node, by outcome (ok, error).');
    this.applyLatency = m.histogram('keel_apply_latency_seconds', 'Time from proposing a write to its applied result on this node.', LATENCY_BUCKETS_SECONDS);
    this.snapshots = m.counter('keel_snapshots_total', 'Snapshots taken or installed by this node.');
    node.on('snapshot', () => this.snapshots.inc());
    if (options.transportCounters !== undefined) {
      const counters = options.transportCounters;
      m.sampledCounter('keel_transport_bytes_total', 'Bytes the transport sent and received.', () => {
        const { sentBytes, receivedBytes } = counters();
        return [[{ direction: 'sent' }, sentBytes], [{ direction: 'received' }, receivedBytes]];
      });
    }
    this.requests = m.counter('keel_http_requests_total', 'HTTP requests served, by route and status code.');
  }

  /** The request listener. */
  handle = (request: IncomingMessage, response: ServerResponse): void => {
    const abort = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) abort.abort();
    });
    this.serve(request, abort.signal).then(
      (reply) => this.send(request, response, reply),
      (error: unknown) => this.send(request, response, this.replyForError(request, error)),
    );
  };

  private async serve(request: IncomingMessage, signal: AbortSignal): Promise<Reply> {
    const route = parseRoute(request.url ?? '/');
    if (route === null) return { status: 404, body: { error: 'no_such_route', message: `no route for ${request.url ?? '/'}` } };
    const method = request.method ?? 'GET';
    const allowed = allowedMethods(route);
    if (!allowed.includes(method)) {
      request.resume();
      return { status: 405, body: { error: 'method_not_allowed', allowed }, headers: { allow: allowed.join(', ') } };
    }
    switch (route.kind) {
      case 'status':
        return { status: 200, body: this.status() };
      case 'metrics':
        return { status: 200, body: this.metrics.render(), headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } };
      case 'key':
        return this.serveKey(request, route.key, route.action, method, signal);
      case 'members':
        return this.addMember(await readJsonBody(request, 64 * 1024), signal);
      case 'member':
        request.resume();
        await this.options.node.removeMember(route.id, { timeoutMs: this.adminTimeoutMs, signal });
        return { status: 200, body: { ok: true, ...this.configuration() } };
      case 'sessions': {
        request.resume();
        const session = await this.options.node.openSession({ timeoutMs: this.requestTimeoutMs, signal });
        return { status: 201, body: { session: String(session.id) } };
      }
      case 'session':
        request.resume();
        await this.options.node.closeSession(new Session(route.id), { timeoutMs: this.requestTimeoutMs, signal });
        return { status: 200, body: { ok: true } };
    }
  }

  /** `POST /admin/members`: adds a voter (learner first, promoted once caught up) or a learner; on the leader only. */
  private async addMember(body: Record<string, unknown>, signal: AbortSignal): Promise<Reply> {
    const id = body['id'];
    const address = body['address'];
    const role = body['role'] ?? 'voter';
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new RequestError(400, 'invalid_request', 'field "id" must be a node id (1 to 256 characters)');
    if (typeof address !== 'string' || !/^.+:[0-9]{1,5}$/.test(address)) throw new RequestError(400, 'invalid_request', 'field "address" must be the new node\'s Raft address, HOST:PORT');
    if (role !== 'voter' && role !== 'learner') throw new RequestError(400, 'invalid_request', 'field "role" must be "voter" or "learner"');
    const options = { timeoutMs: this.adminTimeoutMs, signal };
    if (role === 'voter') await this.options.node.addVoter(id, address, options);
    else await this.options.node.addLearner(id, address, options);
    return { status: 200, body: { ok: true, ...this.configuration() } };
  }

  private configuration(): { members: readonly string[]; learners: readonly string[]; joint: { outgoingVoters: readonly string[] } | null } {
    const status = this.options.node.status();
    return { members: status.members, learners: status.learners, joint: status.joint };
  }

  private async serveKey(request: IncomingMessage, key: string, action: 'value' | 'append' | 'cas', method: string, signal: AbortSignal): Promise<Reply> {
    this.checkKey(key);
    if (action === 'value' && method === 'GET') {
      request.resume();
      await this.options.node.read({ timeoutMs: this.requestTimeoutMs, signal });
      const value = this.options.store.get(key);
      return value === null ? { status: 404, body: { error: 'not_found' } } : { status: 200, body: { value } };
    }
    const session = idempotencySession(request);
    if (action === 'value' && method === 'DELETE') {
      request.resume();
      await this.write({ op: 'delete', key }, session, signal);
      return { status: 200, body: { ok: true } };
    }
    const body = await readJsonBody(request, this.maxBodyBytes());
    const value = this.stringField(body, 'value');
    if (action === 'value') {
      await this.write({ op: 'put', key, value }, session, signal);
      return { status: 200, body: { ok: true } };
    }
    if (action === 'append') {
      await this.write({ op: 'append', key, value }, session, signal);
      return { status: 200, body: { ok: true } };
    }
    if (!('expect' in body)) throw new RequestError(400, 'invalid_request', 'missing field "expect" (a string, or null for an absent key)');
    const expect = body['expect'] === null ? null : this.stringField(body, 'expect');
    const result = await this.write({ op: 'cas', key, expect, value }, session, signal);
    if (typeof result !== 'object' || result === null) throw new Error(`cas answered ${JSON.stringify(result)}`);
    return result.status === 'swapped'
      ? { status: 200, body: { ok: true } }
      : { status: 409, body: { error: 'cas_mismatch', actual: result.actual } };
  }

  private async write(command: KvCommand, session: { readonly session: Session; readonly seq: number } | undefined, signal: AbortSignal): Promise<KvResult> {
    const started = performance.now();
    try {
      const result = await this.options.node.propose(encodeKvCommand(command), {
        timeoutMs: this.requestTimeoutMs,
        signal,
        ...session,
      });
      this.proposals.inc({ outcome: 'ok' });
      this.applyLatency.observe((performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.proposals.inc({ outcome: 'error' });
      throw error;
    }
  }

  private status(): Record<string, unknown> {
    const status = this.options.node.status();
    return {
      id: status.id,
      role: status.role,
      term: status.term,
      leader: status.leader,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      members: status.members,
      learners: status.learners,
      joint: status.joint,
      removed: status.removed,
    };
  }

  private checkKey(key: string): void {
    if (key.length === 0) throw new RequestError(400, 'invalid_key', 'the key must not be empty');
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > this.limits.maxKeyBytes) throw new RequestError(400, 'key_too_long', `the key is ${bytes} bytes, over the limit of ${this.limits.maxKeyBytes}`);
  }

  private stringField(body: Record<string, unknown>, name: string): string {
    const value = body[name];
    if (typeof value !== 'string') throw new RequestError(400, 'invalid_request', `field "${name}" must be a string`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > this.limits.maxValueBytes) throw new RequestError(413, 'too_large', `"${name}" is ${bytes} bytes, over the limit of ${this.limits.maxValueBytes}`);
    return value;
  }

  /** JSON may escape every character of a value as `\uXXXX` (6 bytes); a cas carries two values. */
  private maxBodyBytes(): number {
    return 2 * 6 * this.limits.maxValueBytes + 64 * 1024;
  }

  private replyForError(request: IncomingMessage, error: unknown): Reply {
    if (error instanceof RequestError) return { status: error.status, body: { error: error.error, message: error.message } };
    if (error instanceof KeelError) {
      switch (error.code) {
        case 'KEEL_NOT_LEADER':
          return { status: 503, body: { error: 'unavailable', message: error.message, leader: (error as KeelError & { leader: string | null }).leader } };
        case 'KEEL_CONF_CHANGE_IN_PROGRESS':
          return { status: 409, body: { error: 'change_in_progress', message: error.message } };
        case 'KEEL_UNKNOWN_MEMBER':
          return { status: 404, body: { error: 'unknown_member', message: error.message } };
        case 'KEEL_INVALID_CONF_CHANGE':
        case 'KEEL_INVALID_ARGUMENT':
          return { status: 400, body: { error: 'invalid_change', message: error.message } };
        case 'KEEL_TIMEOUT':
        case 'KEEL_ABORTED':
        case 'KEEL_LEADER_NOT_READY':
        case 'KEEL_PROPOSAL_LOST':
        case 'KEEL_PROPOSAL_DROPPED':
        case 'KEEL_NODE_CLOSED':
        case 'KEEL_NODE_FAILED':
          return { status: 503, body: { error: 'unavailable', message: error.message } };
        case 'KEEL_PROPOSAL_TOO_LARGE':
          return { status: 413, body: { error: 'too_large', message: error.message } };
        case 'KEEL_SESSION_EXPIRED':
          return { status: 410, body: { error: 'session_expired', message: `${error.message}. Whether an earlier attempt was applied is unknown: read the key, and open a new session with POST /sessions` } };
        case 'KEEL_SESSION_STALE':
          return { status: 409, body: { error: 'idempotency_key_stale', message: `${error.message}; the session's later request replaced its remembered result` } };
        case 'KEEL_SESSION_CONFLICT':
          return { status: 422, body: { error: 'idempotency_key_reused', message: error.message } };
        default:
          break;
      }
    }
    this.options.log?.({ level: 'error', message: 'request failed', method: request.method, url: request.url, error: describe(error) });
    return { status: 500, body: { error: 'internal', message: describe(error) } };
  }

  private send(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
    this.requests.inc({ route: routeLabel(request.url ?? '/'), code: String(reply.status) });
    if (response.destroyed) return;
    const text = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
    response.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      // A body left unread (refused as too large) cannot be skipped on a kept-alive connection.
      ...(request.complete ? {} : { connection: 'close' }),
      ...reply.headers,
    });
    response.end(text);
  }
}

/** Maps a URL to its route; null for an unknown path. Key segments are percent-decoded (`/` in a key is `%2F`). */
function parseRoute(url: string): Route | null {
  const path = url.split('?', 1)[0]!;
  if (path === '/status') return { kind: 'status' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === '/admin/members') return { kind: 'members' };
  if (path === '/sessions') return { kind: 'sessions' };
  if (path.startsWith('/sessions/')) {
    const segment = path.slice('/sessions/'.length);
    if (!/^[1-9][0-9]{0,15}$/.test(segment) || !Number.isSafeInteger(Number(segment))) throw new RequestError(400, 'invalid_session', 'the session id must be a positive integer from POST /sessions');
    return { kind: 'session', id: Number(segment) };
  }
  if (path.startsWith('/admin/members/')) {
    const segment = path.slice('/admin/members/'.length);
    if (segment.length === 0 || segment.includes('/')) return null;
    try {
      return { kind: 'member', id: decodeURIComponent(segment) };
    } catch {
      throw new RequestError(400, 'invalid_request', 'the member id is not valid percent-encoded UTF-8');
    }
  }
  const segments = path.split('/');
  if (segments[0] !== '' || segments[1] !== 'kv' || segments.length < 3 || segments.length > 4) return null;
  let key: string;
  try {
    key = decodeURIComponent(segments[2]!);
  } catch {
    throw new RequestError(400, 'invalid_key', 'the key is not valid percent-encoded UTF-8');
  }
  if (segments.length === 3) return { kind: 'key', key, action: 'value' };
  if (segments[3] === 'append' || segments[3] === 'cas') return { kind: 'key', key, action: segments[3] };
  return null;
}

/** The route's name for metrics: `kv_value`, `kv_append`, `kv_cas`, `status`, `metrics`, or `unknown`. */
function routeLabel(url: string): string {
  try {
    const route = parseRoute(url);
    if (route === null) return 'unknown';
    if (route.kind === 'key') return `kv_${route.action}`;
    if (route.kind === 'session') return 'session';
    return route.kind === 'member' ? 'admin_member' : route.kind === 'members' ? 'admin_members' : route.kind;
  } catch {
    return 'unknown';
  }
}

function allowedMethods(route: Route): readonly string[] {
  if (route.kind === 'members') return ['POST'];
  if (route.kind === 'member' || route.kind === 'session') return ['DELETE'];
  if (route.kind === 'sessions') return ['POST'];
  if (route.kind !== 'key') return ['GET'];
  return route.action === 'value' ? ['GET', 'PUT', 'DELETE'] : ['POST'];
}

/**
 * `Idempotency-Key: SESSION:SEQ` as a request of a registered session
 * (dissertation §6.3): the session from `POST /sessions`, the request's
 * sequence number in it. A retry sends the same key with the same body.
 */
function idempotencySession(request: IncomingMessage): { readonly session: Session; readonly seq: number } | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header[0]! : header;
  const match = IDEMPOTENCY_KEY.exec(key);
  const id = Number(match?.[1]);
  const seq = Number(match?.[2]);
  if (match === null || !Number.isSafeInteger(id) || !Number.isSafeInteger(seq)) {
    throw new RequestError(400, 'invalid_idempotency_key', 'Idempotency-Key must be SESSION:SEQ: a session id from POST /sessions and a positive sequence number, new for each write');
  }
  return { session: new Session(id), seq };
}

/** Reads and parses a JSON object body of at most `maxBytes`; 413 beyond it (without reading the rest), 400 when it is not a JSON object. */
async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new RequestError(413, 'too_large', `the body is ${declared} bytes, over the limit of ${maxBytes}`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw new RequestError(413, 'too_large', `the body is over the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'invalid_json', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'invalid_request', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
