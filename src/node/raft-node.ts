import { RawNode } from '../core/raw-node.js';
import type { CoreReader, RaftStatus } from '../core/raw-node.js';
import type { Entry, Index, NodeId, SnapshotMeta, Term } from '../core/types.js';
import {
  InvalidArgumentError,
  KeelError,
  AbortedError,
  NodeClosedError,
  NodeFailedError,
  ProposalTooLargeError,
} from '../errors.js';
import type { TimerHandle } from './clock.js';
import { TypedEmitter } from './events.js';
import type { NodeEvents } from './events.js';
import { coreConfig, resolveNodeOptions } from './options.js';
import type { RaftNodeOptions, ResolvedNodeOptions } from './options.js';
import { MemberAddresses } from './member-addresses.js';
import { MembershipChanges } from './membership-changes.js';
import { encodeCommand } from './payload.js';
import { ForwardedProposals } from './forwarded-proposals.js';
import { PeerMessages } from './peer-messages.js';
import { Proposals } from './proposals.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import { SnapshotSender } from './snapshot-sender.js';
import { SessionTable, checkSession } from './sessions.js';
import type { ProposeOptions, ReadOptions, RequestOptions } from './request-options.js';
import { AwaitingLeader } from './awaiting-leader.js';
import { ReadBarriers } from './read-barriers.js';
import { KnownMembers } from './known-members.js';
import { restoreFromSnapshot, restoreState } from './snapshot-restore.js';
import { SnapshotTaker } from './snapshot-taker.js';
import { EntryApplier } from './entry-applier.js';
import { ReadyLoop } from './ready-loop.js';
import { whenLogLoaded } from './when-log-loaded.js';
import { LeadershipTransfers } from './leadership-transfers.js';
import { nodeStatus } from './node-status.js';
import { StatusEvents } from './status-events.js';
import type { NodeStatus } from './node-status.js';
import { ApplyWaiters } from './waiters.js';
import type { ApplyOutcome } from './waiters.js';

export { RemoteProposalError } from './forwarded-proposals.js';
export type { NodeStatus } from './node-status.js';
export type { ProposeOptions, ReadOptions, RequestOptions } from './request-options.js';

/**
 * A Raft node: the pure core driven by timers, durable storage, a transport
 * and the user's state machine. Create it with {@link RaftNode.open}.
 *
 * The Ready loop honours the core's contract: a leader's AppendEntries leave
 * in parallel with its own disk write; snapshot, entries and hard state are
 * durable before any dependent message is sent; committed entries are applied
 * in order, exactly once, after they are durable. Inputs that arrive while a
 * write is in flight are stepped into the core at once and form the next
 * batch, so many proposals share one synced write (group commit).
 *
 * @typeParam Result - what the state machine's `apply` returns to proposers.
 */
export class RaftNode<Result = unknown> extends TypedEmitter<NodeEvents> {
  private readonly core: RawNode;
  private readonly options: ResolvedNodeOptions<Result>;
  private readonly waiters: ApplyWaiters<Result>;
  private readonly forwarding: ForwardedProposals;
  private readonly proposals: Proposals<Result>;
  private readonly reads: ReadBarriers;
  /** Requests made while no leader was known, retried as soon as one is (they keep their deadlines). */
  private readonly awaitingLeader = new AwaitingLeader();
  /** Leadership transfers this node started and is watching. */
  private readonly transfers: LeadershipTransfers;
  private appliedIndex: Index;
  private readonly snapshotTaker: SnapshotTaker<Result>;
  private readonly applier: EntryApplier<Result>;
  private readonly sender: SnapshotSender;
  private readonly receiver: SnapshotReceiver;
  private readonly peers: PeerMessages;
  private readonly statusEvents: StatusEvents;
  private tickTimer: TimerHandle | null = null;
  private readonly readyLoop: ReadyLoop;
  private state: 'running' | 'closed' | 'failed' = 'running';
  private failure: NodeFailedError | null = null;
  private nextRequestId = 1;

