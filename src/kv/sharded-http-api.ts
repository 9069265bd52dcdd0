/**
 * The HTTP front of the sharded key-value service: any host accepts any
 * key. A key's request goes to this host's replica of the key's shard when it
 * holds one (its `KvHttpApi`, which forwards writes to the shard's leader and
 * reads through ReadIndex like the unsharded service), and otherwise is
 * proxied, once, to a host that does. `/shards` shows the placement,
 * `/status` the host, `/metrics` per-group figures. With bearer tokens, every
 * request needs one with the route's scope, here and again on the host it is
 * proxied to; HTTPS optional. docs/kv.md, "Sharded".
 *
 * @packageDocumentation
 */
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeId } from '../core/types.js';
import type { RaftNode } from '../node/raft-node.js';
import type { KvResult } from './commands.js';
import { authRefusalReply } from './http-auth.js';
import type { HttpScope, HttpTokens } from './http-auth.js';
import { RequestError } from './http-routes.js';
import { createKvServer, listenHttp, serverUrl } from './service.js';
import type { HttpListenOptions } from './service.js';
import type { ShardedKvHost } from './sharded-host.js';
import { shardedMetrics } from './sharded-metrics.js';
import type { ShardedMetrics } from './sharded-metrics.js';
import { parseHostList, parseShardedRoute, shardedAllowedMethods, shardedRequiredScope } from './sharded-routes.js';

/** Options of {@link ShardedKvHttpApi}. */
export interface ShardedKvHttpApiOptions {
  /** The host whose shard replicas this front serves. */
  readonly host: ShardedKvHost;
  /**
   * The HTTP base URL of every other host's front (`http://127.0.0.1:8002`,
   * or `https://...` when the fronts serve HTTPS), for requests this host
   * cannot serve; `POST /admin/hosts` updates it.
   */
  readonly peerUrls: Map<NodeId, string>;
  /**
   * The bearer tokens clients must present, each with its scope, checked as
   * the single-group API checks them (docs/kv.md, "Authentication and
   * HTTPS"). A proxied request carries the client's own token, which the
   * next host checks again. Absent: every request is served without one,
   * which is only safe on loopback. Give every host the same tokens.
   */
  readonly tokens?: HttpTokens;
  /**
   * The other hosts' fronts serve HTTPS: proxy to them over HTTPS (and name
   * the hosts of `POST /admin/hosts` with `https://`), trusting `ca` (PEM),
   * or the system's CAs when `ca` is absent. Absent: peers speak plain HTTP.
   */
  readonly peerTls?: {
    /** The CA certificate(s), PEM, that signed the other fronts' certificates. @defaultValue the system's CAs */
    readonly ca?: string | Buffer;
  };
  /** Deadline of a proxied request, in milliseconds; past it the answer is 503 (outcome unknown). @defaultValue 5000 */
  readonly proxyTimeoutMs?: number;
  /** Where the front logs (pino); nothing is logged when absent. */
  readonly logger?: Logger;
}

/** Set on a proxied request, so that it is never proxied again (no loops while hosts disagree). It grants nothing. */
const HOP_HEADER = 'x-keel-proxied';
/** Set on a refusal that did nothing: the host serves no replica of the shard, and another may. */
const NOT_HERE_HEADER = 'x-keel-not-here';
/** Names the shard that served a key request, on every answer to one. */
export const SHARD_HEADER = 'x-keel-shard';

class ProxyTimeout extends Error {
  constructor() {
    super('proxy timeout');
  }
}

/** Serves the sharded API; {@link ShardedKvHttpApi.handle} is a Node `http` request listener that never throws. */
export class ShardedKvHttpApi {
  /** The prom-client registry `/metrics` renders: process metrics and the host's and groups' (see `shardedMetrics`). */
  readonly registry: Registry;
  private readonly metrics: ShardedMetrics;
  private proxied = 0;
  private proxyFailures = 0;

  /** A front for `options.host`; serve it with {@link startShardedHttp} or any `http` or `https` server. */
  constructor(private readonly options: ShardedKvHttpApiOptions) {
    this.metrics = shardedMetrics(options.host, () => ({ proxied: this.proxied, proxyFailures: this.proxyFailures }));
    this.registry = this.metrics.registry;
  }

