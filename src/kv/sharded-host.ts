import type { NodeId } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import { RaftHost } from '../host/raft-host.js';
import type { GroupDefaults, HostLogRecord, QuiescencePolicy } from '../host/raft-host.js';
import type { RaftNode } from '../node/raft-node.js';
import type { GroupLogs } from '../storage/group-logs.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import type { Transport } from '../transport/transport.js';
import type { Clock } from '../util/clock.js';
import type { KvResult } from './commands.js';
import type { Logger } from 'pino';
import { KvHttpApi } from './http-api.js';
import { KvMetrics } from './metrics.js';
import { Rebalancer } from './rebalancer.js';
import type { RebalanceStats } from './rebalancer.js';
import { ShardMap } from './shard-map.js';
import { KvStore } from './store.js';
import { SystemClock } from '../util/clock.js';
import type { TimerHandle } from '../util/clock.js';

/** Options of {@link ShardedKvHost.open}. */
export interface ShardedKvHostOptions {
  /** This host's id: one of `hosts`, and the node id of its shard replicas. */
  readonly hostId: NodeId;
  /** Shards, replicas per shard and every host of the cluster: the same on every host. */
  readonly shards: number;
  /** Replicas per shard. @defaultValue 3, or the number of hosts when fewer */
  readonly replicas?: number;
  /** Every host of the cluster, this one included. */
  readonly hosts: readonly NodeId[];
  /** Carries every shard's messages between hosts (a `TcpTransport` with the host id as node id). */
  readonly transport: Transport;
  /** Every shard replica's log on this host (`LevelEngine`). The caller closes it after the host. */
  readonly logs: GroupLogs;
  /** The snapshot store of each shard replica here. */
  readonly snapshotsFor: (shard: string) => SnapshotStore | Promise<SnapshotStore>;
  /** @defaultValue a `SystemClock` */
  readonly clock?: Clock;
  /** Milliseconds per tick of the host's ticker. @defaultValue 100 */
  readonly tickIntervalMs?: number;
  /** Options for every shard replica (timing, limits, policies). */
  readonly groupDefaults?: GroupDefaults<KvResult>;
  /** When idle shards quiesce. @defaultValue on, after one election timeout */
  readonly quiescence?: QuiescencePolicy;
  /** Deadline of one HTTP write or read, in milliseconds. @defaultValue 5000 */
  readonly requestTimeoutMs?: number;
  /** Every host's Raft address (`host:port`), which a membership change adding that host's replica to a shard replicates. */
  readonly raftAddresses?: ReadonlyMap<NodeId, string>;
  /**
   * This host joins a running cluster (`hosts` lists it with the others): its
   * shard replicas start empty and wait for each shard's leader to add them,
   * which the other hosts' rebalancers do once told the new host list
   * ({@link ShardedKvHost.setHosts}). @defaultValue false
   */
  readonly join?: boolean;
  /** How often the rebalancer reconciles the shards this host leads with the layout, in milliseconds. @defaultValue 500 */
  readonly rebalanceIntervalMs?: number;
  /** Where the host, its rebalancer and the shards' APIs log (pino); nothing is logged when absent. */
  readonly logger?: Logger;
}

/** One shard replica on this host: the group's node, its store and the HTTP API of that shard. */
export interface ShardReplica {
  /** The shard (group) id. */
  readonly shard: string;
  /** The shard's replica on this host. */
  readonly node: RaftNode<KvResult>;
  /** Its key-value store. */
  readonly store: KvStore;
  /**
   * The unsharded HTTP API of this shard, which the sharded front hands the
   * shard's requests to. It checks no tokens: the front checks every request's
   * before handing it over, so serve it only through the front.
   */
  readonly api: KvHttpApi;
}

/**
 * The hosts side of the sharded key-value service: a {@link RaftHost} running
 * a replica of every shard that the {@link ShardMap} places on this host,
 * each a `KvStore`. At open it creates the replicas the map gives it that its
 * logs do not hold yet (a new shard replica of a new cluster), and reopens
 * the others. Routing a key to its shard, and to another host when this one
 * holds no replica of it, is the HTTP front's job (sharded-http-api.ts).
 */
export class ShardedKvHost {
  private readonly replicas = new Map<string, ShardReplica>();
  private readonly addresses: Map<NodeId, string>;
  private readonly rebalancer: Rebalancer;
  private readonly clock: Clock;
  private rebalanceTimer: TimerHandle | null = null;
  private closed = false;

  private constructor(
    /** The host running the shard replicas. */
    readonly host: RaftHost<KvResult>,
    private map: ShardMap,
    private readonly options: ShardedKvHostOptions,
    private readonly stores: Map<string, KvStore>,
  ) {
    this.addresses = new Map(options.raftAddresses ?? []);
    this.clock = options.clock ?? new SystemClock();
    this.rebalancer = new Rebalancer({
      hostId: options.hostId,
      map: () => this.map,
      replica: (shard) => this.replicas.get(shard)?.node,
      localShards: () => [...this.replicas.keys()],
      raftAddress: (id) => this.addresses.get(id),
      dropReplica: async (shard) => {
        // Out of the map first: while the host closes and judges the replica, no request or status read reaches it.
        this.replicas.delete(shard);
        let dropped = false;
        try {
          dropped = await this.host.dropRemovedGroup(shard);
          return dropped;
        } finally {
          if (!dropped) this.reattach(shard);
        }
      },
      log: (message, fields) => this.options.logger?.info(fields, message),
    });
  }