  private readonly sessions: SessionTable;
  /** Addresses of members added at runtime, replicated through the log and snapshots (see member-addresses.ts). */
  private readonly addresses: MemberAddresses;
  private readonly membershipChanges: MembershipChanges;
  private readonly members: KnownMembers;

  private constructor(options: ResolvedNodeOptions<Result>, appliedIndex: Index, sessions: SessionTable, addresses: MemberAddresses) {
    super();
    this.options = options;
    this.sessions = sessions;
    this.addresses = addresses;
    this.appliedIndex = appliedIndex;
    this.core = new RawNode(coreConfig(options, appliedIndex));
    this.transfers = new LeadershipTransfers({ id: options.id, clock: options.clock });
    this.waiters = new ApplyWaiters<Result>(Math.min(options.limits.maxPendingProposals, 10_000));
    const policy = options.snapshotting;
    this.sender = new SnapshotSender(
      options.id,
      options.snapshots,
      options.clock,
      {
        chunkBytes: policy.chunkBytes,
        maxChunksInFlight: policy.maxChunksInFlight,
        retransmitMs: options.electionTicks * options.tickIntervalMs,
        maxRetransmits: 5,
      },
      (to, chunk) => options.transport.send(to, chunk),
      (to, succeeded) => {
        if (this.state !== 'running') return;
        this.core.reportSnapshot(to, succeeded);
        this.wake();
      },
    );
    this.receiver = new SnapshotReceiver(
      options.id,
      options.snapshots,
      (to, ack) => options.transport.send(to, ack),
      (from, term, snapshot) => this.peers.receive({ kind: 'raft', message: { type: 'installSnapshot', from, to: options.id, term, snapshot } }),
      (error) => this.fail(error),
    );
    this.forwarding = new ForwardedProposals({
      id: options.id,
      core: this.core,
      clock: options.clock,
      send: (to, message) => options.transport.send(to, message),
      nextRequestId: () => this.nextRequestId++,
      fail: (error) => this.fail(error),
    });
    this.peers = new PeerMessages({
      core: this.core,
      transport: options.transport,
      forwarding: this.forwarding,
      sender: this.sender,
      receiver: this.receiver,
      isRunning: () => this.state === 'running',
      fail: (error) => this.fail(error),
      wake: () => this.wake(),
    });
    this.proposals = new Proposals<Result>({
      core: this.core,
      clock: options.clock,
      maxPending: options.limits.maxPendingProposals,
      forwardProposals: options.forwardProposals,
      waiters: this.waiters,
      forwarding: this.forwarding,
      awaitingLeader: this.awaitingLeader,
      appliedIndex: () => this.appliedIndex,
      wake: () => this.wake(),
    });
    this.reads = new ReadBarriers({
      id: options.id,
      core: this.core,
      clock: options.clock,
      requestTimeoutMs: options.requestTimeoutMs,
      awaitingLeader: this.awaitingLeader,
      nextRequestId: () => this.nextRequestId++,
      wake: () => this.wake(),
    });
    this.snapshotTaker = new SnapshotTaker<Result>(
      {
        options,
        core: this.core,
        sessions,
        addresses,
        sender: this.sender,
        receiver: this.receiver,
        events: this,
        appliedIndex: () => this.appliedIndex,
        isRunning: () => this.state === 'running',
        fail: (error) => this.fail(error),
      },
      appliedIndex,
    );
    const status = this.core.status();
    this.statusEvents = new StatusEvents(
      { events: this, leftLeadership: () => this.sender.cancelAll() },
      { role: status.role, leader: status.leader, term: status.term, commit: status.commitIndex },
    );
    this.members = new KnownMembers(
      {
        id: options.id,
        clock: options.clock,
        addresses,
        transport: options.transport,
        forgetAfterMs: options.electionTicks * options.tickIntervalMs,
        membership: () => this.core.status().membership,
        isRunning: () => this.state === 'running',
        removed: () => {
          if (this.tickTimer !== null) this.options.clock.clearTimeout(this.tickTimer);
          this.tickTimer = null;
          this.emit('removed');
        },
      },
      status.membership,
    );
    this.membershipChanges = new MembershipChanges({
      id: options.id,
      core: this.core,
      clock: options.clock,
      tickIntervalMs: options.tickIntervalMs,
      electionTimeoutMs: options.electionTicks * options.tickIntervalMs,
      promoteWithinEntries: options.membership.promoteWithinEntries,
      addPeer: (id, address) => this.members.learnAddress(id, address),
      waitApplied: (receipt, timeoutMs, signal) => this.proposals.waitApplied(receipt.lastIndex, receipt.term, timeoutMs, signal),
      transferLeadership: (target, timeoutMs, signal) => this.transferLeadership(target, signal === undefined ? { timeoutMs } : { timeoutMs, signal }),
      wake: () => this.wake(),
      throwIfStopped: () => this.checkRunning(),
    });
    this.applier = new EntryApplier<Result>({
      core: this.core,
      sessions,
      stateMachine: options.stateMachine,
      members: this.members,
      finish: (entry, outcome) => this.finishApply(entry, outcome),
    });
    this.readyLoop = new ReadyLoop({
      core: this.core,
      storage: options.storage,
      peers: this.peers,
      reads: this.reads,
      applier: this.applier,
      snapshotTaker: this.snapshotTaker,
      isRunning: () => this.state === 'running',
      appliedIndex: () => this.appliedIndex,
      installSnapshot: (meta) => this.installSnapshot(meta),
      emitChanges: () => this.emitChanges(),
      fail: (error) => this.fail(error),
    });
  }

