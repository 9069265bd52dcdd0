/**
 * An in-process cluster of RaftNodes on a virtual clock and a LocalNetwork:
 * deterministic, no wall-clock sleeps. Each node runs the production runtime
 * with MemoryStorage and MemorySnapshotStore and a small replicated log state
 * machine (a list of strings).
 */
import { afterEach } from 'vitest';
import { RaftNode } from '../../src/node/raft-node.js';
import type { AppliedCommand, SnapshotPoint, SnapshotSource, StateMachine } from '../../src/node/state-machine.js';
import { VirtualClock } from '../../src/util/clock.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { SeededRandom } from '../../src/util/random.js';
import type { RaftNodeOptions } from '../../src/node/options.js';

/** Appends each command (as text) to a list; `apply` returns the list's new length. */
export class ListStateMachine implements StateMachine<number> {
  items: string[] = [];
  appliedIndexes: number[] = [];

  apply(command: AppliedCommand): number {
    this.items.push(new TextDecoder().decode(command.command));
    this.appliedIndexes.push(command.index);
    return this.items.length;
  }

  /** The points `restore` was told, oldest first. */
  restoredAt: SnapshotPoint[] = [];

  /** `items` only grows by `push` and `restore` replaces the array, so its length is a point-in-time view. */
  capture(_point: SnapshotPoint): SnapshotSource {
    const items = this.items;
    const length = items.length;
    return {
      chunks: async function* (): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode(JSON.stringify(items.slice(0, length)));
      },
    };
  }

  async restore(chunks: AsyncIterable<Uint8Array>, point: SnapshotPoint): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    this.items = JSON.parse(new TextDecoder().decode(Buffer.concat(parts))) as string[];
    this.restoredAt.push(point);
  }
}

export interface TestNode {
  readonly id: string;
  readonly storage: MemoryStorage;
  readonly snapshots: MemorySnapshotStore;
  machine: ListStateMachine;
  node: RaftNode<number> | null;
}

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;

export class NodeCluster {
  readonly clock = new VirtualClock();
  readonly network = new LocalNetwork(this.clock);
  readonly nodes = new Map<string, TestNode>();
  private readonly seeds: SeededRandom;

  constructor(
    readonly ids: readonly string[] = ['n1', 'n2', 'n3'],
    seed = 7,
    private readonly extra: Partial<RaftNodeOptions<number>> = {},
    /** Makes each incarnation's state machine (a fresh one at every start). */
    private readonly createMachine: (id: string, cluster: NodeCluster) => ListStateMachine = () => new ListStateMachine(),
  ) {
    this.seeds = new SeededRandom(seed);
    for (const id of ids) this.nodes.set(id, { id, storage: new MemoryStorage(), snapshots: new MemorySnapshotStore(), machine: new ListStateMachine(), node: null });
  }

  static async start(
    ids?: readonly string[],
    seed?: number,
    extra?: Partial<RaftNodeOptions<number>>,
    createMachine?: (id: string, cluster: NodeCluster) => ListStateMachine,
  ): Promise<NodeCluster> {
    const cluster = new NodeCluster(ids, seed, extra, createMachine);
    for (const id of cluster.ids) await cluster.startNode(id);
    return cluster;
  }

  async startNode(id: string): Promise<RaftNode<number>> {
    return this.openNode(id, { members: this.ids });
  }

  /**
   * Opens a new node `id` that joins the running cluster: no configuration of
   * its own (`join: true`), so it waits for a leader to add it.
   */
  async joinNode(id: string, extra: Partial<RaftNodeOptions<number>> = {}): Promise<RaftNode<number>> {
    if (!this.nodes.has(id)) this.nodes.set(id, { id, storage: new MemoryStorage(), snapshots: new MemorySnapshotStore(), machine: new ListStateMachine(), node: null });
    return this.openNode(id, { join: true }, extra);
  }

  /** Opens node `id` on its stored state, with a fresh state machine, the cluster's clock, network and timing. */
  private async openNode(id: string, membership: { readonly members: readonly string[] } | { readonly join: true }, extra: Partial<RaftNodeOptions<number>> = {}): Promise<RaftNode<number>> {
    const entry = this.entry(id);
    entry.machine = this.createMachine(id, this);
    entry.node = await RaftNode.open<number>({
      id,
      ...membership,
      storage: entry.storage,
      snapshots: entry.snapshots,
      transport: this.network.transport(id),
      stateMachine: entry.machine,
      clock: this.clock,
      random: new SeededRandom(this.seeds.nextUint32()),
      tickIntervalMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      ...this.extra,
      ...extra,
    });
    return entry.node;
  }

  /** Stops a node as a crash would: volatile state is gone, storage (all synced, in memory) stays. */
  async crash(id: string): Promise<void> {
    const entry = this.entry(id);
    await entry.node?.close();
    entry.node = null;
  }

  node(id: string): RaftNode<number> {
    const node = this.entry(id).node;
    if (node === null) throw new Error(`${id} is down`);
    return node;
  }

  entry(id: string): TestNode {
    const entry = this.nodes.get(id);
    if (entry === undefined) throw new Error(`unknown node ${id}`);
    return entry;
  }

  /** The running node that is leader in the highest term. */
  leader(): string | null {
    let best: { id: string; term: number } | null = null;
    for (const entry of this.nodes.values()) {
      const status = entry.node?.status();
      if (status?.role === 'leader' && (best === null || status.term > best.term)) best = { id: entry.id, term: status.term };
    }
    return best?.id ?? null;
  }

  /** Advances virtual time until a leader exists (bounded). */
  async waitForLeader(maxMs = 200 * TICK_MS * ELECTION_TICKS): Promise<string> {
    for (let elapsed = 0; elapsed < maxMs; elapsed += TICK_MS) {
      const leader = this.leader();
      if (leader !== null) return leader;
      await this.clock.advance(TICK_MS);
    }
    throw new Error(`no leader within ${maxMs} ms of virtual time`);
  }

  /**
   * Advances virtual time until `promise` settles (bounded), then returns its
   * outcome. Still pending after `maxMs` of virtual time and 10 s more of real
   * time, it fails naming how long it waited, rather than hanging the test.
   */
  async run<T>(promise: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    for (let elapsed = 0; !settled && elapsed < maxMs; elapsed += TICK_MS) await this.clock.advance(TICK_MS);
    if (settled) return tracked;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`run(): the promise did not settle within ${maxMs} ms of virtual time (and 10 s of real time)`)), 10_000);
    });
    try {
      return await Promise.race([tracked, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  async close(): Promise<void> {
    for (const entry of this.nodes.values()) await entry.node?.close();
  }
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/**
 * For a test file: returns a `NodeCluster.start` that remembers every cluster
 * it starts, and registers an `afterEach` that closes them (closing twice is
 * harmless, so a test may close one itself).
 */
export function clustersClosedAfterEach(): (...args: Parameters<typeof NodeCluster.start>) => Promise<NodeCluster> {
  const started: NodeCluster[] = [];
  afterEach(async () => {
    for (const cluster of started.splice(0)) await cluster.close();
  });
  return async (...args) => {
    const cluster = await NodeCluster.start(...args);
    started.push(cluster);
    return cluster;
  };
}
