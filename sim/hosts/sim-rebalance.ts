/**
 * The sharded key-value service's rebalancer, run in a multi-group world:
 * every simulated host runs the production `Rebalancer` (src/kv/rebalancer.ts,
 * unchanged) over the groups of its `RaftHost`, which are the shards of a
 * `ShardMap` layout, as `ShardedKvHost` runs it. At the drawn times of the
 * plan (rebalance-plan.ts) the layout changes, as an operator's
 * `POST /admin/hosts` to every host would change it: a host joins it or
 * leaves it, and the replicas move by membership change (a learner added,
 * caught up and promoted; later the old replica removed; each host dropping
 * its replica once removed) while crashes, partitions, pauses and disk
 * faults strike.
 *
 * The adapter does what `ShardedKvHost` does: the hosts the layout gives a
 * shard start an empty replica (`createGroup(shard, { join: true })`) that
 * waits to be added, and a dropped replica is `removeGroup`d. Reconcile
 * passes run on each host's own clock (so a pause stops them and a crash
 * ends them); each incarnation of a host runs a rebalancer of its own, as a
 * restarted process would.
 *
 * Checked here: a host deletes a replica only once the replica's own
 * configuration lists it no more (neither voter nor learner), and at the end of
 * the liveness phase the layout is reached ({@link SimRebalance.missing}).
 */
import type { NodeId } from '../../src/core/types.js';
import type { KvResult } from '../../src/kv/commands.js';
import { Rebalancer } from '../../src/kv/rebalancer.js';
import type { RebalancerHost } from '../../src/kv/rebalancer.js';
import type { ShardMap } from '../../src/kv/shard-map.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import type { GroupId } from '../../src/util/group-id.js';
import { hasCode } from '../world/errors.js';
import type { HostWorld } from './host-world.js';
import { layoutMap } from './rebalance-plan.js';
import type { LayoutChange, RebalancePlan } from './rebalance-plan.js';
import type { SimHost } from './sim-host.js';

/**
 * Bugs planted in the adapter for the simulator's own tests (the checks must
 * catch them): `drop-before-removal` tells the rebalancer a replica the
 * layout no longer places on its host was removed, so the host drops it
 * while it is still a voter; `keep-dropped` never deletes a dropped replica;
 * `unsafe-drop` remembers a replica as removed once it was (as `isRemoved`
 * once did, sticky: a re-added replica still looks removed) and deletes it
 * with `removeGroup`, skipping the safe drop's checks, so a replica added
 * back and acknowledging entries is deleted under its leader.
 */
export type RebalanceBug = (typeof REBALANCE_BUGS)[number];

/** Every {@link RebalanceBug}. */
export const REBALANCE_BUGS = ['drop-before-removal', 'keep-dropped', 'unsafe-drop'] as const;

/** One host incarnation's rebalancer and what it counted so far. */
interface HostRebalancer {
  readonly rebalancer: Rebalancer;
  seen: { added: number; removed: number; dropped: number };
}

/** Drives the layout and every host's rebalancer of one world. */
export class SimRebalance {
  private map: ShardMap;
  private readonly shards: number;
  private faultPhase = true;
  private readonly creating = new Set<string>();
  /** For the planted `unsafe-drop`: the replicas (node objects) seen marked removed once. */
  private readonly seenRemoved = new WeakSet<object>();

  constructor(
    private readonly world: HostWorld,
    private readonly plan: RebalancePlan,
    private readonly bug: RebalanceBug | null = null,
  ) {
    this.shards = world.params.groups.length;
    this.map = layoutMap(this.shards, plan.initial);
  }

  /** Schedules the plan's layout changes on the world clock. */
  schedule(): void {
    this.world.record(`rebalance: layout [${this.plan.initial.join(',')}], ${this.plan.changes.map((change) => `${change.describe} at ${change.atMs.toFixed(0)}ms`).join(', ')}`);
    for (const change of this.plan.changes) this.world.at(change.atMs, () => this.change(change));
  }

  /** The liveness phase began: no fault strikes any more. */
  endFaultPhase(): void {
    this.faultPhase = false;
  }

  /** The hosts the current layout places `group` on. */
  placement(group: GroupId): readonly NodeId[] {
    return this.map.placement(group);
  }

