/**
 * The sharded front's Prometheus registry: per group replica on this host,
 * per host, and the front's own counters.
 *
 * @packageDocumentation
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AuthRefusal } from './http-auth.js';
import type { ShardedKvHost, ShardReplica } from './sharded-host.js';

/** The registry `/metrics` renders, and the counter the front updates itself. */
export interface ShardedMetrics {
  /** Process, host and group metrics. */
  readonly registry: Registry;
  /** Counts a request refused for its token (`keel_http_auth_refusals_total{reason}`). */
  authRefused(reason: AuthRefusal): void;
}

/**
 * The sharded front's metrics on prom-client: the default process metrics,
 * per group replica on this host (label `group`) and per host, read when
 * scraped, and the front's refusals of requests without a fitting token.
 * Names are listed in docs/kv.md ("Sharded").
 */
export function shardedMetrics(host: ShardedKvHost, proxy: () => { proxied: number; proxyFailures: number }): ShardedMetrics {
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
  // The same name and labels as the single-group service's (metrics.ts), so one alert covers both.
  const authRefusals = new Counter({ name: 'keel_http_auth_refusals_total', help: 'HTTP requests refused before they ran: no token (missing), an unknown token (invalid), or a token without the scope the route needs (scope).', labelNames: ['reason'], registers });
  return { registry, authRefused: (reason) => authRefusals.inc({ reason }) };
}

function isQuiesced(host: ShardedKvHost, shard: string): boolean {
  return host.host.isQuiesced(shard);
}