  /**
   * Opens a node: restores the state machine from the newest snapshot, starts
   * the core from storage, attaches the transport and starts ticking.
   * Throws `InvalidConfigError` for invalid options.
   */
  static async open<Result = unknown>(options: RaftNodeOptions<Result>): Promise<RaftNode<Result>> {
    const resolved = resolveNodeOptions(options);
    const sessions = new SessionTable(resolved.limits.maxSessions);
    const addresses = new MemberAddresses();
    const appliedIndex = await restoreFromSnapshot(resolved, sessions, addresses);
    const node = await whenLogLoaded(resolved.storage, () => new RaftNode<Result>(resolved, appliedIndex, sessions, addresses));
    await resolved.transport.start(node.peers.handler());
    node.scheduleTick();
    node.wake();
    return node;
  }

  /** This node's id. */
  get id(): NodeId {
    return this.options.id;
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it
   * is committed and applied on this node. On a follower, the proposal goes to
   * the leader (`forwardProposals`, the default; while no leader is known it
   * waits for one within its deadline) or rejects with `NotLeaderError`
   * naming the leader. Rejects with `ProposalLostError` if a
   * new leader overwrote the entry, and with `TimeoutError` or
   * `AbortedError` (outcome unknown: it may still commit) — it never hangs.
   */
  propose(command: Uint8Array, options: ProposeOptions = {}): Promise<Result> {
    this.checkRunning();
    if (!(command instanceof Uint8Array)) throw new InvalidArgumentError('propose: command must be a Uint8Array');
    if (command.byteLength > this.options.limits.maxCommandBytes) {
      throw new ProposalTooLargeError(command.byteLength, this.options.limits.maxCommandBytes);
    }
    if (options.session !== undefined) checkSession(options.session);
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const payload = encodeCommand(command, options.session);
    return this.proposals.propose(payload, timeoutMs, options.signal);
  }

  /**
   * A linearizable read barrier (ReadIndex): resolves once this node's state
   * machine reflects every write committed before the call, so a read of the
   * local state right after it is linearizable. Works on followers (the
   * leader confirms the index); while no leader is known it waits for one
   * within its deadline. Rejects with `TimeoutError` or `AbortedError`.
   */
  read(options: ReadOptions = {}): Promise<void> {
    this.checkRunning();
    return this.reads.read(options);
  }

  /**
   * Hands leadership to the voter `target` (Raft dissertation §3.10): the
   * leader brings it up to date, sends TimeoutNow and refuses new proposals
   * meanwhile. Resolves once `target` is the leader; rejects with
   * `TransferFailedError` if the core abandons the transfer (not done within
   * an election timeout) or another node becomes leader. Throws
   * `NotLeaderError` off the leader and `InvalidArgumentError` for a target
   * that is not a voter.
   */
  transferLeadership(target: NodeId, options: RequestOptions = {}): Promise<void> {
    this.checkRunning();
    this.core.transferLeadership(target);
    const timeoutMs = options.timeoutMs ?? 2 * this.options.electionTicks * this.options.tickIntervalMs;
    const transferred = this.transfers.watch(target, timeoutMs, options.signal);
    this.wake();
    return transferred;
  }

  // ---- membership ------------------------------------------------------------
  //
  // Each change runs on the leader (elsewhere it rejects with NotLeaderError naming the
  // leader), resolves once committed, and honours `signal` and `timeoutMs` (default
  // `requestTimeoutMs`). Refusals are typed: ConfChangeInProgressError,
  // UnknownMemberError, InvalidConfChangeError, InvalidArgumentError.

  /**
   * Adds `id` as a learner reachable at `address` (its meaning is the
   * transport's: `host:port` over TCP). The address is replicated in the log
   * before the change, so every member's transport learns it.
   */
  addLearner(id: NodeId, address: string, options: RequestOptions = {}): Promise<void> {
    return this.changeMembership(options, (deadline) => this.membershipChanges.addLearner(id, address, deadline));
  }

  /**
   * Makes the learner `id` (or several: one joint change) a voter, once its
   * match index is within `membership.promoteWithinEntries` of the leader's
   * last index; until then it waits, within the deadline.
   */
  promote(id: NodeId | readonly NodeId[], options: RequestOptions = {}): Promise<void> {
    const ids = typeof id === 'string' ? [id] : [...id];
    return this.changeMembership(options, (deadline) => this.membershipChanges.promote(ids, deadline));
  }

  /** Adds `id` as a learner (unless it is one already), waits for it to catch up, then promotes it. */
  addVoter(id: NodeId, address: string, options: RequestOptions = {}): Promise<void> {
    return this.changeMembership(options, (deadline) => this.membershipChanges.addVoter(id, address, deadline));
  }

  /**
   * Removes the member `id` (voter or learner). Removing the leader itself is
   * allowed: it keeps leading until the change commits, then steps down.
   */
  removeMember(id: NodeId, options: RequestOptions = {}): Promise<void> {
    return this.changeMembership(options, (deadline) => this.membershipChanges.removeMember(id, deadline));
  }

  /**
   * Replaces the voter `oldId` by a new node `newId` at `address`: `newId`
   * joins as a learner and catches up, then one joint change adds it and
   * removes `oldId`. If `oldId` is this leader, leadership is handed to
   * `newId` before the joint configuration is left. Resolves once the joint
   * configuration is left.
   */
  replaceMember(oldId: NodeId, newId: NodeId, address: string, options: RequestOptions = {}): Promise<void> {
    return this.changeMembership(options, (deadline) => this.membershipChanges.replaceMember(oldId, newId, address, deadline));
  }

  private changeMembership(options: RequestOptions, change: (deadline: { atMs: number; signal: AbortSignal | undefined }) => Promise<void>): Promise<void> {
    try {
      this.checkRunning();
      if (options.signal?.aborted === true) throw new AbortedError('membership change', { cause: options.signal.reason });
      return change({ atMs: this.options.clock.now() + (options.timeoutMs ?? this.options.requestTimeoutMs), signal: options.signal });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A read-only view of the core, for invariant checkers, simulators and
   * debugging tools: its full status (vote, log bounds, progress) and the
   * term of any entry in its log.
   */
  inspect(): { readonly core: RaftStatus; term(index: Index): Term | undefined; readonly configIndexes: readonly Index[] } {
    return { core: this.core.status(), term: (index) => this.core.term(index), configIndexes: this.core.configIndexes() };
  }

  /**
   * Cheap read-only access to the core's current state, for observers that
   * look after every event (the simulator's checks); {@link inspect} builds a
   * full status instead.
   */
  coreReader(): CoreReader {
    return this.core;
  }

  /** The node's current state. */
  status(): NodeStatus {
    return nodeStatus(this.core.status(), this.state === 'running', this.appliedIndex, this.members.removed);
  }

  /**
   * Stops the node: no more ticks, messages or applies; every pending
   * operation rejects with `NodeClosedError`. The transport is closed; the
   * storage and snapshot store stay open for the caller to close. Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'running') this.state = 'closed';
    this.stop(new NodeClosedError());
    await this.readyLoop.current;
    await this.snapshotTaker.stop();
    await this.receiver.close();
    await this.options.transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- the Ready loop -----------------------------------------------------

  /** Runs the Ready loop if it is not already running; inputs that arrive meanwhile join the next batch. */
  private wake(): void {
    this.readyLoop.wake();
  }

  private finishApply(entry: Entry, outcome: ApplyOutcome<Result>): undefined {
    this.appliedIndex = entry.index;
    this.snapshotTaker.applied(entry.data.byteLength);
    this.waiters.applied(entry.index, entry.term, outcome);
    this.emit('apply', entry.index);
    return undefined;
  }

  private async installSnapshot(meta: SnapshotMeta): Promise<void> {
    await this.options.storage.saveSnapshot(meta);
    await restoreState(this.options, this.sessions, this.addresses, meta);
    for (const [id, address] of this.addresses.entries()) this.members.applyAddress(id, address);
    this.members.configurationApplied(meta.membership);
    this.waiters.skipTo(meta.index, (index) => new NodeFailedError(`the result of entry ${index} was covered by a snapshot`));
    this.appliedIndex = meta.index;
    this.snapshotTaker.installed(meta);
    this.emit('snapshot', { kind: 'installed', index: meta.index, term: meta.term });
  }

  // ---- time, events, shutdown ------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.options.clock.setTimeout(() => {
      if (this.state !== 'running' || this.members.removed) return;
      this.core.tick();
      this.membershipChanges.onTick();
      this.emitChanges();
      this.wake();
      this.scheduleTick();
    }, this.options.tickIntervalMs);
  }

