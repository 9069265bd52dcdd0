/**
 * The HTTP front of the sharded key-value service: any host accepts any
 * key. A key's request goes to this host's replica of the key's shard when it
 * holds one (its `KvHttpApi`, which forwards writes to the shard's leader and
 * reads through ReadIndex like the unsharded service), and otherwise is
 * proxied, once, to a host that does. `/shards` shows the placement,
 * `/status` the host, `/metrics` per-group figures. docs/kv.md, "Sharded".
 *
 * @packageDocumentation
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenHttp } from './service.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { NodeId } from '../core/types.js';
import type { RaftNode } from '../node/raft-node.js';
import type { KvResult } from './commands.js';
import type { ShardedKvHost, ShardReplica } from './sharded-host.js';

/** Options of {@link ShardedKvHttpApi}. */
export interface ShardedKvHttpApiOptions {
  /** The host whose shard replicas this front serves. */
  readonly host: ShardedKvHost;
  /** The HTTP base URL of every other host (`http://127.0.0.1:8002`), for requests this host cannot serve; `POST /admin/hosts` updates it. */
  readonly peerUrls: Map<NodeId, string>;
  /** Deadline of a proxied request, in milliseconds; past it the answer is 503 (outcome unknown). @defaultValue 5000 */
  readonly proxyTimeoutMs?: number;
  /** Where the front logs (pino); nothing is logged when absent. */
  readonly logger?: Logger;
}

/** Set on a proxied request, so that it is never proxied again (no loops while hosts disagree). */
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
  private proxied = 0;
  private proxyFailures = 0;

  /** A front for `options.host`; serve it with {@link startShardedHttp} or any `http` server. */
  constructor(private readonly options: ShardedKvHttpApiOptions) {
    this.registry = shardedMetrics(options.host, () => ({ proxied: this.proxied, proxyFailures: this.proxyFailures }));
  }

  /** The request listener. */
  handle = (request: IncomingMessage, response: ServerResponse): void => {
    try {
      this.route(request, response);
    } catch (error) {
      this.reply(response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) });
    }
  };

  private route(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path.startsWith('/kv/')) {
      this.serveKey(request, response, path);
      return;
    }
    if (path === '/admin/hosts' && request.method === 'POST') {
      this.setHosts(request, response);
      return;
    }
    if (request.method !== 'GET') {
      this.reply(response, path === '/shards' || path === '/status' || path === '/metrics' ? 405 : 404, {
        error: 'no_such_route',
        message: `${request.method ?? '?'} ${path} is not served by a sharded node (sessions and /admin/members are per shard: not available with --shards)`,
      });
      return;
    }
    switch (path) {
      case '/shards':
        this.reply(response, 200, this.shards());
        return;
      case '/status':
        this.reply(response, 200, this.status());
        return;
      case '/metrics':
        this.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': this.registry.contentType });
            response.end(text);
          },
          (error: unknown) => this.reply(response, 500, { error: 'internal', message: error instanceof Error ? error.message : String(error) }),
        );
        return;
      default:
        this.reply(response, 404, { error: 'no_such_route', message: `no route for ${path}` });
    }
  }

  private serveKey(request: IncomingMessage, response: ServerResponse, path: string): void {
    const segment = path.slice('/kv/'.length).split('/')[0] ?? '';
    let key: string;
    try {
      key = decodeURIComponent(segment);
    } catch {
      this.reply(response, 400, { error: 'bad_key', message: 'the key is not valid percent-encoding' });
      return;
    }
    const { host } = this.options;
    const shard = host.shardMap.shardOf(key);
    response.setHeader(SHARD_HEADER, shard);
    const local = host.replica(shard);
    if (local !== undefined && servesLocally(local.node, host.host.hostId)) {
      local.api.handle(request, response);
      return;
    }
    if (request.headers[HOP_HEADER] !== undefined) {
      // Sent here by a host whose layout places the shard here, but this host's replica is not a member
      // (yet, or any more, while replicas move). Nothing was done: the sender may try another host.
      response.setHeader(NOT_HERE_HEADER, '1');
      this.reply(response, 503, { error: 'shard_not_here', message: `this host serves no replica of ${shard} now; retry on one of ${host.shardMap.placement(shard).join(', ')}` });
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
          this.reply(response, 503, { error: 'shard_unreachable', message: `no host holding ${shard} answered` });
          return;
        }
        this.proxied++;
        const url = new URL(request.url ?? '/', this.options.peerUrls.get(target)!);
        const headers = { ...request.headers, [HOP_HEADER]: this.options.host.host.hostId, host: url.host };
        const outbound = httpRequest(url, { method: request.method, headers, timeout: this.options.proxyTimeoutMs ?? 5000 }, (answer) => {
          if (answer.headers[NOT_HERE_HEADER] !== undefined) {
            // That host did nothing with the request: the next one may take it.
            answer.resume();
            attempt(index + 1);
            return;
          }
          response.writeHead(answer.statusCode ?? 502, { ...answer.headers, [SHARD_HEADER]: shard });
          answer.pipe(response);
        });
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
          this.reply(response, 503, { error: 'shard_unavailable', message: `the host holding ${shard} did not answer (${error.message}); the outcome is unknown` });
        });
        outbound.end(body);
      };
      attempt(0);
    });
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
        this.reply(response, 400, { error: 'bad_hosts', message: error instanceof Error ? error.message : String(error) });
        return;
      }
      const self = this.options.host.host.hostId;
      for (const [id, address] of hosts) if (id !== self) this.options.peerUrls.set(id, `http://${address.http}`);
      this.options.host.setHosts(new Map([...hosts].map(([id, address]) => [id, address.raft]))).then(
        () => this.reply(response, 200, { hosts: [...hosts.keys()].sort(), replicasHere: this.options.host.localReplicas().size }),
        (error: unknown) => this.reply(response, 400, { error: 'bad_hosts', message: error instanceof Error ? error.message : String(error) }),
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
          local: status === undefined ? null : { role: status.role, leader: status.leader, term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex, keys: local!.store.size, quiesced: isQuiesced(host, shard) },
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

  private reply(response: ServerResponse, status: number, body: unknown): void {
    if (response.headersSent) {
      response.end();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}

/**
 * The sharded front's metrics on prom-client: the default process metrics,
 * and per group replica on this host (label `group`) and per host, read
 * when scraped. Names are listed in docs/kv.md ("Sharded").
 */
function shardedMetrics(host: ShardedKvHost, proxy: () => { proxied: number; proxyFailures: number }): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const perGroup = (name: string, help: string, read: (replica: ShardReplica) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        for (const replica of host.localReplicas().values()) this.set({ group: replica.shard }, read(replica));
      },
    });
  };
  perGroup('keel_group_leader', 'Whether this host\'s replica of the group leads it (1) or not (0).', (g) => (g.node.metrics().role === 'leader' ? 1 : 0));
  perGroup('keel_group_term', 'The group replica\'s current term.', (g) => g.node.metrics().term);
  perGroup('keel_group_commit_index', 'The group replica\'s commit index.', (g) => g.node.metrics().commitIndex);
  perGroup('keel_group_applied_index', 'The group replica\'s applied index.', (g) => g.node.metrics().appliedIndex);
  perGroup('keel_group_keys', 'Keys in the group replica\'s store.', (g) => g.store.size);
  perGroup('keel_group_quiesced', 'Whether the group replica is quiesced (1) or awake (0).', (g) => (isQuiesced(host, g.shard) ? 1 : 0));
  new Gauge({ name: 'keel_host_groups', help: 'Group replicas on this host.', registers, collect() { this.set(host.host.stats().groups); } });
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
  };
  counter('keel_host_rounds_total', 'Rounds of the host loop.', () => host.host.stats().loop.rounds);
  counter('keel_host_batches_sent_total', 'Group batches sent to peer hosts.', () => host.host.stats().transport.batchesSent);
  counter('keel_host_group_messages_sent_total', 'Group messages sent inside those batches.', () => host.host.stats().transport.itemsSent);
  counter('keel_host_unknown_group_total', 'Messages refused for a group this host does not hold.', () => host.host.stats().transport.unknownGroup);
  counter('keel_http_proxied_total', 'Key requests proxied to another host.', () => proxy().proxied);
  counter('keel_http_proxy_failures_total', 'Key requests no host holding the shard answered.', () => proxy().proxyFailures);
  return registry;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]/]+):(\d{1,5})$/;

