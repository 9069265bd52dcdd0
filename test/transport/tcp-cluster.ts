/**
 * Three (or more) RaftNodes in this process, each with its own TcpTransport
 * on a loopback port chosen by the system, on real timers. Tests wait on
 * conditions (polled, with generous deadlines), never on fixed sleeps.
 */
import { RaftNode } from '../../src/node/raft-node.js';
import type { RaftNodeOptions } from '../../src/node/options.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import type { TcpLogEntry, TcpTransportOptions } from '../../src/transport/tcp-options.js';
import { ListStateMachine } from '../support/node-cluster.js';

export const LOOPBACK = '127.0.0.1';

/** Per-node transport options beyond ids and addresses (auth, limits). */
export type TransportSettings = (id: string) => Omit<TcpTransportOptions, 'nodeId' | 'clusterId' | 'listen' | 'peers'> & { clusterId?: string };

export interface TcpTestNode {
  readonly id: string;
  readonly storage: MemoryStorage;
  readonly snapshots: MemorySnapshotStore;
  machine: ListStateMachine;
  transport: TcpTransport;
  node: RaftNode<number> | null;
  port: number;
}

/** Collects every log line of every transport. */
export class LogCollector {
  readonly entries: (TcpLogEntry & { node: string })[] = [];

  for(node: string): (entry: TcpLogEntry) => void {
    return (entry) => this.entries.push({ ...entry, node });
  }

  refusals(node?: string): (TcpLogEntry & { node: string })[] {
    return this.entries.filter((entry) => entry.event === 'refused' && (node === undefined || entry.node === node));
  }
}

/** Creates transports for `ids` listening on loopback port 0, each told every other's port. */
export async function createTransports(ids: readonly string[], settings: TransportSettings): Promise<Map<string, TcpTransport>> {
  const transports = new Map<string, TcpTransport>();
  for (const id of ids) {
    const peers = Object.fromEntries(ids.filter((other) => other !== id).map((other) => [other, { host: LOOPBACK, port: 0 }]));
    transports.set(id, new TcpTransport({ clusterId: 'test-cluster', nodeId: id, listen: { host: LOOPBACK, port: 0 }, peers, ...settings(id) }));
  }
  const ports = new Map<string, number>();
  for (const [id, transport] of transports) ports.set(id, (await transport.listen()).port);
  for (const [id, transport] of transports) {
    for (const other of ids) if (other !== id) transport.setPeerAddress(other, { host: LOOPBACK, port: ports.get(other)! });
  }
  return transports;
}

export class TcpCluster {
  readonly nodes = new Map<string, TcpTestNode>();

  private constructor(
    readonly ids: readonly string[],
    private readonly settings: TransportSettings,
    private readonly extra: Partial<RaftNodeOptions<number>>,
  ) {}

  static async start(settings: TransportSettings, ids: readonly string[] = ['a', 'b', 'c'], extra: Partial<RaftNodeOptions<number>> = {}): Promise<TcpCluster> {
    const cluster = new TcpCluster(ids, settings, extra);
    const transports = await createTransports(ids, settings);
    for (const id of ids) {
      const transport = transports.get(id)!;
      cluster.nodes.set(id, { id, storage: new MemoryStorage(), snapshots: new MemorySnapshotStore(), machine: new ListStateMachine(), transport, node: null, port: transport.address()!.port });
    }
    for (const id of ids) await cluster.open(id);
    return cluster;
  }

  /** Opens the node on its current transport. */
  async open(id: string): Promise<RaftNode<number>> {
    const entry = this.entry(id);
    entry.machine = new ListStateMachine();
    entry.node = await RaftNode.open<number>({
      id,
      members: this.ids,
      storage: entry.storage,
      snapshots: entry.snapshots,
      transport: entry.transport,
      stateMachine: entry.machine,
      tickIntervalMs: 10,
      electionTicks: 10,
      ...this.extra,
    });
    return entry.node;
  }

  /** Closes the node and its transport (its listener goes away); storage stays. */
  async stop(id: string): Promise<void> {
    const entry = this.entry(id);
    await entry.node?.close();
    entry.node = null;
  }

  /** Starts the node again on a fresh transport listening on the same port as before. */
  async restart(id: string): Promise<RaftNode<number>> {
    const entry = this.entry(id);
    const peers = Object.fromEntries(this.ids.filter((other) => other !== id).map((other) => [other, { host: LOOPBACK, port: this.entry(other).port }]));
    entry.transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: id, listen: { host: LOOPBACK, port: entry.port }, peers, ...this.settings(id) });
    return this.open(id);
  }

  entry(id: string): TcpTestNode {
    const entry = this.nodes.get(id);
    if (entry === undefined) throw new Error(`unknown node ${id}`);
    return entry;
  }

  node(id: string): RaftNode<number> {
    const node = this.entry(id).node;
    if (node === null) throw new Error(`${id} is down`);
    return node;
  }

  leader(): string | null {
    let best: { id: string; term: number } | null = null;
    for (const entry of this.nodes.values()) {
      const status = entry.node?.status();
      if (status?.role === 'leader' && (best === null || status.term > best.term)) best = { id: entry.id, term: status.term };
    }
    return best?.id ?? null;
  }

  async waitForLeader(timeoutMs = 15_000): Promise<string> {
    await waitUntil(() => this.leader() !== null, timeoutMs, 'a leader');
    return this.leader()!;
  }

  async close(): Promise<void> {
    for (const entry of this.nodes.values()) {
      await entry.node?.close();
      await entry.transport.close(); // a transport whose node never opened is closed here
    }
  }
}

/** Settles as `promise` does, or fails after `timeoutMs` naming `what`: for awaits on an event that might never come. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` until it holds; fails after `timeoutMs` naming `what`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
