/**
 * The service's Prometheus metrics on prom-client: Keel's families read from
 * RaftNode.metrics() and counted as the service works, the process metrics
 * prom-client gives, the storage wrappers that time writes and snapshots,
 * and the promise that every keel_* name is listed in docs/kv.md.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeKvCommand } from '../../src/kv/commands.js';
import { MeasuredSnapshotStore, TimedLogStorage } from '../../src/kv/instrumented-storage.js';
import { KvMetrics } from '../../src/kv/metrics.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';

/** Every sample line `name{labels} value` of an exposition, by series. */
function samples(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
}

describe('KvMetrics', () => {
  let cluster: KvTestCluster;
  let leader: string;
  beforeAll(async () => {
    cluster = await startKvCluster(3);
    leader = await cluster.leader();
  });
  afterAll(() => cluster.close());

  it('reads role, term, indexes and the store from the node on every scrape, and counts writes and reads', async () => {
    const node = cluster.nodes.get(leader)!;
    const metrics = new KvMetrics({ processMetrics: false });
    metrics.watch(node, cluster.stores.get(leader)!);
    await node.propose(encodeKvCommand({ op: 'put', key: 'k', value: 'v' }));
    metrics.proposal('ok', 0.003);
    metrics.proposal('error');
    metrics.read('ok');
    const values = samples(await metrics.render());
    const status = node.status();
    expect(values.get('keel_role{role="leader"}')).toBe(1);
    expect(values.get('keel_role{role="follower"}')).toBe(0);
    expect(values.get('keel_term')).toBe(status.term);
    expect(values.get('keel_commit_index')).toBe(status.commitIndex);
    expect(values.get('keel_applied_index')).toBe(status.appliedIndex);
    expect(values.get('keel_last_index')).toBeGreaterThanOrEqual(status.commitIndex);
    expect(values.get('keel_kv_keys')).toBe(1);
    expect(values.get('keel_proposals_total{outcome="ok"}')).toBe(1);
    expect(values.get('keel_proposals_total{outcome="error"}')).toBe(1);
    expect(values.get('keel_reads_total{outcome="ok"}')).toBe(1);
    expect(values.get('keel_apply_latency_seconds_count')).toBe(1);
    expect(values.get('keel_apply_latency_seconds_bucket{le="0.005"}')).toBe(1);
    expect(values.get('keel_apply_latency_seconds_bucket{le="0.0025"}')).toBe(0);
    for (const peer of cluster.ids.filter((id) => id !== leader)) expect(values.has(`keel_replication_lag_entries{peer="${peer}"}`)).toBe(true);
    expect(values.has(`keel_replication_lag_entries{peer="${leader}"}`)).toBe(false);
  });

  it('counts refused requests by reason, backups by outcome, and HTTP requests by route and code', async () => {
    const metrics = new KvMetrics({ processMetrics: false });
    metrics.authRefused('missing');
    metrics.authRefused('scope');
    metrics.authRefused('scope');
    metrics.backup('ok');
    metrics.request('kv_value', 200);
    const values = samples(await metrics.render());
    expect(values.get('keel_http_auth_refusals_total{reason="missing"}')).toBe(1);
    expect(values.get('keel_http_auth_refusals_total{reason="scope"}')).toBe(2);
    expect(values.get('keel_backups_total{outcome="ok"}')).toBe(1);
    expect(values.get('keel_http_requests_total{route="kv_value",code="200"}')).toBe(1);
  });

  it('includes prom-client\'s process metrics: event-loop lag, GC, heap, handles, CPU', async () => {
    const types = families(await new KvMetrics().render());
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_active_handles_total', 'process_cpu_user_seconds_total']) {
      expect(types.has(name), name).toBe(true);
    }
    expect(types.get('nodejs_gc_duration_seconds')).toBe('histogram');
  });

  it('watches one node: again with the same node does nothing, with another throws', () => {
    const metrics = new KvMetrics({ processMetrics: false });
    const [first, second] = cluster.ids as [string, string];
    metrics.watch(cluster.nodes.get(first)!, cluster.stores.get(first)!);
    expect(() => metrics.watch(cluster.nodes.get(first)!, cluster.stores.get(first)!)).not.toThrow();
    expect(() => metrics.watch(cluster.nodes.get(second)!, cluster.stores.get(second)!)).toThrow(InvalidArgumentError);
  });

  it('lists every keel_* family, with its type, in docs/kv.md (the names are a stable interface)', async () => {
    const metrics = new KvMetrics({ processMetrics: false, transportCounters: () => ({ sentBytes: 1, receivedBytes: 2 }) });
    metrics.watch(cluster.nodes.get(leader)!, cluster.stores.get(leader)!);
    const docs = readFileSync(new URL('../../docs/kv.md', import.meta.url), 'utf8');
    const types = families(await metrics.render());
    expect(types.size).toBeGreaterThanOrEqual(20);
    for (const [name, type] of types) {
      const row = docs.split('\n').find((line) => line.startsWith('|') && new RegExp(`\`${name}(\\{|\`)`).test(line));
      expect(row, `docs/kv.md has no row for ${name}`).toBeDefined();
      expect(row).toContain(`| ${type} |`);
    }
  });
});

describe('instrumented storage', () => {
  it('TimedLogStorage reports one duration per append and snapshot record, and forwards everything', async () => {
    const observed: number[] = [];
    const inner = new MemoryStorage();
    const storage = new TimedLogStorage(inner, (seconds) => observed.push(seconds));
    await storage.append([{ index: 1, term: 1, type: 'normal', data: new Uint8Array([1]) }], { term: 1, vote: null, commit: 0 });
    await storage.saveSnapshot({ index: 1, term: 1, membership: { voters: ['a'] } });
    expect(observed).toHaveLength(2);
    for (const seconds of observed) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(storage.lastIndex()).toBe(inner.lastIndex());
    expect(storage.snapshotMeta()).toEqual(inner.snapshotMeta());
    expect(storage.initialState()).toEqual(inner.initialState());
  });

  it('MeasuredSnapshotStore reports the bytes of committed snapshots only', async () => {
    const written: number[] = [];
    const store = new MeasuredSnapshotStore(new MemorySnapshotStore(), (bytes) => written.push(bytes));
    const meta = { index: 5, term: 1, membership: { voters: ['a'] } };
    const aborted = await store.create(meta);
    await aborted.write(new Uint8Array(10));
    await aborted.abort();
    const kept = await store.create(meta);
    await kept.write(new Uint8Array(3));
    await kept.write(new Uint8Array(4));
    await kept.commit();
    expect(written).toEqual([7]);
    expect(store.latest()).toEqual(meta);
    const chunks: Uint8Array[] = [];
    for await (const chunk of store.read(5)) chunks.push(chunk);
    expect(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)).toBe(7);
  });
});
