/**
 * One simulated machine of the multi-group world: the group logs and
 * snapshots that survive its crashes (one simulated disk and snapshot store
 * per group), and the current incarnation of the production `RaftHost`
 * running every replica it holds on one drifting, pausable clock and one
 * transport over the simulated network.
 */
import type { NodeId } from '../../src/core/types.js';
import { RaftHost } from '../../src/host/raft-host.js';
import type { GroupParts } from '../../src/host/raft-host.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import type { Transport } from '../../src/transport/transport.js';
import type { GroupId } from '../../src/util/group-id.js';
import { SeededRandom } from '../../src/util/random.js';
import type { VirtualClock } from '../../src/util/clock.js';
import { KvStateMachine } from '../world/kv-state-machine.js';
import type { SimNetwork } from '../world/network.js';
import { NodeClock } from '../world/node-clock.js';
import type { DiskEvent } from '../world/sim-disk.js';
import { SimSnapshots, digestsAtCapture } from '../world/sim-snapshots.js';
import { uniform } from '../world/streams.js';
import type { GroupPlacement, HostWorldParams } from './host-params.js';
import { ReplicaWatch } from './replica-watch.js';
import type { ReplicaWatchHost } from './replica-watch.js';
import { SimGroupLogs } from './sim-group-logs.js';

/** What a {@link SimHost} needs from its world. */
export interface SimHostWorld extends ReplicaWatchHost {
  readonly clock: VirtualClock;
  readonly network: SimNetwork;
  readonly params: HostWorldParams;
  /** Incarnation seeds and clock rates (the world's `nodes` stream). */
  readonly random: SeededRandom;
  /** A group's disk on this host reported something. */
  disk(host: NodeId, group: GroupId, event: DiskEvent): void;
  /** A host incarnation finished starting (its groups are open). */
  hostUp(host: SimHost): void;
  /** The host refused input or failed to open a group (RaftHost's log). */
  hostLog(host: NodeId, event: 'refused' | 'group-open-failed' | 'drop-refused', message: string): void;
}

/** The life cycle of a simulated host: `starting` while its RaftHost opens and creates its groups. */
export type SimHostState = 'down' | 'starting' | 'up';

/** A simulated machine running a `RaftHost`. */
export class SimHost {
  readonly logs: SimGroupLogs;
  private readonly snapshots = new Map<GroupId, SimSnapshots>();
  state: SimHostState = 'down';
  /** Counts starts; fault undo actions check it so they only touch the incarnation they were meant for. */
  incarnation = 0;
  clock: NodeClock | null = null;
  raftHost: RaftHost<unknown> | null = null;
  /** This incarnation's replicas, by group. */
  replicas = new Map<GroupId, ReplicaWatch>();
  private transport: Transport | null = null;
  /** Every group of {@link placements} was created once: later starts only reopen what the disks hold. */
  private placedGroupsCreated = false;

  constructor(
    readonly id: NodeId,
    /** The groups with a replica on this host, in id order. */
    readonly placements: readonly GroupPlacement[],
    private readonly world: SimHostWorld,
    diskRandom: SeededRandom,
  ) {
    this.logs = new SimGroupLogs({ disk: world.params.world.disk, random: diskRandom, report: (group, event) => world.disk(id, group, event) });
  }

  /** Starts a new incarnation over the durable state; creates the groups placed here that it does not hold yet. */
  async start(): Promise<void> {
    const world = this.world;
    const params = world.params.world;
    const rate = 1 + uniform(world.random, -params.driftMax, params.driftMax);
    this.incarnation++;
    const incarnation = this.incarnation;
    const clock = new NodeClock(world.clock, rate, world.clock.now() * rate);
    this.clock = clock;
    this.logs.beginIncarnation(clock);
    this.replicas = new Map();
    this.state = 'starting';
    const transport = world.network.transport(this.id, clock);
    this.transport = transport;
    world.note(`${this.id} start #${incarnation} rate ${rate.toFixed(5)}`);
    const raftHost = await RaftHost.open<unknown>({
      hostId: this.id,
      peers: params.ids.filter((other) => other !== this.id),
      transport,
      logs: this.logs,
      clock,
      tickIntervalMs: params.tickIntervalMs,
      quiescence: { enabled: world.params.quiescence, afterTicks: world.params.quiesceAfterTicks },
      log: (record) => world.hostLog(this.id, record.event, `${record.group === undefined ? '' : `${record.group}: `}${record.message}`),
      groupDefaults: {
        electionTicks: params.electionTicks,
        heartbeatTicks: params.heartbeatTicks,
        preVote: params.preVote,
        checkQuorum: params.checkQuorum,
        maxClockDriftTicks: params.maxClockDriftTicks,
        requestTimeoutMs: params.requestTimeoutMs,
        limits: { maxInflightMsgs: params.maxInflightMsgs, maxMsgBytes: params.maxMsgBytes },
        snapshotting: { entries: params.snapshotEntries, keepEntries: params.keepEntries, chunkBytes: params.chunkBytes },
      },
      groupParts: (group) => this.groupParts(group),
    });
    if (this.incarnation !== incarnation) {
      // Crashed while opening: this incarnation is dead already.
      void raftHost.close().catch(() => undefined);
      return;
    }
    this.raftHost = raftHost;
    for (const group of raftHost.groups()) this.attach(group, raftHost.group(group)!);
    // On the first start, and after a crash that struck before every group was created (not after a group was dropped).
    for (const placement of this.placedGroupsCreated ? [] : this.placements) {
      if (this.logs.disk(placement.group) !== undefined) continue;
      const node = await raftHost.createGroup(placement.group, { members: placement.members });
      if (this.incarnation !== incarnation) return;
      this.attach(placement.group, node);
    }
    this.placedGroupsCreated = true;
    this.state = 'up';
    world.hostUp(this);
  }