  /**
   * Opens the host and its shard replicas. Rejects with `InvalidArgumentError`
   * for a bad layout (and whatever `RaftHost.open` rejects with).
   */
  static async open(options: ShardedKvHostOptions): Promise<ShardedKvHost> {
    const map = new ShardMap({ shards: options.shards, hosts: options.hosts, ...(options.replicas === undefined ? {} : { replicas: options.replicas }) });
    if (!options.hosts.includes(options.hostId)) throw new InvalidArgumentError(`hosts must include this host ${options.hostId}`);
    const stores = new Map<string, KvStore>();
    const logger = options.logger;
    const host = await RaftHost.open<KvResult>({
      hostId: options.hostId,
      peers: options.hosts.filter((id) => id !== options.hostId),
      transport: options.transport,
      logs: options.logs,
      groupParts: async (shard) => {
        const store = new KvStore();
        stores.set(shard, store);
        return { stateMachine: store, snapshots: await options.snapshotsFor(shard) };
      },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.tickIntervalMs === undefined ? {} : { tickIntervalMs: options.tickIntervalMs }),
      ...(options.groupDefaults === undefined ? {} : { groupDefaults: options.groupDefaults }),
      ...(options.quiescence === undefined ? {} : { quiescence: options.quiescence }),
      ...(logger === undefined ? {} : { log: ({ level, message, ...fields }: HostLogRecord) => logger[level](fields, message) }),
    });
    const sharded = new ShardedKvHost(host, map, options, stores);
    try {
      for (const shard of map.shardsOn(options.hostId)) {
        if (host.group(shard) !== undefined || host.failedGroups().has(shard)) continue;
        await host.createGroup(shard, options.join === true ? { join: true } : { members: map.placement(shard) });
      }
      for (const shard of host.groups()) sharded.track(shard);
    } catch (error) {
      await host.close();
      throw error;
    }
    sharded.scheduleRebalance();
    return sharded;
  }

  /**
   * Changes the cluster's hosts (each with its Raft address): tell every host,
   * old and new, the same list. This host starts empty replicas of the shards
   * the new layout places on it (they wait to be added), and from then on its
   * rebalancer moves the replicas of the shards it leads to their new hosts by
   * membership change, while requests go on. A list without this host means
   * it is leaving: the shards it leads hand its replica over, and it drops
   * each replica once removed. Rejects with `InvalidArgumentError` for an
   * empty list.
   */
  async setHosts(hosts: ReadonlyMap<NodeId, string>): Promise<void> {
    if (hosts.size === 0) throw new InvalidArgumentError('setHosts: the list of hosts is empty');
    for (const [id, address] of hosts) {
      this.addresses.set(id, address);
      if (id !== this.options.hostId) this.host.addHost(id, address);
    }
    this.map = this.map.withHosts([...hosts.keys()]);
    for (const shard of this.map.shardsOn(this.options.hostId)) {
      if (this.host.group(shard) !== undefined) continue;
      await this.host.createGroup(shard, { join: true });
      this.track(shard);
    }
  }

  /** What the rebalancer did, and whether the shards this host leads match the layout. */
  rebalanceStats(): RebalanceStats {
    return this.rebalancer.stats();
  }

  /** The layout every host computes. */
  get shardMap(): ShardMap {
    return this.map;
  }

  /** This host's replica of `shard`, or undefined. */
  replica(shard: string): ShardReplica | undefined {
    return this.replicas.get(shard);
  }

  /** Every shard replica on this host, by shard id. */
  localReplicas(): ReadonlyMap<string, ShardReplica> {
    return this.replicas;
  }

  /** Stops the rebalancer, every replica and the host. The caller closes the logs afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.rebalanceTimer !== null) this.clock.clearTimeout(this.rebalanceTimer);
    this.rebalanceTimer = null;
    await this.host.close();
  }

  private scheduleRebalance(): void {
    if (this.closed) return;
    this.rebalanceTimer = this.clock.setTimeout(() => {
      this.rebalanceTimer = null;
      void this.rebalancer.reconcile(this.options.requestTimeoutMs ?? 5000).catch(() => false).finally(() => this.scheduleRebalance());
    }, this.options.rebalanceIntervalMs ?? 500);
  }

  /** A refused drop started the shard's replica again from its log: the shard's entry follows the new replica. */
  private reattach(shard: string): void {
    if (this.host.group(shard) === undefined) this.replicas.delete(shard);
    else this.track(shard);
  }

  private track(shard: string): void {
    const node = this.host.group(shard)!;
    const store = this.stores.get(shard)!;
    const api = new KvHttpApi({
      node,
      store,
      ...(this.options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.options.requestTimeoutMs }),
      // The front serves /metrics for the host; a shard's API counts into its own registry, without process metrics.
      metrics: new KvMetrics({ processMetrics: false }),
      ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
    });
    this.replicas.set(shard, { shard, node, store, api });
  }
}