  /** The request listener. */
  handle = (request: IncomingMessage, response: ServerResponse): void => {
    try {
      this.route(request, response);
    } catch (error) {
      request.resume();
      if (error instanceof RequestError) this.reply(request, response, error.status, { error: error.error, message: error.message });
      else this.reply(request, response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) });
    }
  };

  /** As the single-group API: an unknown path is a 404, then the token is checked, then the method. */
  private route(request: IncomingMessage, response: ServerResponse): void {
    const route = parseShardedRoute(request.url ?? '/');
    if (route === null) {
      request.resume();
      const path = (request.url ?? '/').split('?', 1)[0]!;
      this.reply(request, response, 404, { error: 'no_such_route', message: `no route for ${path} on a sharded node (sessions and /admin/members are per shard: not available with --shards)` });
      return;
    }
    const method = request.method ?? 'GET';
    if (!this.authorized(request, response, shardedRequiredScope(route, method))) return;
    const allowed = shardedAllowedMethods(route);
    if (!allowed.includes(method)) {
      request.resume();
      this.reply(request, response, 405, { error: 'method_not_allowed', allowed }, { allow: allowed.join(', ') });
      return;
    }
    switch (route.kind) {
      case 'key':
        this.serveKey(request, response, route.key);
        return;
      case 'hosts':
        this.setHosts(request, response);
        return;
      case 'shards':
        this.reply(request, response, 200, this.shards());
        return;
      case 'status':
        this.reply(request, response, 200, this.status());
        return;
      case 'metrics':
        this.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': this.registry.contentType });
            response.end(text);
          },
          (error: unknown) => this.reply(request, response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) }),
        );
        return;
    }
  }

  /**
   * True when the request may go on: no tokens are configured, or it carries
   * one with `needed`'s scope. Otherwise answers the single-group API's 401
   * or 403, counted and logged, without reading the body.
   */
  private authorized(request: IncomingMessage, response: ServerResponse, needed: HttpScope): boolean {
    const tokens = this.options.tokens;
    if (tokens === undefined) return true;
    const refusal = tokens.authorize(request.headers.authorization, needed);
    if (refusal === null) return true;
    this.metrics.authRefused(refusal);
    request.resume();
    this.options.logger?.warn({ method: request.method, url: request.url, reason: refusal, remote: request.socket.remoteAddress, proxiedBy: request.headers[HOP_HEADER] }, 'request refused');
    const answer = authRefusalReply(refusal, needed);
    this.reply(request, response, answer.status, answer.body, answer.headers);
    return false;
  }

  private serveKey(request: IncomingMessage, response: ServerResponse, key: string): void {
    const { host } = this.options;
    const shard = host.shardMap.shardOf(key);
    response.setHeader(SHARD_HEADER, shard);
    const local = host.replica(shard);
    if (local !== undefined && servesLocally(local.node, host.host.hostId)) {
      // The shard's API checks no tokens: this front has checked the request's.
      local.api.handle(request, response);
      return;
    }
    if (request.headers[HOP_HEADER] !== undefined) {
      // Sent here by a host whose layout places the shard here, but this host's replica is not a member
      // (yet, or any more, while replicas move). Nothing was done: the sender may try another host.
      request.resume();
      response.setHeader(NOT_HERE_HEADER, '1');
      this.reply(request, response, 503, { error: 'shard_not_here', message: `this host serves no replica of ${shard} now; retry on one of ${host.shardMap.placement(shard).join(', ')}` });
      return;
    }
    // The layout's hosts first; then the others, which may still hold a replica while replicas move.
    const placement = host.shardMap.placement(shard);
    const others = [...this.options.peerUrls.keys()].filter((id) => !placement.includes(id)).sort();
    const targets = [...placement, ...others].filter((id) => id !== host.host.hostId && this.options.peerUrls.has(id));
    this.proxy(request, response, shard, targets);
  }

  /** Sends the request to the first target that answers; the body is buffered once so it can be resent. */
  private proxy(request: IncomingMessage, response: ServerResponse, shard: string, targets: readonly NodeId[]): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (index: number): void => {
        const target = targets[index];
        if (target === undefined) {
          this.proxyFailures++;
          this.reply(request, response, 503, { error: 'shard_unreachable', message: `no host holding ${shard} answered` });
          return;
        }
        this.proxied++;
        const onAnswer = (answer: IncomingMessage): void => {
          if (answer.headers[NOT_HERE_HEADER] !== undefined) {
            // That host did nothing with the request: the next one may take it.
            answer.resume();
            attempt(index + 1);
            return;
          }
          response.writeHead(answer.statusCode ?? 502, { ...answer.headers, [SHARD_HEADER]: shard });
          answer.pipe(response);
        };
        let outbound: ClientRequest;
        try {
          outbound = this.send(new URL(request.url ?? '/', this.options.peerUrls.get(target)!), request, onAnswer);
        } catch (error) {
          // A peer URL or header node:http refuses: nothing was sent, and the client must still get an answer.
          this.proxyFailures++;
          this.reply(request, response, 500, { error: 'internal', message: `cannot send to ${target}: ${error instanceof Error ? error.message : String(error)}` });
          return;
        }
        outbound.on('timeout', () => outbound.destroy(new ProxyTimeout()));
        outbound.on('error', (error: NodeJS.ErrnoException) => {
          if (response.headersSent) {
            response.destroy(error);
            return;
          }
          // Only a refused connection proves the request never reached the host: then another host may take it.
          // After a timeout or a reset the write may have been applied, and sending it again could apply it twice.
          if (error.code === 'ECONNREFUSED') {
            this.options.logger?.warn({ target, shard }, 'host refused the proxied request; trying the next');
            attempt(index + 1);
            return;
          }
          this.proxyFailures++;
          this.reply(request, response, 503, { error: 'shard_unavailable', message: `the host holding ${shard} did not answer (${error.message}); the outcome is unknown` });
        });
        outbound.end(body);
      };
      attempt(0);
    });
  }

  /**
   * Starts the request to another host's front, over HTTPS for an `https:`
   * URL (trusting `peerTls.ca`). It carries the client's headers as sent, its
   * `Authorization` included, and adds only the hop header: the next host
   * checks the client's own token, so a proxied request never has more
   * authority than its client.
   */
  private send(url: URL, request: IncomingMessage, onAnswer: (answer: IncomingMessage) => void): ClientRequest {
    const headers = { ...request.headers, [HOP_HEADER]: this.options.host.host.hostId, host: url.host };
    const options = { method: request.method, headers, timeout: this.options.proxyTimeoutMs ?? 5000 };
    if (url.protocol !== 'https:') return httpRequest(url, options, onAnswer);
    const ca = this.options.peerTls?.ca;
    return httpsRequest(url, { ...options, minVersion: 'TLSv1.2', ...(ca === undefined ? {} : { ca }) }, onAnswer);
  }

  /**
   * `POST /admin/hosts {"hosts": {"ID": {"raft": "HOST:PORT", "http": "HOST:PORT"}, ...}}`:
   * the cluster's new host list, to send to every host, old and new (docs/kv.md, "Sharded").
   */
  private setHosts(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      let hosts: Map<string, { raft: string; http: string }>;
      try {
        if (size > 1024 * 1024) throw new Error('the body is over 1 MiB');
        hosts = parseHostList(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch (error) {
        this.reply(request, response, 400, { error: 'bad_hosts', message: error instanceof Error ? error.message : String(error) });
        return;
      }
      const self = this.options.host.host.hostId;
      const scheme = this.options.peerTls === undefined ? 'http' : 'https';
      for (const [id, address] of hosts) if (id !== self) this.options.peerUrls.set(id, `${scheme}://${address.http}`);
      this.options.host.setHosts(new Map([...hosts].map(([id, address]) => [id, address.raft]))).then(
        () => this.reply(request, response, 200, { hosts: [...hosts.keys()].sort(), replicasHere: this.options.host.localReplicas().size }),
        (error: unknown) => this.reply(request, response, 400, { error: 'bad_hosts', message: error instanceof Error ? error.message : String(error) }),
      );
    });
  }

  private shards(): Record<string, unknown> {
    const { host } = this.options;
    const map = host.shardMap;
    return {
      host: host.host.hostId,
      hosts: map.hosts(),
      replicas: map.replicas,
      shards: map.shardIds().map((shard) => {
        const local = host.replica(shard);
        const status = local?.node.status();
        return {
          id: shard,
          placement: map.placement(shard),
          local: status === undefined ? null : { role: status.role, leader: status.leader, term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex, keys: local!.store.size, quiesced: host.host.isQuiesced(shard) },
        };
      }),
    };
  }

  private status(): Record<string, unknown> {
    const { host } = this.options;
    const stats = host.host.stats();
    let leading = 0;
    for (const replica of host.localReplicas().values()) if (replica.node.status().role === 'leader') leading++;
    return {
      host: host.host.hostId,
      shards: host.shardMap.shards,
      replicasHere: host.localReplicas().size,
      leadingHere: leading,
      failedGroups: [...host.host.failedGroups().keys()],
      quiesced: stats.quiescence.quiesced,
      proxied: this.proxied,
    };
  }

  private reply(request: IncomingMessage, response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
    if (response.headersSent) {
      response.end();
      return;
    }
    response.writeHead(status, {
      'content-type': 'application/json',
      // A body left unread (a refused request) cannot be skipped on a kept-alive connection.
      ...(request.complete ? {} : { connection: 'close' }),
      ...headers,
    });
    response.end(JSON.stringify(body));
  }
}

