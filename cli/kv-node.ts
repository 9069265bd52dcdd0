/**
 * One node of the KV service, assembled from its parts: LevelDB log and file
 * snapshots under the data directory (timed for the metrics), the TCP
 * transport, the KV store, the RaftNode, and the HTTP API with its metrics,
 * HTTPS and tokens. A data directory seeded by `keel kv restore` gets its
 * snapshot before the node first opens. Used by `keel kv`.
 *
 * @packageDocumentation
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeelError } from '../src/errors.js';
import type { KvResult } from '../src/kv/commands.js';
import { TimedLogStorage, MeasuredSnapshotStore } from '../src/kv/instrumented-storage.js';
import { KvMetrics } from '../src/kv/metrics.js';
import { KvHttpServer } from '../src/kv/service.js';
import { KvStore } from '../src/kv/store.js';
import { RaftNode } from '../src/node/raft-node.js';
import { FileSnapshotStore } from '../src/storage/file-snapshot-store.js';
import { LevelStorage } from '../src/storage/level.js';
import { TcpTransport } from '../src/transport/tcp.js';
import type { PeerAddress, TcpTransportOptions } from '../src/transport/tcp-options.js';
import { UsageError } from './args.js';
import { logRecord } from './json-log.js';
import type { Logger } from './json-log.js';
import type { KvCommandOptions } from './kv-options.js';
import { seedIfRestored } from './kv-restore.js';

/** A started node; `close` stops everything it started, in order. */
export interface RunningKvNode {
  readonly node: RaftNode<KvResult>;
  readonly store: KvStore;
  readonly http: KvHttpServer;
  readonly transport: TcpTransport;
  close(): Promise<void>;
}

/**
 * Opens the data directory and starts the node. Problems a user can fix (an
 * unusable or locked data directory, a directory of another node or cluster,
 * an address in use) are thrown as {@link UsageError}s with the reason.
 */
export async function startKvNode(options: KvCommandOptions, log: Logger): Promise<RunningKvNode> {
  const dirs = await prepareDataDir(options.dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log.warn({ err: error }, 'cleanup failed'));
  };
  try {
    const level = await userFixable('the log', () => LevelStorage.open({ location: dirs.log, nodeId: options.id, clusterId: options.clusterId }));
    cleanups.push(() => level.close());
    const files = await userFixable('the snapshot directory', () => FileSnapshotStore.open(dirs.snapshots));
    cleanups.push(() => files.close());
    await seedIfRestored(options, level, files, log);
    const transport = new TcpTransport(transportOptions(options, log));
    cleanups.push(() => transport.close());
    await userFixable(`the peer address ${options.peers.get(options.id)!.host}:${options.peers.get(options.id)!.port}`, () => transport.listen());
    const metrics = new KvMetrics({ transportCounters: () => ({ sentBytes: transport.stats().bytesSent, receivedBytes: transport.stats().bytesReceived }) });
    // The node writes through these: every synced log write and every snapshot is measured.
    const storage = new TimedLogStorage(level, (seconds) => metrics.storageSynced(seconds));
    const snapshots = new MeasuredSnapshotStore(files, (bytes, seconds) => metrics.snapshotWritten(bytes, seconds));
    const store = new KvStore();
    const node = await RaftNode.open<KvResult>({
      id: options.id,
      // A joining node starts with no configuration; once added, storage records it and this is ignored.
      ...(options.join ? { join: true } : { members: [...options.peers.keys()] }),
      storage,
      snapshots,
      transport,
      stateMachine: store,
      tickIntervalMs: options.tickIntervalMs,
      electionTicks: options.electionTicks,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    cleanups.push(() => node.close());
    watch(node, log);
    const { tls, tokens } = options.httpSecurity;
    const http = await userFixable(`the HTTP address ${options.http.host}:${options.http.port}`, () => KvHttpServer.start({
      node,
      store,
      requestTimeoutMs: options.requestTimeoutMs,
      metrics,
      ...(tokens === null ? {} : { tokens }),
      logger: log,
    }, { ...options.http, ...(tls === null ? {} : { tls }) }));
    cleanups.push(() => http.close());
    log.info({ http: http.url, tokens: tokens?.size ?? 0, peers: Object.fromEntries(options.peers), data: options.dataDir }, 'node started');
    let closing: Promise<void> | null = null;
    return { node, store, http, transport, close: () => (closing ??= cleanUp()) };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

export async function prepareDataDir(dataDir: string): Promise<{ log: string; snapshots: string }> {
  const dirs = { log: join(dataDir, 'log'), snapshots: join(dataDir, 'snapshots') };
  try {
    await mkdir(dirs.log, { recursive: true });
    await mkdir(dirs.snapshots, { recursive: true });
    await access(dataDir, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new UsageError(`--data ${dataDir} is not usable: ${(error as Error).message}`);
  }
  return dirs;
}

/** Runs `open`; a Keel error that a user can fix (locked, corrupt, misconfigured, address in use) becomes a UsageError naming `what`. */
export async function userFixable<T>(what: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof KeelError && USER_FIXABLE.has(error.code)) throw new UsageError(`cannot use ${what}: ${error.message}`);
    throw error;
  }
}

const USER_FIXABLE = new Set(['KEEL_STORAGE_LOCKED', 'KEEL_CORRUPTION', 'KEEL_INVALID_CONFIG', 'KEEL_STORAGE_IO', 'KEEL_TRANSPORT_IO']);

export function transportOptions(options: KvCommandOptions, log: Logger): TcpTransportOptions {
  const peers: Record<string, PeerAddress> = {};
  for (const [id, address] of options.peers) if (id !== options.id) peers[id] = address;
  const auth = options.auth;
  return {
    nodeId: options.id,
    clusterId: options.clusterId,
    listen: options.peers.get(options.id)!,
    peers,
    ...(auth.kind === 'hmac' ? { secret: auth.secret } : {}),
    ...(auth.kind === 'tls' ? { tls: { cert: auth.cert, key: auth.key, ca: auth.ca } } : {}),
    ...(auth.kind === 'insecure' ? { insecure: true } : {}),
    logger: (entry) => logRecord(log, entry),
  };
}

/** Logs the node's role, leader and term changes, and a fatal stop. */
function watch(node: RaftNode<KvResult>, log: Logger): void {
  node.on('role', (role) => log.info({ role, term: node.metrics().term }, 'role changed'));
  node.on('leader', (leader) => log.info({ leader, term: node.metrics().term }, 'leader changed'));
  node.on('snapshot', (snapshot) => log.info({ kind: snapshot.kind, index: snapshot.index, term: snapshot.term }, 'snapshot'));
  node.on('snapshotFailed', (error) => log.warn({ err: error }, 'snapshot failed; retrying later'));
  node.on('fatal', (error) => log.error({ err: error }, 'node stopped after a fatal error'));
  node.on('removed', () => log.warn({ id: node.id }, 'this node was removed from the cluster; it no longer takes part and can be stopped'));
}
