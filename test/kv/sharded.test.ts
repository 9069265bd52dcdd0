/**
 * The sharded key-value service in this process: four hosts over TCP
 * (loopback, HMAC) with a LevelEngine each, eight shards of three replicas
 * placed by consistent hashing, one HTTP front per host. Any host takes any
 * key: its shard's replica here serves it, or the request is proxied to a
 * host that holds one. Real timers; waits on conditions.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardedKvHost } from '../../src/kv/sharded-host.js';
import { SHARD_HEADER, ShardedKvHttpApi, startShardedHttp } from '../../src/kv/sharded-http-api.js';
import type { ShardedHttpServer } from '../../src/kv/sharded-http-api.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { createTransports } from '../transport/tcp-cluster.js';
import { makeTempDir, removeTempDirs } from '../storage/temp-dirs.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const SHARDS = 8;

interface Running {
  readonly id: string;
  readonly sharded: ShardedKvHost;
  readonly engine: LevelEngine;
  http: ShardedHttpServer | null;
}

const running: Running[] = [];

afterEach(async () => {
  for (const host of running.splice(0)) {
    await host.http?.close();
    await host.sharded.close();
    await host.engine.close();
  }
  await removeTempDirs();
});

async function startCluster(): Promise<Running[]> {
  const secret = randomBytes(32);
  const transports = await createTransports(HOSTS, () => ({ secret }));
  const hosts: Running[] = [];
  for (const id of HOSTS) {
    const engine = await LevelEngine.open({ location: await makeTempDir(`sharded-${id}`), hostId: id });
    const sharded = await ShardedKvHost.open({
      hostId: id,
      shards: SHARDS,
      hosts: HOSTS,
      transport: transports.get(id)!,
      logs: engine,
      snapshotsFor: () => new MemorySnapshotStore(),
      tickIntervalMs: 20,
      groupDefaults: { electionTicks: 10 },
    });
    const entry: Running = { id, sharded, engine, http: null };
    running.push(entry);
    hosts.push(entry);
  }
  const urls = new Map<string, string>();
  for (const host of hosts) {
    const peerUrls = new Map<string, string>();
    host.http = await startShardedHttp(new ShardedKvHttpApi({ host: host.sharded, peerUrls }), { host: '127.0.0.1', port: 0 });
    urls.set(host.id, host.http.url);
    // Filled in once every host listens: the map is read at request time.
    Object.defineProperty(host, 'peerUrls', { value: peerUrls });
  }
  for (const host of hosts) {
    const peerUrls = (host as unknown as { peerUrls: Map<string, string> }).peerUrls;
    for (const [id, url] of urls) if (id !== host.id) peerUrls.set(id, url);
  }
  return hosts;
}

async function waitFor(condition: () => boolean, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function leaders(hosts: readonly Running[], shard: string): number {
  return hosts.filter((host) => host.sharded.replica(shard)?.node.status().role === 'leader').length;
}

describe('the sharded key-value service', () => {
  it('places each shard on three of four hosts and serves every key from every host', async () => {
    const hosts = await startCluster();
    const map = hosts[0]!.sharded.shardMap;
    for (const host of hosts) expect(host.sharded.localReplicas().size).toBe(map.shardsOn(host.id).length);
    await waitFor(() => map.shardIds().every((shard) => leaders(hosts, shard) === 1), 'a leader in every shard');

    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
    const shardsUsed = new Set<string>();
    for (const [i, key] of keys.entries()) {
      const via = hosts[i % hosts.length]!.http!.url;
      const put = await fetch(`${via}/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: JSON.stringify({ value: `v${i}` }) });
      expect(put.status, await put.clone().text()).toBe(200);
      expect(put.headers.get(SHARD_HEADER)).toBe(map.shardOf(key));
      shardsUsed.add(put.headers.get(SHARD_HEADER)!);
    }
    expect(shardsUsed.size).toBeGreaterThan(4);

    for (const host of hosts) {
      for (const [i, key] of keys.entries()) {
        const get = await fetch(`${host.http!.url}/kv/${encodeURIComponent(key)}`);
        expect(get.status).toBe(200);
        expect(((await get.json()) as { value: string }).value).toBe(`v${i}`);
      }
    }
    // Each host lacks some shards: those keys were proxied.
    const proxied = await Promise.all(hosts.map(async (host) => ((await (await fetch(`${host.http!.url}/status`)).json()) as { proxied: number }).proxied));
    expect(proxied.every((count) => count > 0)).toBe(true);
    // Each key's shard holds it, and no other shard does.
    for (const [i, key] of keys.entries()) {
      for (const host of hosts) {
        for (const [shard, replica] of host.sharded.localReplicas()) {
          expect(replica.store.get(key)).toBe(shard === map.shardOf(key) ? `v${i}` : null);
        }
      }
    }
  });

  it('shows the placement on /shards and per-group figures on /metrics', async () => {
    const hosts = await startCluster();
    const map = hosts[0]!.sharded.shardMap;
    await waitFor(() => map.shardIds().every((shard) => leaders(hosts, shard) === 1), 'a leader in every shard');

    const shards = (await (await fetch(`${hosts[0]!.http!.url}/shards`)).json()) as { shards: { id: string; placement: string[]; local: { role: string } | null }[] };
    expect(shards.shards.map((shard) => shard.id)).toEqual(map.shardIds());
    for (const shard of shards.shards) {
      expect(shard.placement).toEqual(map.placement(shard.id));
      expect(shard.local === null).toBe(!map.placement(shard.id).includes('h1'));
    }
    const metrics = await (await fetch(`${hosts[0]!.http!.url}/metrics`)).text();
    for (const shard of map.shardsOn('h1')) expect(metrics).toContain(`keel_group_commit_index{group="${shard}"}`);
    expect(metrics).toMatch(/^keel_host_groups \d+$/m);

    const refused = await fetch(`${hosts[0]!.http!.url}/admin/members`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(404);
  });
});
