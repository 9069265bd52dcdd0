/**
 * The KV service's HTTP API on Node's `http` or `https`: JSON bodies, UTF-8
 * string keys and values. Any node accepts any request: writes are proposed
 * through `RaftNode.propose` (which forwards to the leader) and reads wait
 * for a linearizable read barrier (`RaftNode.read`, ReadIndex, also on
 * followers). With bearer tokens configured, every request must carry one
 * with the route's scope. The routes, scopes, status codes and guarantees are
 * documented in docs/kv.md.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { KeelError } from '../errors.js';
import type { RaftNode } from '../node/raft-node.js';
import { Session } from '../node/apply/session.js';
import { backupStream } from './backup-format.js';
import { DEFAULT_KV_LIMITS, encodeKvCommand } from './commands.js';
import type { KvCommand, KvLimits, KvResult } from './commands.js';
import { authRefusalReply } from './http-auth.js';
import type { HttpScope, HttpTokens } from './http-auth.js';
import { replyForKeelError } from './http-errors.js';
import { allowedMethods, parseRoute, RequestError, requiredScope, routeLabel } from './http-routes.js';
import { KvMetrics } from './metrics.js';
import type { TransportCounters } from './metrics.js';
import type { KvStore } from './store.js';

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
  /**
   * The bearer tokens clients must present (`Authorization: Bearer TOKEN`),
   * each with its scope. Absent: every request is served without one, which
   * is only safe on loopback.
   */
  readonly tokens?: HttpTokens;
  /**
   * The metrics registry `/metrics` renders. Absent: a new one with process
   * metrics. Either way the API watches `node` and `store` through it.
   */
  readonly metrics?: KvMetrics;
  /** The transport's byte counters, for a registry the API creates. */
  readonly transportCounters?: () => TransportCounters;
  /** Where the API logs (pino); nothing is logged when absent. */
  readonly logger?: Logger;
}

/** An `Idempotency-Key`: `SESSION:SEQ`, a session id from `POST /sessions` and the request's sequence number in it. */
const IDEMPOTENCY_KEY = /^([1-9][0-9]{0,15}):([1-9][0-9]{0,15})$/;

/** An answer to send: status, JSON or text body (or a byte stream), extra headers. */
interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent instead of `body`, chunk by chunk; `done` runs once it ended or failed. */
  readonly stream?: { readonly chunks: AsyncIterable<Uint8Array>; done(ok: boolean): void };
}

/**
 * Serves the KV HTTP API for one node. {@link KvHttpApi.handle} is a Node
 * `http` request listener; it never throws.
 */
export class KvHttpApi {
  /** The metrics `/metrics` renders; register your own on its `registry`. */
  readonly metrics: KvMetrics;
  private readonly limits: KvLimits;
  private readonly requestTimeoutMs: number;
  private readonly adminTimeoutMs: number;