  /**
   * Emits what changed since the last call, then settles the transfers and
   * sends the requests that were waiting for a leader. Runs after every tick
   * and Ready, so it reads the core's fields directly rather than building a
   * status. Role and leader are read before any listener runs: a listener may
   * re-enter.
   */
  private emitChanges(): void {
    const core = this.core;
    const role = core.role;
    const leader = core.leader;
    this.statusEvents.emitChanges(role, leader, core.currentTerm, core.commitIndex);
    if (this.transfers.pending) this.transfers.check(role, leader, core.leadTransferee);
    this.awaitingLeader.dispatch(leader);
  }

  private fail(error: unknown): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.failure = error instanceof NodeFailedError ? error : new NodeFailedError(error instanceof Error ? error.message : String(error), { cause: error });
    this.stop(this.failure);
    this.emit('fatal', this.failure);
  }

  private stop(error: KeelError): void {
    if (this.tickTimer !== null) this.options.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.members.stop();
    this.sender.cancelAll();
    this.waiters.rejectAll(error);
    this.forwarding.rejectAll(error);
    this.reads.rejectAll(error);
    this.transfers.rejectAll(error);
    this.awaitingLeader.rejectAll(error);
  }

  private checkRunning(): void {
    if (this.state === 'closed') throw new NodeClosedError();
    if (this.state === 'failed') throw this.failure ?? new NodeClosedError();
  }
}
