import type { NodeId } from '../core/types.js';
import { GroupExistsError, InvalidArgumentError, NodeClosedError, UnknownGroupError, UnknownMemberError } from '../errors.js';
import { RaftNode } from '../node/raft-node.js';
import type { LogStorage } from '../storage/storage.js';
import { SystemClock } from '../util/clock.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { checkGroupId } from '../util/group-id.js';
import type { GroupId } from '../util/group-id.js';
import { GroupQuiescence } from './group-quiescence.js';
import { HostLoop } from './host-loop.js';
import { HostTransport } from './host-transport.js';
import { RemovalNotices } from './removal-notices.js';
import { whyNotDroppable, whyNotPristine } from './safe-drop.js';
import { checkHostOptions } from './host-options.js';
import type { CreateGroupOptions, RaftHostOptions, RaftHostStats } from './host-options.js';

export type { CreateGroupOptions, GroupDefaults, GroupParts, HostLogRecord, QuiescencePolicy, RaftHostOptions, RaftHostStats } from './host-options.js';

interface HostedGroup<Result> {
  readonly node: RaftNode<Result>;
  readonly storage: LogStorage;
  /** How the replica was started: how to start it again after a refused drop. */
  readonly start: CreateGroupOptions;
}

/**
 * Many Raft groups in one process (docs/multi-raft.md). Each group is a
 * `RaftNode` (a replica, whose node id is this host's id) with its own
 * members, state machine, log and snapshots; what the groups share is the
 * host's:
 * - **loop** (host-loop.ts): every group's owner loop runs its turns in the
 *   host's rounds, one bounded turn per group with work per round;
 * - **transport** (host-transport.ts): one connection per peer host; each
 *   round's messages to a host, of every group, leave as one batch;
 * - **log engine** (`LevelEngine`): one database, one synced batch for the
 *   writes of every group in a round;
 * - **ticker**: one timer ticks every group.
 *
 * Create and remove groups at runtime; {@link RaftHost.open} opens every
 * group found in the logs. A group whose log is damaged is reported and left
 * closed; the others run.
 *
 * @typeParam Result - what the groups' state machines' `apply` returns.
 */
export class RaftHost<Result = unknown> {
  private readonly groupsById = new Map<GroupId, HostedGroup<Result>>();
  private readonly failed = new Map<GroupId, Error>();
  /** Groups being created or removed: a second call for the same id is refused meanwhile. */
  private readonly busy = new Set<GroupId>();
  private readonly hosts: Set<NodeId>;
  private readonly transport: HostTransport;
  private readonly loop: HostLoop;
  private readonly quiescence: GroupQuiescence;
  private readonly quiescenceEnabled: boolean;
  private readonly removalNotices: RemovalNotices;
  private readonly clock: Clock;
  private readonly tickIntervalMs: number;
  private tickTimer: TimerHandle | null = null;
  private ticks = 0;
  private state: 'running' | 'closed' = 'running';
  private closing: Promise<void> | null = null;