  /** The API of one node; serve it with {@link KvHttpServer.start} or call {@link KvHttpApi.handle} from your own server. */
  constructor(private readonly options: KvHttpApiOptions) {
    this.limits = options.limits ?? DEFAULT_KV_LIMITS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.adminTimeoutMs = options.adminTimeoutMs ?? 60_000;
    this.metrics = options.metrics ?? new KvMetrics(options.transportCounters === undefined ? {} : { transportCounters: options.transportCounters });
    this.metrics.watch(options.node, options.store);
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
    const refused = this.authorize(request, requiredScope(route, method));
    if (refused !== null) return refused;
    const allowed = allowedMethods(route);
    if (!allowed.includes(method)) {
      request.resume();
      return { status: 405, body: { error: 'method_not_allowed', allowed }, headers: { allow: allowed.join(', ') } };
    }
    switch (route.kind) {
      case 'status':
        return { status: 200, body: this.status() };
      case 'metrics':
        return { status: 200, body: await this.metrics.render(), headers: { 'content-type': this.metrics.contentType } };
      case 'key':
        return this.serveKey(request, route.key, route.action, method, signal);
      case 'members':
        return this.addMember(await readJsonBody(request, 64 * 1024), signal);
      case 'member':
        request.resume();
        await this.options.node.removeMember(route.id, { timeoutMs: this.adminTimeoutMs, signal });
        return { status: 200, body: { ok: true, ...this.configuration() } };
      case 'backup':
        request.resume();
        return this.backup(signal);
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

  /**
   * Null when the request may go on: no tokens are configured, or it carries
   * one with `needed`'s scope. Otherwise the 401 (no or unknown token) or 403
   * (scope too weak) to answer, counted; the request's body is discarded
   * unparsed and the connection closed after the answer.
   */
  private authorize(request: IncomingMessage, needed: HttpScope): Reply | null {
    const tokens = this.options.tokens;
    if (tokens === undefined) return null;
    const refusal = tokens.authorize(request.headers.authorization, needed);
    if (refusal === null) return null;
    this.metrics.authRefused(refusal);
    request.resume();
    this.options.logger?.warn({ method: request.method, url: request.url, reason: refusal, remote: request.socket.remoteAddress }, 'request refused');
    return authRefusalReply(refusal, needed);
  }

  /**
   * `GET /admin/backup`: a consistent copy of the store in the backup format
   * (backup-format.ts). After a linearizable read barrier, the store is
   * captured (in O(1), copy-on-write) together with its applied index, in one
   * synchronous step, so the copy holds exactly the writes up to that index:
   * every write committed before the request, perhaps a few after.
   */
  private async backup(signal: AbortSignal): Promise<Reply> {
    await this.readBarrier(signal);
    const { node, store } = this.options;
    const appliedIndex = node.metrics().appliedIndex;
    const source = store.capture();
    const header = { format: 1, appliedIndex, keys: store.size, node: node.id, createdAt: new Date().toISOString() } as const;
    return {
      status: 200,
      body: null,
      headers: { 'content-type': 'application/octet-stream', 'x-keel-applied-index': String(appliedIndex) },
      stream: {
        chunks: backupStream(header, source.chunks()),
        done: (ok) => {
          source.release?.();
          this.metrics.backup(ok ? 'ok' : 'error');
          this.options.logger?.info({ appliedIndex, keys: header.keys, ok }, 'backup served');
        },
      },
    };
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
      await this.readBarrier(signal);
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
      this.metrics.proposal('ok', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.metrics.proposal('error');
      throw error;
    }
  }

  /** A linearizable read barrier (ReadIndex), counted. */
  private async readBarrier(signal: AbortSignal): Promise<void> {
    try {
      await this.options.node.read({ timeoutMs: this.requestTimeoutMs, signal });
      this.metrics.read('ok');
    } catch (error) {
      this.metrics.read('error');
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
      const reply = replyForKeelError(error);
      if (reply !== null) return reply;
    }
    this.options.logger?.error({ method: request.method, url: request.url, err: error }, 'request failed');
    return { status: 500, body: { error: 'internal', message: describe(error) } };
  }

  private send(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
    this.metrics.request(routeLabel(request.url ?? '/'), reply.status);
    if (response.destroyed) {
      reply.stream?.done(false);
      return;
    }
    if (reply.stream !== undefined) {
      this.sendStream(response, reply, reply.stream);
      return;
    }
    const text = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
    response.writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      // A body left unread (refused as too large, or unauthorized) cannot be skipped on a kept-alive connection.
      ...(request.complete ? {} : { connection: 'close' }),
      ...reply.headers,
    });
    response.end(text);
  }

  /** Streams a reply's chunks, waiting for the socket to drain; a failure mid-way cuts the connection, so the client sees a truncated body. */
  private sendStream(response: ServerResponse, reply: Reply, stream: NonNullable<Reply['stream']>): void {
    response.writeHead(reply.status, { ...reply.headers });
    void (async () => {
      try {
        for await (const chunk of stream.chunks) {
          if (response.destroyed) throw new Error('the client went away');
          if (!response.write(chunk)) await new Promise<void>((resolve) => response.once('drain', resolve).once('close', resolve));
        }
        response.end();
        stream.done(true);
      } catch (error) {
        this.options.logger?.warn({ err: error }, 'stream failed');
        response.destroy();
        stream.done(false);
      }
    })();
  }
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
