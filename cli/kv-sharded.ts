/**
 * One host of the sharded KV service (`keel kv --shards N`): one LevelDB for
 * every shard replica here (LevelEngine), file snapshots per shard, one TCP
 * transport to the other hosts, the shard replicas on a RaftHost, and the
 * sharded HTTP front.
 *
 * @packageDocumentation
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ShardedKvHost } from '../src/kv/sharded-host.js';
import { ShardedKvHttpApi, startShardedHttp } from '../src/kv/sharded-http-api.js';
import type { ShardedHttpServer } from '../src/kv/sharded-http-api.js';
import { FileSnapshotStore } from '../src/storage/file-snapshot-store.js';
import { LevelEngine } from '../src/storage/level-engine.js';
import { TcpTransport } from '../src/transport/tcp.js';
import type { Logger } from './json-log.js';
import type { KvCommandOptions, ShardingOptions } from './kv-options.js';
import { prepareDataDir, transportOptions, userFixable } from './kv-node.js';

/** A started sharded host; `close` stops everything it started, in order. */
export interface RunningShardedKv {
  readonly host: ShardedKvHost;
  readonly http: ShardedHttpServer;
  /** Resolves when a shard replica stopped on a fatal error. */
  readonly fatal: Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the data directory and starts the host with every shard replica the
 * ring places on it. User-fixable problems become `UsageError`s, as for `keel kv`.
 */
export async function startShardedKv(options: KvCommandOptions, sharding: ShardingOptions, log: Logger): Promise<RunningShardedKv> {
  const dirs = await prepareDataDir(options.dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log.warn({ err: error }, 'cleanup failed'));
  };
  try {
    const engine = await userFixable('the log', () => LevelEngine.open({ location: dirs.log, hostId: options.id, clusterId: options.clusterId }));
    cleanups.push(() => engine.close());
    const snapshotStores: FileSnapshotStore[] = [];
    cleanups.push(async () => {
      for (const store of snapshotStores) await store.close();
    });
    const transport = new TcpTransport(transportOptions(options, log));
    const self = options.peers.get(options.id)!;
    await userFixable(`the peer address ${self.host}:${self.port}`, () => transport.listen());
    const host = await ShardedKvHost.open({
      hostId: options.id,
      shards: sharding.shards,
      replicas: sharding.replicas,
      hosts: [...options.peers.keys()],
      join: sharding.join,
      raftAddresses: new Map([...options.peers].map(([id, address]) => [id, `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`])),
      transport,
      logs: engine,
      snapshotsFor: async (shard) => {
        const directory = join(dirs.snapshots, shard);
        await mkdir(directory, { recursive: true });
        const store = await FileSnapshotStore.open(directory);
        snapshotStores.push(store);
        return store;
      },
      tickIntervalMs: options.tickIntervalMs,
      groupDefaults: { electionTicks: options.electionTicks, requestTimeoutMs: options.requestTimeoutMs },
      requestTimeoutMs: options.requestTimeoutMs,
      logger: log,
    });
    cleanups.push(() => host.close());
    const fatal = new Promise<void>((resolve) => {
      for (const replica of host.localReplicas().values()) {
        replica.node.once('fatal', (error) => {
          log.error({ shard: replica.shard, err: error }, 'a shard replica stopped after a fatal error');
          resolve();
        });
      }
    });
    const { tls, tokens } = options.httpSecurity;
    // Every host serves HTTPS or none does (docs/kv.md, "Sharded"): the scheme of this front is that of its peers.
    const scheme = tls === null ? 'http' : 'https';
    const peerUrls = new Map<string, string>();
    for (const [id, address] of sharding.httpPeers) if (id !== options.id) peerUrls.set(id, `${scheme}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`);
    const api = new ShardedKvHttpApi({
      host,
      peerUrls,
      ...(tokens === null ? {} : { tokens }),
      ...(tls === null ? {} : { peerTls: sharding.httpCa === null ? {} : { ca: sharding.httpCa } }),
      proxyTimeoutMs: options.requestTimeoutMs,
      logger: log,
    });
    const listen = { ...options.http, ...(tls === null ? {} : { tls }) };
    const http = await userFixable(`the HTTP address ${options.http.host}:${options.http.port}`, () => startShardedHttp(api, listen));
    cleanups.push(() => http.close());
    log.info({ http: http.url, tokens: tokens?.size ?? 0, shards: sharding.shards, replicasHere: host.localReplicas().size, data: options.dataDir }, 'sharded host started');
    let closing: Promise<void> | null = null;
    return { host, http, fatal, close: () => (closing ??= cleanUp()) };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
