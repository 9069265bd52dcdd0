/**
 * One node of the KV service, assembled from its parts: LevelDB log and file
 * snapshots under the data directory, the TCP transport, the KV store, the
 * RaftNode, and the HTTP API. Used by `keel kv`.
 *
 * @packageDocumentation
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeelError } from '../src/errors.js';
import type { KvResult } from '../src/kv/commands.js';
import { KvHttpServer } from '../src/kv/service.js';
import { KvStore } from '../src/kv/store.js';
import { RaftNode } from '../src/node/raft-node.js';
import { FileSnapshotStore } from '../src/storage/file-snapshot-store.js';
import { LevelStorage } from '../src/storage/level.js';
import { TcpTransport } from '../src/transport/tcp.js';
import type { PeerAddress, TcpTransportOptions } from '../src/transport/tcp-options.js';
import { UsageError } from './args.js';
import type { Log } from './json-log.js';
import type { KvCommandOptions } from './kv-options.js';

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
export async function startKvNode(options: KvCommandOptions, log: Log): Promise<RunningKvNode> {
  const dirs = await prepareDataDir(options.dataDir);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log('warn', 'cleanup failed', { error }));
  };
  try {
    const storage = await userFixable('the log', () => LevelStorage.open({ location: dirs.log, nodeId: options.id, clusterId: options.clusterId }));
    cleanups.push(() => storage.close());
    const snapshots = await userFixable('the snapshot directory', () => FileSnapshotStore.open(dirs.snapshots));
    cleanups.push(() => snapshots.close());
    const transport = new TcpTransport(transportOptions(options, log));
    cleanups.push(() => transport.close());
    await userFixable(`the peer address ${options.peers.get(options.id)!.host}:${options.peers.get(options.id)!.port}`, () => transport.listen());
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
    const http = await userFixable(`the HTTP address ${options.http.host}:${options.http.port}`, () => KvHttpServer.start({
      node,
      store,
      requestTimeoutMs: options.requestTimeoutMs,
      transportCounters: () => ({ sentBytes: transport.stats().bytesSent, receivedBytes: transport.stats().bytesReceived }),
      log: ({ level, message, ...fields }) => log(level, message, fields),
    }, options.http));
    cleanups.push(() => http.close());
    log('info', 'node started', { http: http.url, peers: Object.fromEntries(options.peers), data: options.dataDir });
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

export function transportOptions(options: KvCommandOptions, log: Log): TcpTransportOptions {
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
    logger: ({ level, message, ...fields }) => log(level, message, fields),
  };
}

/** Logs the node's role, leader and term changes, and a fatal stop. */
function watch(node: RaftNode<KvResult>, log: Log): void {
  node.on('role', (role) => log('info', 'role changed', { role, term: node.status().term }));
  node.on('leader', (leader) => log('info', 'leader changed', { leader, term: node.status().term }));
  node.on('fatal', (error) => log('error', 'node stopped after a fatal error', { error }));
  node.on('removed', () => log('warn', 'this node was removed from the cluster; it no longer takes part and can be stopped', { id: node.id }));
}