  private constructor(private readonly options: RaftHostOptions<Result>) {
    this.clock = options.clock ?? new SystemClock();
    this.tickIntervalMs = options.tickIntervalMs ?? 100;
    this.hosts = new Set([options.hostId, ...options.peers]);
    const log = options.log;
    const electionTicks = options.groupDefaults?.electionTicks ?? 10;
    this.quiescenceEnabled = options.quiescence?.enabled ?? true;
    this.quiescence = new GroupQuiescence({
      hostId: options.hostId,
      afterTicks: options.quiescence?.afterTicks ?? electionTicks,
      livenessTicks: electionTicks,
      lastHeardFrom: (host) => this.transport.lastHeardFrom(host),
      sendNotice: (to, group, term, index) => this.transport.sendQuiesceNotice(to, group, term, index),
    });
    this.removalNotices = new RemovalNotices({
      clock: this.clock,
      intervalMs: electionTicks * this.tickIntervalMs,
      configWithout: (group, peer) => this.groupsById.get(group)?.node.hostConfigWithout(peer) ?? null,
      send: (peer, group, configIndex) => this.transport.sendNotMemberNotice(peer, group, configIndex),
    });
    this.transport = new HostTransport({
      hostId: options.hostId,
      wire: options.transport,
      clock: this.clock,
      voteRequest: (group, from) => this.removalNotices.onVoteRequest(group, from),
      memberQuery: (group, from) => this.removalNotices.onMemberQuery(group, from),
      notMemberNotice: (group, _from, configIndex) => {
        const node = this.groupsById.get(group)?.node;
        node?.hostNotMember(configIndex);
        return node !== undefined;
      },
      quiesceNotice: (group, from, term, index) => this.quiescence.onNotice(group, this.groupsById.get(group)?.node as RaftNode<unknown> | undefined, from, term, index),
      isQuiesced: (group) => this.quiescence.isQuiesced(group),
      ...(log === undefined ? {} : { refused: (from: NodeId, message: string) => log({ level: 'warn', event: 'refused', from, message }) }),
    });
    this.loop = new HostLoop(this.clock, this.transport);
  }

  /**
   * Starts the host: the transport, every group found in `options.logs`, and
   * the ticker. Rejects with `InvalidArgumentError` for bad options; a group
   * that fails to open is reported in {@link RaftHost.failedGroups}, not thrown.
   */
  static async open<Result = unknown>(options: RaftHostOptions<Result>): Promise<RaftHost<Result>> {
    checkHostOptions(options);
    const host = new RaftHost<Result>(options);
    await host.transport.start();
    for (const listing of await options.logs.listGroups()) {
      if (listing.error !== undefined) {
        host.reportOpenFailure(listing.group, listing.error);
        continue;
      }
      try {
        const storage = await options.logs.openGroup(listing.group);
        const start: CreateGroupOptions = listing.membership === null ? { join: true } : { members: listing.membership.voters };
        await host.startGroup(listing.group, storage, start);
      } catch (error) {
        host.reportOpenFailure(listing.group, error);
      }
    }
    host.scheduleTick();
    return host;
  }

  /** This host's id. */
  get hostId(): NodeId {
    return this.options.hostId;
  }

  /**
   * Creates a group here and starts its replica. With `members`, a new group
   * of those voters (this host among them, or the group has no replica here
   * to speak of); with `join`, a replica that a running group's leader adds
   * (`addLearner`/`addVoter` on it). Rejects with `GroupExistsError` when
   * this host holds the group, `UnknownMemberError` when a member is not a
   * known host, `InvalidArgumentError` for a malformed id or options, and
   * `NodeClosedError` after close. Nothing is written for a refused call.
   */
  async createGroup(group: GroupId, start: CreateGroupOptions): Promise<RaftNode<Result>> {
    this.checkRunning();
    checkGroupId(group, 'createGroup');
    if (this.groupsById.has(group) || this.busy.has(group)) throw new GroupExistsError(group);
    const membership = this.checkStart(start);
    this.busy.add(group);
    try {
      const storage = await this.options.logs.createGroup(group, { membership });
      return await this.startGroup(group, storage, start);
    } finally {
      this.busy.delete(group);
    }
  }

  /**
   * Stops this host's replica of `group` and deletes its log. The group's
   * membership is not changed: remove this host from it first (on its
   * leader, `removeMember(hostId)`), or the group loses a replica it counts on.
   * Rejects with `UnknownGroupError` when this host does not hold the group.
   */
  async removeGroup(group: GroupId): Promise<void> {
    this.checkRunning();
    checkGroupId(group, 'removeGroup');
    const hosted = this.groupsById.get(group);
    if (hosted === undefined || this.busy.has(group)) throw new UnknownGroupError(group, 'removeGroup');
    this.busy.add(group);
    try {
      this.groupsById.delete(group);
      this.quiescence.forget(group);
      await hosted.node.close();
      await hosted.storage.close();
      await this.options.logs.removeGroup(group);
    } finally {
      this.busy.delete(group);
    }
  }

