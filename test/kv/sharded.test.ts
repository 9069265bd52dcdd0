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
import { ShardMap } from '../../src/kv/shard-map.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { TcpTransport } from '../../src/transport/tcp.js';
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

describe('rebalancing the sharded key-value service', () => {
  it('moves about a quarter of the replicas onto a fourth host by membership change, serving requests throughout, and all of a leaving host\'s', async () => {
    const secret = randomBytes(32);
    const first = ['h1', 'h2', 'h3'];
    const transports = await createTransports(first, () => ({ secret }));
    const raft = new Map<string, string>([...transports].map(([id, transport]) => [id, `127.0.0.1:${transport.address()!.port}`]));
    const urls = new Map<string, Map<string, string>>();
    const hosts: Running[] = [];
    const start = async (id: string, all: readonly string[], transport: TcpTransport, join: boolean): Promise<Running> => {
      const engine = await LevelEngine.open({ location: await makeTempDir(`rebalance-${id}`), hostId: id });
      const sharded = await ShardedKvHost.open({
        hostId: id, shards: 12, hosts: all, transport, logs: engine, join,
        raftAddresses: raft, snapshotsFor: () => new MemorySnapshotStore(),
        tickIntervalMs: 20, groupDefaults: { electionTicks: 10 }, requestTimeoutMs: 10_000, rebalanceIntervalMs: 100,
      });
      const peerUrls = new Map<string, string>();
      urls.set(id, peerUrls);
      const entry: Running = { id, sharded, engine, http: null };
      entry.http = await startShardedHttp(new ShardedKvHttpApi({ host: sharded, peerUrls }), { host: '127.0.0.1', port: 0 });
      for (const [other, map] of urls) {
        if (other === id) continue;
        map.set(id, entry.http.url);
        peerUrls.set(other, hosts.find((h) => h.id === other)!.http!.url);
      }
      running.push(entry);
      hosts.push(entry);
      return entry;
    };
    for (const id of first) await start(id, first, transports.get(id)!, false);
    const before = hosts[0]!.sharded.shardMap;
    await waitFor(() => before.shardIds().every((shard) => leaders(hosts, shard) === 1), 'a leader in every shard');
    const keys = Array.from({ length: 24 }, (_, i) => `key-${i}`);
    for (const [i, key] of keys.entries()) {
      const put = await fetch(`${hosts[i % 3]!.http!.url}/kv/${key}`, { method: 'PUT', body: JSON.stringify({ value: `v${i}` }) });
      expect(put.status).toBe(200);
    }

    // A fourth host joins: it listens, the others learn its address, and every host is told the new list.
    const peers = Object.fromEntries(first.map((id) => [id, { host: '127.0.0.1', port: Number(raft.get(id)!.split(':')[1]) }]));
    const h4Transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'h4', listen: { host: '127.0.0.1', port: 0 }, peers, secret });
    raft.set('h4', `127.0.0.1:${(await h4Transport.listen()).port}`);
    const all = ['h1', 'h2', 'h3', 'h4'];
    const h4 = await start('h4', all, h4Transport, true);
    // Every old host is sent the new list over HTTP (h4 started with it).
    const list = { hosts: Object.fromEntries(hosts.map((host) => [host.id, { raft: raft.get(host.id)!, http: host.http!.url.replace('http://', '') }])) };
    for (const host of hosts.slice(0, 3)) {
      const refused = await fetch(`${host.http!.url}/admin/hosts`, { method: 'POST', body: JSON.stringify({ hosts: { h4: { raft: 'nowhere' } } }) });
      expect(refused.status).toBe(400);
      const answer = await fetch(`${host.http!.url}/admin/hosts`, { method: 'POST', body: JSON.stringify(list) });
      expect(answer.status, await answer.clone().text()).toBe(200);
    }
    expect(h4.sharded.localReplicas().size).toBeGreaterThan(0);
    const after = hosts[3]!.sharded.shardMap;
    const expectedMoves = ShardMap.moves(before, after);

    // Requests go on while replicas move.
    let serving = true;
    const outcomes = { ok: 0, unavailable: 0 };
    const client = (async () => {
      for (let i = 0; serving; i++) {
        const key = keys[i % keys.length]!;
        const via = hosts[i % hosts.length]!.http!.url;
        const response = i % 2 === 0
          ? await fetch(`${via}/kv/${key}`, { method: 'PUT', body: JSON.stringify({ value: `w${i}` }) })
          : await fetch(`${via}/kv/${key}`);
        await response.arrayBuffer();
        if (response.status === 200) outcomes.ok++;
        else if (response.status === 503) outcomes.unavailable++;
        else throw new Error(`${response.status} during rebalancing`);
      }
    })();
    const placed = (shard: string): boolean => {
      const leader = hosts.find((host) => host.sharded.replica(shard)?.node.status().role === 'leader');
      const status = leader?.sharded.replica(shard)?.node.status();
      if (status === undefined || status.learners.length > 0 || status.joint !== null) return false;
      if ([...status.members].sort().join() !== after.placement(shard).join()) return false;
      return hosts.every((host) => after.placement(shard).includes(host.id) === (host.sharded.replica(shard) !== undefined));
    };
    await waitFor(() => after.shardIds().every(placed), 'every shard on its new hosts', 150_000);
    // However fast the moves were, the client has had time for a fair sample of requests.
    await waitFor(() => outcomes.ok + outcomes.unavailable >= 20, 'twenty requests during and after the moves', 60_000);
    serving = false;
    await client;

    const added = expectedMoves.flatMap((move) => move.add);
    const done = hosts.reduce((sum, host) => sum + host.sharded.rebalanceStats().added, 0);
    console.log(`[rebalance] a 4th host took ${added.length} of ${3 * 12} replicas (ideal ${(3 * 12) / 4}); the rebalancers made ${done} additions; ` +
      `${outcomes.ok} requests served, ${outcomes.unavailable} answered 503 while replicas moved`);
    expect(added.every((host) => host === 'h4')).toBe(true);
    expect(done).toBe(added.length);
    expect(hosts[3]!.sharded.localReplicas().size).toBe(added.length);
    expect(outcomes.ok).toBeGreaterThan(outcomes.unavailable);
    // Every key reads back on every host, from its shard's new replicas too.
    for (const host of hosts) {
      for (const key of keys) {
        const get = await fetch(`${host.http!.url}/kv/${key}`);
        expect(get.status, `${key} on ${host.id}`).toBe(200);
      }
    }

    // Then h2 leaves: its replicas move to the others, and it holds none.
    const remaining = ['h1', 'h3', 'h4'];
    for (const host of hosts) await host.sharded.setHosts(new Map(remaining.map((id) => [id, raft.get(id)!])));
    const without = hosts[0]!.sharded.shardMap;
    const leaving = ShardMap.moves(after, without);
    const placedWithout = (shard: string): boolean => {
      const leader = hosts.find((host) => host.sharded.replica(shard)?.node.status().role === 'leader');
      const status = leader?.sharded.replica(shard)?.node.status();
      if (status === undefined || status.learners.length > 0 || status.joint !== null) return false;
      return [...status.members].sort().join() === without.placement(shard).join() && hosts[1]!.sharded.replica(shard) === undefined;
    };
    await waitFor(() => without.shardIds().every(placedWithout), 'every shard off h2', 150_000);
    console.log(`[rebalance] h2 left: ${leaving.flatMap((move) => move.remove).length} replicas moved off it (it held ${after.shardsOn('h2').length})`);
    expect(leaving.flatMap((move) => move.remove).every((host) => host === 'h2')).toBe(true);
    expect(hosts[1]!.sharded.localReplicas().size).toBe(0);
    for (const key of keys) expect((await fetch(`${hosts[0]!.http!.url}/kv/${key}`)).status).toBe(200);
  }, 400_000);
});
