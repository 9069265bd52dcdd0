/**
 * Hosts running many Raft groups, in one process on a virtual clock and an
 * in-process network: deterministic, no wall-clock sleeps. Each group's
 * replica runs the production runtime with a list state machine.
 */
import { afterEach } from 'vitest';
import { RaftHost } from '../../src/host/raft-host.js';
import type { RaftHostOptions } from '../../src/host/raft-host.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import { MemoryGroupLogs } from '../../src/storage/group-logs.js';
import type { GroupLogs } from '../../src/storage/group-logs.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { VirtualClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { ListStateMachine } from '../support/node-cluster.js';

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;

/** One host of the cluster: its logs and each group's state machine survive a restart of the host. */
export interface TestHost {
  readonly id: string;
  readonly logs: GroupLogs;
  readonly machines: Map<string, ListStateMachine>;
  readonly snapshots: Map<string, MemorySnapshotStore>;
  host: RaftHost<number> | null;
}

export class HostCluster {
  readonly clock = new VirtualClock();
  readonly network = new LocalNetwork(this.clock);
  readonly hosts = new Map<string, TestHost>();
  private readonly seeds: SeededRandom;

  constructor(
    readonly ids: readonly string[] = ['h1', 'h2', 'h3'],
    seed = 11,
    private readonly extra: Partial<RaftHostOptions<number>> = {},
  ) {
    this.seeds = new SeededRandom(seed);
    for (const id of ids) this.hosts.set(id, { id, logs: new MemoryGroupLogs(), machines: new Map(), snapshots: new Map(), host: null });
  }

  /** Starts every host. */
  static async start(ids?: readonly string[], seed?: number, extra?: Partial<RaftHostOptions<number>>): Promise<HostCluster> {
    const cluster = new HostCluster(ids, seed, extra);
    for (const id of cluster.ids) await cluster.startHost(id);
    return cluster;
  }

  /** Opens host `id` on its logs: every group found there starts, with a fresh state machine. */
  async startHost(id: string): Promise<RaftHost<number>> {
    const entry = this.entry(id);
    entry.host = await RaftHost.open<number>({
      hostId: id,
      peers: this.ids.filter((other) => other !== id),
      transport: this.network.transport(id),
      logs: entry.logs,
      clock: this.clock,
      tickIntervalMs: TICK_MS,
      groupDefaults: { electionTicks: ELECTION_TICKS },
      groupParts: (group) => {
        const machine = new ListStateMachine();
        entry.machines.set(group, machine);
        let snapshots = entry.snapshots.get(group);
        if (snapshots === undefined) {
          snapshots = new MemorySnapshotStore();
          entry.snapshots.set(group, snapshots);
        }
        return { stateMachine: machine, snapshots, random: new SeededRandom(this.seeds.nextUint32()) };
      },
      ...this.extra,
    });
    return entry.host;
  }

  /** Stops host `id` as a crash would: every replica's volatile state is gone, the logs (synced, in memory) stay. */
  async crashHost(id: string): Promise<void> {
    const entry = this.entry(id);
    await entry.host?.close();
    entry.host = null;
  }

  /** Creates `group` with these members on each of them. */
  async createGroup(group: string, members: readonly string[] = this.ids): Promise<void> {
    for (const id of members) await this.host(id).createGroup(group, { members });
  }

  host(id: string): RaftHost<number> {
    const host = this.entry(id).host;
    if (host === null) throw new Error(`host ${id} is not running`);
    return host;
  }

  /** The replica of `group` on host `id`. */
  replica(id: string, group: string): RaftNode<number> {
    const node = this.host(id).group(group);
    if (node === undefined) throw new Error(`host ${id} holds no group ${group}`);
    return node;
  }

  /** The host whose replica leads `group`, or null. */
  leaderOf(group: string): string | null {
    for (const [id, entry] of this.hosts) {
      if (entry.host?.group(group)?.status().role === 'leader') return id;
    }
    return null;
  }

  /** Advances the clock until every listed group has a leader. */
  async waitForLeaders(groups: readonly string[], maxMs = 200 * TICK_MS * ELECTION_TICKS): Promise<Map<string, string>> {
    for (let elapsed = 0; elapsed <= maxMs; elapsed += TICK_MS) {
      const leaders = new Map(groups.map((group) => [group, this.leaderOf(group)]));
      if ([...leaders.values()].every((leader) => leader !== null)) return leaders as Map<string, string>;
      await this.clock.advance(TICK_MS);
    }
    throw new Error(`no leader within ${maxMs} ms for some of ${groups.join(', ')}`);
  }

  /** Advances the clock until `promise` settles. */
  async run<T>(promise: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    for (let elapsed = 0; !settled && elapsed < maxMs; elapsed += TICK_MS) await this.clock.advance(TICK_MS);
    if (!settled) throw new Error(`did not settle within ${maxMs} ms of virtual time`);
    return tracked;
  }

  async close(): Promise<void> {
    for (const entry of this.hosts.values()) {
      await entry.host?.close();
      entry.host = null;
      await entry.logs.close();
    }
  }

  private entry(id: string): TestHost {
    const entry = this.hosts.get(id);
    if (entry === undefined) throw new Error(`unknown host ${id}`);
    return entry;
  }
}

/** A `start` for a test file: every cluster it starts is closed after each test. */
export function startClosedAfterEach(): (...args: Parameters<typeof HostCluster.start>) => Promise<HostCluster> {
  const clusters: HostCluster[] = [];
  afterEach(async () => {
    for (const cluster of clusters.splice(0)) await cluster.close();
  });
  return async (...args) => {
    const cluster = await HostCluster.start(...args);
    clusters.push(cluster);
    return cluster;
  };
}