  /**
   * Deletes this host's replica of `group` if it is safe to: the replica
   * knows it was removed from the group (it applied its removal, or a
   * member's host told it, `NodeStatus.removed`) and no leader can be
   * counting on it. The replica is closed first, so no acknowledgement can
   * leave it any more; then its durable log must show (a) a latest
   * configuration that leaves this host out, or one older than the removal
   * it was told of, and (b) the same last entry as when it was marked
   * removed (an append since means a leader added it back). Only then is the
   * log deleted and the promise resolves true. Otherwise the replica is
   * started again from its log and it resolves false (docs/multi-raft.md,
   * "Dropping a removed replica safely").
   *
   * A joining replica never added (no configuration lists anyone) is dropped
   * the same way if its closed log is pristine: no entry, no snapshot, no
   * vote (a layout that placed a replica here and moved it away before the
   * leader added it).
   *
   * Rejects with `UnknownGroupError` when this host does not hold the group
   * and `NodeClosedError` after close.
   */
  async dropRemovedGroup(group: GroupId): Promise<boolean> {
    this.checkRunning();
    checkGroupId(group, 'dropRemovedGroup');
    const hosted = this.groupsById.get(group);
    if (hosted === undefined || this.busy.has(group)) throw new UnknownGroupError(group, 'dropRemovedGroup');
    const neverConfigured = isUnconfigured(hosted.node.status());
    if (hosted.node.hostRemovalMark() === null && !neverConfigured) return false;
    this.busy.add(group);
    try {
      this.groupsById.delete(group);
      this.quiescence.forget(group);
      await hosted.node.close();
      // Read after close: the mark cannot change and the log cannot grow any more.
      const mark = hosted.node.hostRemovalMark();
      const why = mark !== null ? whyNotDroppable(hosted.storage, this.options.hostId, mark) : neverConfigured ? whyNotPristine(hosted.storage) : 'it is no longer marked removed';
      await hosted.storage.close();
      if (why === null) {
        await this.options.logs.removeGroup(group);
        return true;
      }
      this.options.log?.({ level: 'warn', event: 'drop-refused', group, message: `kept the replica of ${group}: ${why}` });
      if (this.state === 'running') {
        try {
          await this.startGroup(group, await this.options.logs.openGroup(group), hosted.start);
        } catch (error) {
          this.reportOpenFailure(group, error);
        }
      }
      return false;
    } finally {
      this.busy.delete(group);
    }
  }

  /** The replica of `group` on this host, or undefined. */
  group(group: GroupId): RaftNode<Result> | undefined {
    return this.groupsById.get(group)?.node;
  }

  /** The groups this host runs, in id order. */
  groups(): GroupId[] {
    return [...this.groupsById.keys()].sort();
  }

  /** Whether this host's replica of `group` is quiesced (docs/multi-raft.md). */
  isQuiesced(group: GroupId): boolean {
    return this.quiescence.isQuiesced(group);
  }

  /** Groups found at open whose log could not be opened, with why. They stay closed; the others run. */
  failedGroups(): ReadonlyMap<GroupId, Error> {
    return this.failed;
  }

  /** Makes `id` a host of the cluster, reachable at `address` (`host:port` over TCP). */
  addHost(id: NodeId, address: string): void {
    this.checkRunning();
    if (typeof id !== 'string' || id.length === 0 || id === this.options.hostId) throw new InvalidArgumentError(`addHost: cannot add host ${JSON.stringify(id)}`);
    this.hosts.add(id);
    this.transport.addPeer(id, address);
  }

  /** What the host runs and how much it did. */
  stats(): RaftHostStats {
    return {
      groups: this.groupsById.size,
      failedGroups: this.failed.size,
      loop: this.loop.stats(),
      transport: this.transport.stats(),
      quiescence: this.quiescence.stats(),
      removalNotices: this.removalNotices.stats(),
      ticks: this.ticks,
    };
  }

