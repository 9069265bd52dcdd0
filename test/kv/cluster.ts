/** An in-process KV cluster for the HTTP API tests: RaftNodes on a LocalNetwork with real timers, one HTTP server each. */
import { LocalNetwork } from '../../src/transport/local-network.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { SystemClock } from '../../src/util/clock.js';
import type { KvResult } from '../../src/kv/commands.js';
import type { KvHttpApiOptions } from '../../src/kv/http-api.js';
import { KvHttpServer } from '../../src/kv/service.js';
import { KvStore } from '../../src/kv/store.js';

export interface KvTestCluster {
  readonly ids: readonly string[];
  readonly network: LocalNetwork;
  readonly nodes: ReadonlyMap<string, RaftNode<KvResult>>;
  readonly stores: ReadonlyMap<string, KvStore>;
  readonly servers: ReadonlyMap<string, KvHttpServer>;
  /** Resolves with the leader's id once one is known to every running member. */
  leader(): Promise<string>;
  /** Starts node `id` with no configuration (`join: true`) and its HTTP server, to be added through the admin API. */
  join(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function startKvCluster(
  size: number,
  api: Partial<Omit<KvHttpApiOptions, 'node' | 'store'>> = {},
  nodeOptions: { requestTimeoutMs?: number; snapshotEntries?: number; maxSessions?: number } = {},
): Promise<KvTestCluster> {
  const clock = new SystemClock();
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const network = new LocalNetwork(clock);
  const nodes = new Map<string, RaftNode<KvResult>>();
  const stores = new Map<string, KvStore>();
  const servers = new Map<string, KvHttpServer>();
  const open = async (id: string, join: boolean): Promise<void> => {
    const store = new KvStore();
    const node = await RaftNode.open<KvResult>({
      id,
      ...(join ? { join: true } : { members: ids }),
      storage: new MemoryStorage(),
      snapshots: new MemorySnapshotStore(),
      transport: network.transport(id),
      stateMachine: store,
      clock,
      tickIntervalMs: 10,
      electionTicks: 10,
      heartbeatTicks: 2,
      requestTimeoutMs: nodeOptions.requestTimeoutMs ?? 5_000,
      ...(nodeOptions.snapshotEntries === undefined ? {} : { snapshotting: { entries: nodeOptions.snapshotEntries, keepEntries: 5 } }),
      ...(nodeOptions.maxSessions === undefined ? {} : { limits: { maxSessions: nodeOptions.maxSessions } }),
    });
    nodes.set(id, node);
    stores.set(id, store);
    servers.set(id, await KvHttpServer.start({ node, store, ...api }, { host: '127.0.0.1', port: 0 }));
  };
  for (const id of ids) await open(id, false);
  return {
    ids,
    network,
    nodes,
    stores,
    servers,
    async leader() {
      // Up to 30 s: generous, so that a loaded machine slows the tests rather than failing them.
      for (let attempt = 0; attempt < 3000; attempt++) {
        const members = [...nodes.values()].filter((n) => n.status().role !== 'stopped' && !n.status().removed && n.status().members.includes(n.id));
        const leaders = new Set(members.map((n) => n.status().leader));
        const [only] = leaders;
        if (leaders.size === 1 && only !== null && only !== undefined) return only;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('no leader within 30 s');
    },
    join: (id) => open(id, true),
    async close() {
      await Promise.all([...nodes.values()].map((node) => node.close()));
      await Promise.all([...servers.values()].map((server) => server.close()));
    },
  };
}