/** Checks `POST /admin/hosts`'s body: host ids mapped to their Raft and HTTP `HOST:PORT`. Throws with what is wrong. */
function parseHostList(body: unknown): Map<string, { raft: string; http: string }> {
  const hosts = (body as { hosts?: unknown } | null)?.hosts;
  if (typeof hosts !== 'object' || hosts === null || Array.isArray(hosts)) throw new Error('the body must be {"hosts": {"ID": {"raft": "HOST:PORT", "http": "HOST:PORT"}}}');
  const result = new Map<string, { raft: string; http: string }>();
  for (const [id, value] of Object.entries(hosts as Record<string, unknown>)) {
    const { raft, http } = (value ?? {}) as { raft?: unknown; http?: unknown };
    if (id.length === 0 || typeof raft !== 'string' || typeof http !== 'string' || !HOST_PORT.test(raft) || !HOST_PORT.test(http)) {
      throw new Error(`host ${JSON.stringify(id)} needs "raft" and "http" addresses as HOST:PORT`);
    }
    result.set(id, { raft, http });
  }
  if (result.size === 0) throw new Error('the host list is empty');
  return result;
}

/** A local replica serves requests while it is a member of its shard (not while it waits to be added, nor once removed). */
function servesLocally(node: RaftNode<KvResult>, self: NodeId): boolean {
  const status = node.status();
  return !status.removed && (status.members.includes(self) || status.learners.includes(self));
}

function isQuiesced(host: ShardedKvHost, shard: string): boolean {
  return host.host.isQuiesced(shard);
}

/** A running HTTP server of the sharded API. */
export interface ShardedHttpServer {
  /** The base URL, e.g. `http://127.0.0.1:8001`. */
  readonly url: string;
  /** The API it serves. */
  readonly api: ShardedKvHttpApi;
  /** Stops accepting connections; resolves when every connection is gone. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `api` on `listen` (port 0 picks a free one). Rejects with
 * `TransportIOError` when the address cannot be bound.
 */
export async function startShardedHttp(api: ShardedKvHttpApi, listen: { readonly host: string; readonly port: number }): Promise<ShardedHttpServer> {
  const server = createServer(api.handle);
  await listenHttp(server, listen);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
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
