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
import { TransportIOError } from '../errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeId } from '../core/types.js';
import type { RaftNode } from '../node/raft-node.js';
import type { KvResult } from './commands.js';
import type { KvLogRecord } from './http-api.js';
import type { ShardedKvHost } from './sharded-host.js';

/** Options of {@link ShardedKvHttpApi}. */
export interface ShardedKvHttpApiOptions {
  readonly host: ShardedKvHost;
  /** The HTTP base URL of every other host (`http://127.0.0.1:8002`), for requests this host cannot serve. */
  readonly peerUrls: ReadonlyMap<NodeId, string>;
  /** Deadline of a proxied request, in milliseconds; past it the answer is 503 (outcome unknown). @defaultValue 5000 */
  readonly proxyTimeoutMs?: number;
  readonly log?: (record: KvLogRecord) => void;
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
  private proxied = 0;
  private proxyFailures = 0;

  constructor(private readonly options: ShardedKvHttpApiOptions) {}

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
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        response.end(this.metrics());
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
            this.options.log?.({ level: 'warn', message: 'host refused the proxied request; trying the next', target, shard });
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

  private metrics(): string {
    const { host } = this.options;
    const stats = host.host.stats();
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, samples: readonly (readonly [string, number])[]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const groups = [...host.localReplicas().values()];
    const label = (shard: string): string => `{group="${shard}"}`;
    family('keel_group_leader', 'gauge', 'Whether this host\'s replica of the group leads it (1) or not (0).', groups.map((g) => [label(g.shard), g.node.status().role === 'leader' ? 1 : 0]));
    family('keel_group_term', 'gauge', 'The group replica\'s current term.', groups.map((g) => [label(g.shard), g.node.status().term]));
    family('keel_group_commit_index', 'gauge', 'The group replica\'s commit index.', groups.map((g) => [label(g.shard), g.node.status().commitIndex]));
    family('keel_group_applied_index', 'gauge', 'The group replica\'s applied index.', groups.map((g) => [label(g.shard), g.node.status().appliedIndex]));
    family('keel_group_keys', 'gauge', 'Keys in the group replica\'s store.', groups.map((g) => [label(g.shard), g.store.size]));
    family('keel_group_quiesced', 'gauge', 'Whether the group replica is quiesced (1) or awake (0).', groups.map((g) => [label(g.shard), isQuiesced(host, g.shard) ? 1 : 0]));
    family('keel_host_groups', 'gauge', 'Group replicas on this host.', [['', stats.groups]]);
    family('keel_host_rounds_total', 'counter', 'Rounds of the host loop.', [['', stats.loop.rounds]]);
    family('keel_host_batches_sent_total', 'counter', 'Group batches sent to peer hosts.', [['', stats.transport.batchesSent]]);
    family('keel_host_group_messages_sent_total', 'counter', 'Group messages sent inside those batches.', [['', stats.transport.itemsSent]]);
    family('keel_host_unknown_group_total', 'counter', 'Messages refused for a group this host does not hold.', [['', stats.transport.unknownGroup]]);
    family('keel_http_proxied_total', 'counter', 'Key requests proxied to another host.', [['', this.proxied]]);
    family('keel_http_proxy_failures_total', 'counter', 'Key requests no host holding the shard answered.', [['', this.proxyFailures]]);
    return `${lines.join('\n')}\n`;
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
  readonly api: ShardedKvHttpApi;
  close(): Promise<void>;
}

/**
 * Serves `api` on `listen` (port 0 picks a free one). Rejects with
 * `TransportIOError` when the address cannot be bound.
 */
export async function startShardedHttp(api: ShardedKvHttpApi, listen: { readonly host: string; readonly port: number }): Promise<ShardedHttpServer> {
  const server = createServer(api.handle);
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    const refused = (error: Error): void => reject(new TransportIOError(`cannot listen on ${listen.host}:${listen.port}: ${error.message}`, { cause: error }));
    server.once('error', refused);
    server.listen(listen.port, listen.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
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