  /** A host incarnation is up: it starts the replicas the layout gives it and runs its reconcile loop. */
  hostUp(host: SimHost): void {
    const incarnation = host.incarnation;
    const state: { current: HostRebalancer | null } = { current: null };
    const rebalancer = new Rebalancer(this.adapter(host, incarnation, () => state.current));
    state.current = { rebalancer, seen: { added: 0, removed: 0, dropped: 0 } };
    this.startJoining(host);
    const pass = (): void => {
      if (host.incarnation !== incarnation) return;
      this.startJoining(host);
      void rebalancer
        .reconcile(this.world.params.world.requestTimeoutMs)
        .catch(() => false)
        .finally(() => host.clock?.setTimeout(pass, this.plan.intervalMs));
    };
    host.clock!.setTimeout(pass, this.plan.intervalMs);
  }

  /** Why the layout is not reached yet ('' when it is): every shard's voters are its placement, no learner is left, and no host holds a replica the layout does not place there. */
  missing(): string {
    for (const group of this.map.shardIds()) {
      const placement = this.map.placement(group);
      const leader = this.world.leaderOf(group);
      const status = leader?.replica(group)?.node?.status();
      if (status === undefined) return `rebalance: ${group} has no leader`;
      const voters = [...status.members].sort();
      if (status.joint !== null || status.learners.length > 0 || voters.join(',') !== placement.join(',')) {
        return `rebalance: ${group} has voters [${voters.join(',')}]${status.learners.length > 0 ? ` and learners [${status.learners.join(',')}]` : ''}, the layout places it on [${placement.join(',')}]`;
      }
    }
    for (const host of this.world.hosts) {
      const extra = host.logs.ids().filter((group) => !this.map.placement(group).includes(host.id));
      if (extra.length > 0) return `rebalance: ${host.id} still holds replicas of ${extra.join(', ')}, which the layout does not place there`;
    }
    return '';
  }

  private change(change: LayoutChange): void {
    this.map = layoutMap(this.shards, change.hosts);
    this.world.record(`rebalance: ${change.describe}, layout [${change.hosts.join(',')}]`);
    this.world.markHost('layoutChanged');
    for (const host of this.world.hosts) this.startJoining(host);
  }

  /** Starts an empty replica of every shard the layout places on `host` that it does not hold (`ShardedKvHost.setHosts`). */
  private startJoining(host: SimHost): void {
    const raftHost = host.raftHost;
    if (host.state !== 'up' || raftHost === null) return;
    for (const group of this.map.shardsOn(host.id)) {
      const key = `${host.id}/${group}#${host.incarnation}`;
      if (raftHost.group(group) !== undefined || raftHost.failedGroups().has(group) || this.creating.has(key)) continue;
      this.creating.add(key);
      const incarnation = host.incarnation;
      this.world.record(`${host.id}/${group} starts a joining replica`);
      this.world.spawn(`${host.id} joins ${group}`, () =>
        host.createJoining(group).then(
          () => {
            this.creating.delete(key);
          },
          (error: unknown) => {
            this.creating.delete(key);
            // Being removed still, or the host died meanwhile: the next pass tries again.
            if (host.incarnation !== incarnation || hasCode(error, 'KEEL_GROUP_EXISTS')) return;
            throw error;
          },
        ),
      );
    }
  }

  /** The `RebalancerHost` of one host incarnation, as `ShardedKvHost` builds it. */
  private adapter(host: SimHost, incarnation: number, current: () => HostRebalancer | null): RebalancerHost {
    const world = this.world;
    const live = (): boolean => host.incarnation === incarnation && host.raftHost !== null;
    return {
      hostId: host.id,
      map: () => this.map,
      replica: (shard) => {
        const node = live() ? (host.raftHost!.group(shard) as RaftNode<KvResult> | undefined) : undefined;
        if (node !== undefined && this.bug === 'unsafe-drop') return this.stickyRemoved(node);
        if (node === undefined || this.bug !== 'drop-before-removal' || this.map.placement(shard).includes(host.id)) return node;
        // The planted bug: a replica the layout no longer places here looks removed at once, out of its configuration.
        const removed = (status: ReturnType<typeof node.status>): typeof status => ({ ...status, removed: true, members: status.members.filter((id) => id !== host.id), learners: status.learners.filter((id) => id !== host.id), joint: null });
        return { status: () => removed(node.status()) } as RaftNode<KvResult>;
      },
      localShards: () => (live() ? host.raftHost!.groups() : []),
      raftAddress: (id) => (world.params.world.ids.includes(id) ? id : undefined),
      dropReplica: async (shard) => {
        if (!live()) return false;
        const byNotice = host.raftHost!.group(shard)?.status().removedByNotice === true;
        if (!byNotice) this.checkDroppable(host, shard);
        if (this.bug === 'keep-dropped') return true;
        world.record(`${host.id}/${shard} drops its replica${byNotice ? ' (told it was removed)' : ''}`);
        if (this.bug === 'unsafe-drop') await host.dropGroup(shard);
        else if (!(await host.dropRemovedGroup(shard, () => world.checkers.get(shard)!.recordRestart(host.id)))) {
          world.record(`${host.id}/${shard} kept its replica: the safe drop refused`);
          world.markHost('replicaDropRefused');
          return false;
        }
        this.checkNoLeaderCounts(host, shard);
        world.checkers.get(shard)!.recordDropped(host.id);
        world.markHost('replicaDroppedAfterRemoval');
        if (byNotice) world.markHost('replicaDroppedAfterNotice');
        return true;
      },
      log: (message, fields) => {
        world.record(`${host.id} rebalancer: ${message} ${JSON.stringify(fields)}`);
        const counted = current();
        if (counted !== null) this.countMoves(counted);
      },
    };
  }