  /** Stops every group's replica, the ticker and the transport, and closes the groups' logs. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Closes the host, for `await using host = await RaftHost.open(...)`; the same as {@link RaftHost.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async startGroup(group: GroupId, storage: LogStorage, start: CreateGroupOptions): Promise<RaftNode<Result>> {
    let node: RaftNode<Result>;
    try {
      const parts = await this.options.groupParts(group);
      node = await RaftNode.openHosted<Result>(
        {
          ...this.options.groupDefaults,
          ...('join' in start ? { join: true } : { members: start.members }),
          id: this.options.hostId,
          storage,
          snapshots: parts.snapshots,
          stateMachine: parts.stateMachine,
          transport: this.transport.forGroup(group),
          clock: this.clock,
          tickIntervalMs: this.tickIntervalMs,
          ...(parts.random === undefined ? {} : { random: parts.random }),
        },
        {
          scheduler: this.loop,
          onInput: (input) => this.quiescence.onInput(group, input),
          askMembership: (voters) => {
            for (const voter of voters) if (voter !== this.options.hostId) this.transport.sendMemberQuery(voter, group);
          },
        },
      );
    } catch (error) {
      await storage.close().catch(() => undefined);
      throw error;
    }
    this.groupsById.set(group, { node, storage, start });
    this.quiescence.add(group, node as RaftNode<unknown>);
    return node;
  }

  private checkStart(start: CreateGroupOptions): { voters: readonly NodeId[] } | null {
    if (typeof start !== 'object' || start === null) throw new InvalidArgumentError('createGroup: options must be { members } or { join: true }');
    if ('join' in start) {
      if (start.join !== true) throw new InvalidArgumentError('createGroup: join must be true');
      return null;
    }
    const members = start.members;
    if (!Array.isArray(members) || members.length === 0) throw new InvalidArgumentError('createGroup: members must list the voters of the new group');
    for (const member of members) {
      if (!this.hosts.has(member)) throw new UnknownMemberError(String(member), 'not a host of this cluster (RaftHostOptions.peers or addHost)');
    }
    return { voters: [...members] };
  }

  private reportOpenFailure(group: GroupId, error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error));
    this.failed.set(group, failure);
    this.options.log?.({ level: 'error', event: 'group-open-failed', group, message: failure.message });
  }

  private scheduleTick(): void {
    this.tickTimer = this.clock.setTimeout(() => {
      if (this.state !== 'running') return;
      this.ticks++;
      this.removalNotices.prune();
      if (this.quiescenceEnabled) {
        this.quiescence.tickAll();
        this.quiescence.checkLiveness(this.peerHosts());
      } else {
        for (const { node } of this.groupsById.values()) node.hostTick();
      }
      this.transport.heartbeatHosts(this.peerHosts());
      this.scheduleTick();
    }, this.tickIntervalMs);
  }

  /** Every other host of the cluster. */
  private *peerHosts(): Iterable<NodeId> {
    for (const host of this.hosts) if (host !== this.options.hostId) yield host;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closed';
    if (this.tickTimer !== null) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const groups = [...this.groupsById.values()];
    this.groupsById.clear();
    await Promise.allSettled(groups.map(({ node }) => node.close()));
    this.loop.stop();
    await Promise.allSettled(groups.map(({ storage }) => storage.close()));
    await this.transport.close();
  }

  private checkRunning(): void {
    if (this.state !== 'running') throw new NodeClosedError();
  }
}

/** A replica no configuration of which lists anyone: a joining replica that was never added. */
function isUnconfigured(status: { readonly members: readonly NodeId[]; readonly learners: readonly NodeId[]; readonly joint: unknown }): boolean {
  return status.members.length === 0 && status.learners.length === 0 && status.joint === null;
}