/** A local replica serves requests while it is a member of its shard (not while it waits to be added, nor once removed). */
function servesLocally(node: RaftNode<KvResult>, self: NodeId): boolean {
  const status = node.status();
  return !status.removed && (status.members.includes(self) || status.learners.includes(self));
}

/** A running HTTP server of the sharded API. */
export interface ShardedHttpServer {
  /** The base URL, e.g. `http://127.0.0.1:8001`, or `https://...` when serving HTTPS. */
  readonly url: string;
  /** The API it serves. */
  readonly api: ShardedKvHttpApi;
  /** Stops accepting connections; resolves when every connection is gone. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `api` on `listen` (port 0 picks a free one), over HTTPS when
 * `listen.tls` gives a certificate and key, as `KvHttpServer` does. Rejects
 * with `TransportIOError` when the address cannot be bound; a bad
 * certificate or key rejects from `node:tls` before listening.
 */
export async function startShardedHttp(api: ShardedKvHttpApi, listen: HttpListenOptions): Promise<ShardedHttpServer> {
  const server = createKvServer(api.handle, listen.tls);
  await listenHttp(server, listen);
  const url = serverUrl(server, listen.tls !== undefined);
  let closing: Promise<void> | null = null;
  return {
    url,
    api,
    close: () => (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    })),
  };
}