  /** Marks the moves a host's rebalancer completed since last seen (its log line follows each at once). */
  private countMoves(counted: HostRebalancer): void {
    const stats = counted.rebalancer.stats();
    const moves = stats.added - counted.seen.added + (stats.removed - counted.seen.removed);
    counted.seen = { added: stats.added, removed: stats.removed, dropped: stats.dropped };
    for (let i = 0; i < moves; i++) {
      this.world.markHost('rebalanceMoved');
      if (this.faultActive()) this.world.markHost('rebalanceMovedDuringFault');
    }
  }

  /** A fault is active now: a host down, restarting or paused, a partition, or a replica stopped on its failed disk. */
  private faultActive(): boolean {
    if (!this.faultPhase) return false;
    if (this.world.network.currentCuts().length > 0) return true;
    return this.world.hosts.some((host) => host.state !== 'up' || host.paused || [...host.replicas.values()].some((replica) => replica.stopped));
  }

  /** The planted `unsafe-drop`: a replica seen marked removed once keeps looking removed, out of its configuration. */
  private stickyRemoved(node: RaftNode<KvResult>): RaftNode<KvResult> {
    const status = node.status();
    if (status.removed) this.seenRemoved.add(node);
    if (!this.seenRemoved.has(node) || status.removed) return node;
    const id = node.id;
    const stale = { ...status, removed: true, members: status.members.filter((member) => member !== id), learners: status.learners.filter((member) => member !== id), joint: null };
    return { status: () => stale } as unknown as RaftNode<KvResult>;
  }

  /**
   * Once a replica is deleted, no leader may count on it: the group's
   * leader (of the highest term) must not list the host with a match index
   * above 0, which only the deleted replica's acknowledgements can have set
   * (a new replica of the host starts empty). Such a leader would count
   * entries no replica of the host holds, and retry a rejected append for
   * ever (docs/multi-raft.md, "Dropping a removed replica safely").
   */
  private checkNoLeaderCounts(host: SimHost, group: GroupId): void {
    // A leader of an older term than some replica's is deposed: it can commit nothing more, whatever it counts.
    let newestTerm = 0;
    for (const other of this.world.hosts) newestTerm = Math.max(newestTerm, other.state === 'up' ? (other.replica(group)?.node?.coreReader().currentTerm ?? 0) : 0);
    const leader = this.world.leaderOf(group);
    const node = leader?.replica(group)?.node;
    if (leader === null || node === undefined || node === null || leader === host || node.coreReader().currentTerm < newestTerm) return;
    const match = node.coreReader().matchIndex(host.id);
    if (match !== undefined && match > 0) {
      const status = node.status();
      this.world.fail('Dropped only after removal', `${host.id} deleted its replica of ${group} while ${leader.id}, its leader in term ${status.term}, counts it at match ${match} (voters [${status.members.join(',')}], learners [${status.learners.join(',')}])`);
    }
  }

  /**
   * A host deletes a replica's state only once the replica's configuration
   * lists it no more: not while a voter (its log counts), nor while a
   * learner (the leader counts its acknowledgements to promote it).
   */
  private checkDroppable(host: SimHost, group: GroupId): void {
    // Whatever the replica's `removed` flag says: its own configuration must no longer count it.
    const status = host.raftHost?.group(group)?.status();
    if (status === undefined) return;
    const listed = status.members.includes(host.id) || status.learners.includes(host.id) || (status.joint?.outgoingVoters.includes(host.id) ?? false);
    if (listed) {
      const config = `voters [${status.members.join(',')}]${status.learners.length > 0 ? `, learners [${status.learners.join(',')}]` : ''}`;
      this.world.fail('Dropped only after removal', `${host.id} dropped its replica of ${group} while its configuration lists it: ${config} (role ${status.role}, term ${status.term}, commit ${status.commitIndex})`);
    }
  }
}