  /** Starts an empty replica of `group` that waits for the group's leader to add it (`createGroup` with `join`). */
  async createJoining(group: GroupId): Promise<void> {
    const raftHost = this.raftHost;
    const incarnation = this.incarnation;
    if (raftHost === null || this.state !== 'up') return;
    const node = await raftHost.createGroup(group, { join: true });
    if (this.incarnation === incarnation) this.attach(group, node);
  }

  /** Stops this host's replica of `group` and deletes its log (`removeGroup`); it is no longer watched. */
  async dropGroup(group: GroupId): Promise<void> {
    const raftHost = this.raftHost;
    if (raftHost === null) return;
    const removing = raftHost.removeGroup(group);
    // removeGroup takes the group off the host before its first await; a refused call leaves it running and watched.
    if (raftHost.group(group) === undefined) {
      this.replicas.get(group)?.detach();
      this.replicas.delete(group);
    }
    await removing;
  }

  /**
   * Drops this host's replica of `group` through the safe drop
   * (`dropRemovedGroup`); resolves whether it was dropped. A refused drop
   * starts the replica again from its log, watched anew once `reopened` has
   * told the checkers.
   */
  async dropRemovedGroup(group: GroupId, reopened: () => void): Promise<boolean> {
    const raftHost = this.raftHost;
    if (raftHost === null) return false;
    const incarnation = this.incarnation;
    const dropping = raftHost.dropRemovedGroup(group);
    // dropRemovedGroup takes a marked group off the host before its first await.
    if (raftHost.group(group) === undefined) {
      this.replicas.get(group)?.detach();
      this.replicas.delete(group);
    }
    const dropped = await dropping;
    const node = raftHost.group(group);
    if (!dropped && this.incarnation === incarnation && node !== undefined && this.replicas.get(group)?.node !== node) {
      // Closed and opened again from its log: to the checkers, a restart of this replica.
      reopened();
      this.attach(group, node);
    }
    return dropped;
  }

  /**
   * Pulls the plug: the clock dies first (no callback of this incarnation
   * runs again), then every group's unsynced writes are lost, then the
   * transport detaches and the host is closed, so that its pending requests
   * reject. Returns the writes lost over all groups.
   */
  crash(): number {
    if (this.state === 'down') return 0;
    this.clock?.kill();
    const lost = this.logs.crash();
    for (const snapshots of this.snapshots.values()) snapshots.crash();
    for (const replica of this.replicas.values()) replica.detach();
    const raftHost = this.raftHost;
    const transport = this.transport;
    this.raftHost = null;
    this.transport = null;
    this.state = 'down';
    this.incarnation++;
    void transport?.close().catch(() => undefined);
    // close() settles in microtasks (its storage writes were just rejected); nothing waits for it.
    if (raftHost !== null) void raftHost.close().catch(() => undefined);
    return lost;
  }

  /** True while the host runs and its clock is paused. */
  get paused(): boolean {
    return this.state !== 'down' && this.clock?.isPaused === true;
  }

  /** The running replica of `group` here, or null. */
  replica(group: GroupId): ReplicaWatch | null {
    const replica = this.replicas.get(group);
    return replica !== undefined && replica.running ? replica : null;
  }

  /** Runs `action` as soon as the host is not paused (a client's request waits in the socket buffer). */
  runOn(action: () => void): void {
    const clock = this.clock;
    if (clock === null || !clock.isPaused) action();
    else clock.setTimeout(action, 0);
  }

  private groupParts(group: GroupId): GroupParts<unknown> {
    let snapshots = this.snapshots.get(group);
    if (snapshots === undefined) {
      snapshots = new SimSnapshots();
      this.snapshots.set(group, snapshots);
    }
    const placement = this.placements.find((candidate) => candidate.group === group);
    const machine = new KvStateMachine();
    // Where replicas move, any host may be a member: the watch looks at every host's match index.
    const members = this.world.params.rebalance === null ? (placement?.members ?? []) : this.world.params.world.ids;
    const replica = new ReplicaWatch(this.id, group, members, machine, this.logs.disk(group)!, this.world);
    this.replicas.set(group, replica);
    return {
      stateMachine: digestsAtCapture(machine, (index, digest) => replica.capturedDigests.set(index, digest)),
      snapshots: snapshots.open(),
      random: new SeededRandom(this.world.random.nextUint32()),
    };
  }

  private attach(group: GroupId, node: RaftNode<unknown>): void {
    const replica = this.replicas.get(group);
    const handle = this.logs.handle(group);
    if (replica === undefined || handle === null) throw new Error(`${this.id}: group ${group} opened without its parts`);
    replica.attach(node, handle);
  }
}
