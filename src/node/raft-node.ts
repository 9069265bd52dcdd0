import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import { RawNode } from '../core/raw-node.js';
import type { CoreReader, ProposalReceipt, RaftStatus } from '../core/raw-node.js';
import type { Entry, Index, NodeId, SnapshotMeta, Term } from '../core/types.js';
import { InvalidArgumentError, KeelError, AbortedError, NodeClosedError, NodeFailedError, ProposalDroppedError, ProposalTooLargeError } from '../errors.js';
import type { TimerHandle } from '../util/clock.js';
import { TimerQueue } from '../util/timer-queue.js';
import { TypedEmitter } from './events.js';
import type { NodeEvents } from './events.js';
import { coreConfig, resolveNodeOptions } from './options.js';
import type { RaftNodeOptions, ResolvedNodeOptions } from './options.js';
import { MemberAddresses } from './membership/member-addresses.js';
import { MembershipChanges } from './membership/membership-changes.js';
import { encodeCloseSession, encodeCommand, encodeOpenSession } from './apply/payload.js';
import { ForwardedProposals } from './requests/forwarded-proposals.js';
import { transportHandler } from './peer-messages.js';
import { SnapshotReceiver } from './snapshots/snapshot-receiver.js';
import { SnapshotSender } from './snapshots/snapshot-sender.js';
import { SessionTable } from './apply/sessions.js';
import { Session, resolveSessionRequest } from './apply/session.js';
import type { ProposeOptions, ReadOptions, RequestOptions } from './requests/request-options.js';
import { AwaitingLeader } from './requests/awaiting-leader.js';
import { ReadBarriers } from './requests/read-barriers.js';
import { KnownMembers, watchAcknowledgements } from './membership/known-members.js';
import type { RemovalMark } from './membership/known-members.js';
import { membersOf } from './membership/membership-changes.js';
import { restoreFromSnapshot, restoreState } from './snapshots/snapshot-restore.js';
import { SnapshotTaker } from './snapshots/snapshot-taker.js';
import { EntryApplier } from './apply/entry-applier.js';
import { OwnerLoop } from './owner-loop.js';
import { followerMayQuiesce, leaderMayQuiesce } from './quiescence.js';
import type { OutstandingWork, QuiesceNotice } from './quiescence.js';
import type { LoopNode, TurnScheduler } from './owner-loop.js';
import type { Input, ProposalRequest } from './inbox.js';
import { LeadershipTransfers } from './requests/leadership-transfers.js';
import { nodeStatus } from './node-status.js';
import { StatusEvents } from './status-events.js';
import type { NodeStatus } from './node-status.js';
import { nodeMetrics } from './node-metrics.js';
import type { NodeMetrics } from './node-metrics.js';
import { ApplyWaiters, guardedPromise } from './requests/waiters.js';
import type { ApplyOutcome } from './requests/waiters.js';

export { RemoteProposalError } from './requests/forwarded-proposals.js';

/**
 * What a multi-group host provides a group's replica: who runs its owner
 * loop's turns. A hosted node also sets no tick timer: the host calls
 * {@link RaftNode.hostTick} from its one ticker.
 * @internal
 */
export interface HostedBy {
  readonly scheduler: TurnScheduler;
  /** Told of every input the replica's loop queues: a quiesced group wakes on one. */
  readonly onInput?: (input: Input) => void;
  /** A learner without a leader asks the hosts of its configuration's voters whether it is still a member (known-members.ts). */
  readonly askMembership?: (voters: readonly NodeId[]) => void;
}
export type { NodeStatus } from './node-status.js';
export type { NodeMetrics } from './node-metrics.js';
export type { ProposeOptions, ReadOptions, RequestOptions } from './requests/request-options.js';

/**
 * A Raft node: the pure core driven by timers, durable storage, a transport
 * and the user's state machine. Create it with {@link RaftNode.open}.
 *
 * One owner loop (owner-loop.ts) holds the core. Every public method checks
 * its arguments, turns the call into an input of the loop's inbox and returns
 * a promise that the loop settles; none throws synchronously. The loop
 * honours the Ready contract: a leader's AppendEntries leave in parallel with
 * its own disk write; snapshot, entries and hard state are durable before any
 * dependent message is sent; committed entries are applied in order, exactly
 * once, after they are durable, and while the next batch is written.
 * Proposals that arrive together share one append and one synced write.
 *
 * @typeParam Result - what the state machine's `apply` returns to proposers.
 */
export class RaftNode<Result = unknown> extends TypedEmitter<NodeEvents> {
  private readonly core: RawNode;
  private readonly options: ResolvedNodeOptions<Result>;
  private readonly loop: OwnerLoop<Result>;
  // Plain state the loop settles: requests waiting for their outcome.
  private readonly waiters: ApplyWaiters<Result>;
  private readonly reads: ReadBarriers;
  private readonly forwarding: ForwardedProposals;
  private readonly transfers: LeadershipTransfers;
  /** Requests made while no leader was known, back into the inbox as soon as one is (they keep their deadlines). */
  private readonly awaitingLeader = new AwaitingLeader();
  /** Proposals made here and not settled yet, wherever they wait: bounded by `limits.maxPendingProposals`. */
  private pendingProposals = 0;
  /** Counts a proposal out when it settles; one function for all of them. */
  private readonly proposalSettled = (): void => {
    this.pendingProposals--;
  };
  // The node's own replicated state beside the state machine's, and what follows it.
  private appliedIndex: Index;
  private readonly sessions: SessionTable;
  /** Addresses of members added at runtime, replicated through the log and snapshots (see member-addresses.ts). */
  private readonly addresses: MemberAddresses;
  private readonly members: KnownMembers;
  private readonly membershipChanges: MembershipChanges;
  private readonly applier: EntryApplier<Result>;
  private readonly snapshotTaker: SnapshotTaker<Result>;
  private readonly sender: SnapshotSender;
  private readonly receiver: SnapshotReceiver;
  private readonly statusEvents: StatusEvents;
  private tickTimer: TimerHandle | null = null;
  /** Opened by a multi-group host, which ticks it: it sets no tick timer of its own. */
  private readonly hosted: boolean;
  /** The deadlines of every request waiting here, on one timer of the clock. */
  private readonly deadlines: TimerQueue;
  private state: 'running' | 'closed' | 'failed' = 'running';
  private failure: NodeFailedError | null = null;

  private constructor(
    options: ResolvedNodeOptions<Result>,
    appliedIndex: Index,
    sessions: SessionTable,
    addresses: MemberAddresses,
    host: HostedBy | null,
  ) {
    super();
    this.options = options;
    this.sessions = sessions;
    this.addresses = addresses;
    this.appliedIndex = appliedIndex;
    this.hosted = host !== null;
    const { id, clock, transport, limits, snapshotting } = options;
    const electionTimeoutMs = options.electionTicks * options.tickIntervalMs;
    this.core = new RawNode(coreConfig(options, appliedIndex));
    const enqueue = (input: Input): void => this.loop.enqueue(input);
    this.waiters = new ApplyWaiters<Result>(limits.maxRememberedResults);
    // Request deadlines share one timer of the clock (almost none of them ever fires).
    const deadlines = new TimerQueue(clock);
    this.deadlines = deadlines;
    this.reads = new ReadBarriers(id, deadlines, limits.maxPendingReads);
    this.transfers = new LeadershipTransfers({ id, clock: deadlines });
    this.forwarding = new ForwardedProposals({ id, clock: deadlines, transport });
    this.sender = new SnapshotSender(
      id,
      options.snapshots,
      clock,
      { chunkBytes: snapshotting.chunkBytes, maxChunksInFlight: snapshotting.maxChunksInFlight, retransmitMs: electionTimeoutMs, maxRetransmits: snapshotting.maxRetransmits },
      (to, chunk) => transport.send(to, chunk),
      (peer, succeeded) => enqueue({ kind: 'snapshotStatus', peer, succeeded }),
    );
    this.receiver = new SnapshotReceiver(
      id,
      options.snapshots,
      (to, ack) => transport.send(to, ack),
      (from, term, snapshot) => enqueue({ kind: 'message', message: { kind: 'raft', message: { type: 'installSnapshot', from, to: id, term, snapshot } } }),
      (error) => this.fail(error),
    );
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
        id,
        clock,
        addresses,
        transport,
        forgetAfterMs: electionTimeoutMs,
        membership: () => this.core.status().membership,
        configIndex: () => this.core.status().configIndex,
        commitIndex: () => this.core.commitIndex,
        heardFromLeader: () => {
          const timer = this.core.electionTimer;
          return this.core.role === 'leader' || timer.elapsedTicks < timer.timeoutTicks;
        },
        logEnd: () => {
          const index = this.core.lastIndex();
          return { index, term: this.core.term(index) ?? 0 };
        },
        isRunning: () => this.state === 'running',
        removed: () => {
          this.clearTick();
          this.emit('removed');
        },
        readded: () => {
          if (!this.hosted && this.state === 'running' && this.tickTimer === null) this.scheduleTick();
        },
        ...(host?.askMembership === undefined ? {} : { askMembership: host.askMembership }),
      },
      status.membership,
    );
    this.membershipChanges = new MembershipChanges({
      id,
      core: this.core,
      clock,
      tickIntervalMs: options.tickIntervalMs,
      electionTimeoutMs,
      promoteWithinEntries: options.membership.promoteWithinEntries,
      addPeer: (peer, address) => this.members.learnAddress(peer, address),
      proposeConfChange: (changes, changeOptions, timeoutMs, signal, prelude) => this.proposeConfChange(changes, changeOptions, timeoutMs, signal, prelude ?? null),
      waitApplied: (receipt, timeoutMs, signal) => this.waitApplied(receipt.lastIndex, receipt.term, timeoutMs, signal),
      transferLeadership: (target, timeoutMs, signal) => this.transferLeadership(target, signal === undefined ? { timeoutMs } : { timeoutMs, signal }),
      throwIfStopped: () => this.checkRunning(),
    });
    this.applier = new EntryApplier<Result>({ core: this.core, sessions, stateMachine: options.stateMachine, members: this.members });
    this.loop = new OwnerLoop<Result>(
      {
        core: this.core,
        scheduler: host?.scheduler,
        onInput: host?.onInput,
        clock,
        limits,
        storage: options.storage,
        // A replica marked removed that acknowledges an append is a member to some leader: the mark goes.
        transport: watchAcknowledgements(transport, this.members),
        sender: this.sender,
        receiver: this.receiver,
        forwarding: this.forwarding,
        forwardProposals: options.forwardProposals,
        waiters: this.waiters,
        reads: this.reads,
        transfers: this.transfers,
        awaitingLeader: this.awaitingLeader,
      },
      this.loopNode(),
    );
  }

  /**
   * Opens a node: restores the state machine from the newest snapshot, starts
   * the core from storage, attaches the transport and starts ticking.
   * Rejects with `InvalidConfigError` for invalid options.
   */
  static open<Result = unknown>(options: RaftNodeOptions<Result>): Promise<RaftNode<Result>> {
    return RaftNode.openHosted(options, null);
  }

  /**
   * Opens a node as one group's replica on a multi-group host: `host` runs its
   * turns and its ticks (src/host/raft-host.ts). `RaftNode.open` is this with no host.
   * @internal used by `RaftHost`.
   */
  static async openHosted<Result = unknown>(options: RaftNodeOptions<Result>, host: HostedBy | null): Promise<RaftNode<Result>> {
    const resolved = resolveNodeOptions(options);
    const sessions = new SessionTable(resolved.limits.maxSessions);
    const addresses = new MemberAddresses();
    const appliedIndex = await restoreFromSnapshot(resolved, sessions, addresses);
    const node = new RaftNode<Result>(resolved, appliedIndex, sessions, addresses, host);
    await resolved.transport.start(transportHandler((input) => node.loop.enqueue(input)));
    if (host === null) node.scheduleTick();
    node.loop.schedule();
    return node;
  }

  /**
   * One tick of the host's shared ticker, for a node opened by a host (which
   * sets no tick timer of its own). Ignored once the node stopped or was removed.
   * @internal used by `RaftHost`.
   */
  hostTick(): void {
    if (this.state !== 'running' || this.members.removed) return;
    this.loop.enqueue({ kind: 'tick' });
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
   * naming the leader.
   *
   * Rejects (never throws) with `InvalidArgumentError` for a command that is
   * not a `Uint8Array`, a malformed session or a `timeoutMs` that is not a
   * positive number; `ProposalTooLargeError` past `limits.maxCommandBytes`;
   * `ProposalDroppedError` while `limits.maxPendingProposals` proposals wait,
   * during a leadership transfer or past the uncommitted-bytes cap;
   * `ProposalLostError` if a new leader overwrote the entry;
   * `RemoteProposalError` when the leader refused a forwarded proposal;
   * `NodeClosedError` / `NodeFailedError` once the node stopped; and
   * `TimeoutError` or `AbortedError` (outcome unknown: it may still commit).
   * It never hangs. Nothing is appended for a refused call.
   */
  propose(command: Uint8Array, options: ProposeOptions = {}): Promise<Result> {
    try {
      this.checkRunning();
      if (!(command instanceof Uint8Array)) throw new InvalidArgumentError('propose: command must be a Uint8Array');
      if (command.byteLength > this.options.limits.maxCommandBytes) throw new ProposalTooLargeError(command.byteLength, this.options.limits.maxCommandBytes);
      const session = options.session === undefined ? undefined : resolveSessionRequest(options.session, options.seq);
      if (session === undefined && options.seq !== undefined) throw new InvalidArgumentError('propose: seq needs a session');
      return this.submit(encodeCommand(command, session), 'propose', options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Hands a checked payload to the owner loop and returns the promise the
   * loop settles with its entry's outcome. Throws (for the public method to
   * turn into a rejection) for an invalid `timeoutMs` and past
   * `limits.maxPendingProposals`: each waiting proposal holds a promise and a
   * deadline, so an unbounded queue behind a slow or partitioned leader would
   * grow without limit.
   */
  private submit(payload: Uint8Array, what: string, options: RequestOptions): Promise<Result> {
    const timeoutMs = this.timeoutOf(what, options);
    if (this.pendingProposals >= this.options.limits.maxPendingProposals) {
      throw new ProposalDroppedError(`${this.pendingProposals} proposals are already waiting (limits.maxPendingProposals)`);
    }
    this.pendingProposals++;
    const deferred = guardedPromise<Result>(
      'proposal',
      this.deadlines,
      timeoutMs,
      options.signal,
      () => {
        if (request.waitingAt !== null) this.waiters.remove(request.waitingAt, deferred);
      },
      this.proposalSettled,
    );
    const request: ProposalRequest<Result> = { deferred, timeoutMs, signal: options.signal, waitingAt: null };
    this.loop.enqueue({ kind: 'propose', payload, request: request as ProposalRequest });
    return deferred.promise;
  }

  /**
   * Registers a client session through the log (Raft dissertation §6.3) and
   * resolves with it once applied here; its id is the registering entry's
   * index, the same on every node and never reused. Pass it to `propose` on
   * any node. Holding a session costs a slot of `limits.maxSessions`: the
   * least recently used session is evicted when a new one is opened beyond
   * it, so close sessions you are done with. Rejects like `propose`; a
   * registration that timed out may still commit (an unused session, evicted
   * in its turn).
   */
  openSession(options: RequestOptions = {}): Promise<Session> {
    try {
      this.checkRunning();
      return this.submit(encodeOpenSession(), 'openSession', options).then((id) => new Session(id as number));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Closes a session through the log, freeing its slot; later requests of it
   * are refused with `SessionExpiredError`. Resolves once applied here, also
   * if the session was already closed or evicted.
   */
  closeSession(session: Session, options: RequestOptions = {}): Promise<void> {
    try {
      this.checkRunning();
      if (!(session instanceof Session)) throw new InvalidArgumentError('closeSession: session must be a Session from openSession');
      return this.submit(encodeCloseSession(session.id), 'closeSession', options).then(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A linearizable read barrier (ReadIndex): resolves once this node's state
   * machine reflects every write committed before the call, so a read of the
   * local state right after it is linearizable. Works on followers (the
   * leader confirms the index); while no leader is known it waits for one
   * within its deadline. Rejects with `InvalidArgumentError` (bad
   * `timeoutMs`), `ReadDroppedError` (`limits.maxPendingReads` reached),
   * `NodeClosedError` / `NodeFailedError`, `TimeoutError` or `AbortedError`.
   */
  read(options: ReadOptions = {}): Promise<void> {
    try {
      this.checkRunning();
      const request = this.reads.create(this.timeoutOf('read', options), options.lease === true, options.signal);
      if (request instanceof KeelError) throw request;
      this.loop.enqueue({ kind: 'read', request });
      return request.deferred.promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Hands leadership to the voter `target` (Raft dissertation §3.10): the
   * leader brings it up to date, sends TimeoutNow and refuses new proposals
   * meanwhile. Resolves once `target` is the leader. Rejects with
   * `TransferFailedError` if the core abandons the transfer (not done within
   * an election timeout) or another node becomes leader, `NotLeaderError` off
   * the leader, `InvalidArgumentError` for a target that is not a voter, and
   * `TimeoutError` / `AbortedError` (default deadline: two election timeouts).
   */
  transferLeadership(target: NodeId, options: RequestOptions = {}): Promise<void> {
    try {
      this.checkRunning();
      const timeoutMs = options.timeoutMs === undefined ? 2 * this.options.electionTicks * this.options.tickIntervalMs : this.timeoutOf('transferLeadership', options);
      const deferred = this.transfers.create(timeoutMs, options.signal);
      this.loop.enqueue({ kind: 'transfer', target, deferred });
      return deferred.promise;
    } catch (error) {
      return Promise.reject(error);
    }
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
      const timeoutMs = this.timeoutOf('membership change', options);
      if (options.signal?.aborted === true) throw new AbortedError('membership change', { cause: options.signal.reason });
      return change({ atMs: this.options.clock.now() + timeoutMs, signal: options.signal });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Proposes a configuration change through the loop; resolves with where it landed. */
  private proposeConfChange(
    changes: readonly ConfChange[],
    options: ConfChangeOptions,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    prelude: Uint8Array | null,
  ): Promise<ProposalReceipt> {
    this.checkRunning();
    const deferred = guardedPromise<ProposalReceipt>('membership change', this.deadlines, timeoutMs, signal, () => undefined);
    this.loop.enqueue({ kind: 'confChange', changes, options, prelude, deferred });
    return deferred.promise;
  }

  /** Resolves once the entry at `index` of `term` is applied here; rejects like a proposal's wait. */
  private waitApplied(index: Index, term: Term, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const waiters = this.waiters;
    const deferred = guardedPromise<Result>('membership change', this.deadlines, timeoutMs, signal, () => waiters.remove(index, deferred));
    if (!deferred.settled) waiters.add(index, term, deferred, this.appliedIndex);
    return deferred.promise.then(() => undefined);
  }

  /**
   * A read-only view of the core, for invariant checkers, simulators and
   * debugging tools: its full status (vote, log bounds, progress) and the
   * term of any entry in its log.
   */
  inspect(): {
    /** The core's full status. */
    readonly core: RaftStatus;
    /** The term of the entry at `index`, or undefined when it is compacted away or beyond the log. */
    term(index: Index): Term | undefined;
    /** The indexes of the config entries in the log above its base configuration, oldest first. */
    readonly configIndexes: readonly Index[];
  } {
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
    return nodeStatus(this.core.status(), this.state === 'running', this.appliedIndex, this.members.removal);
  }

  /**
   * A cheap snapshot of the node's numbers for monitoring (role, term,
   * commit, applied and log indexes, waiting requests, and on the leader each
   * peer's replication lag), meant to be read on every metrics scrape; see
   * {@link NodeMetrics}. Never throws, also after `close()`.
   */
  metrics(): NodeMetrics {
    const core = this.core;
    return nodeMetrics({
      core,
      running: this.state === 'running',
      appliedIndex: this.appliedIndex,
      pendingProposals: this.pendingProposals,
      pendingReads: this.reads.size,
      // A superset of the members (ones that just left too); nodes the leader does not track have no match index and are skipped.
      peers: () => this.members.ids,
    });
  }

  /**
   * Stops the node: no more ticks, messages or applies; every pending
   * operation rejects with `NodeClosedError`. Waits for the write or apply in
   * progress. The transport is closed; the storage and snapshot store stay
   * open for the caller to close. Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'running') this.state = 'closed';
    const error = new NodeClosedError();
    this.stop(error);
    await this.loop.stop(error);
    await this.snapshotTaker.stop();
    await this.receiver.close();
    await this.options.transport.close();
  }

  /** Closes the node, for `await using node = await RaftNode.open(...)`; the same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- what the loop calls back for ----------------------------------------------

  /** The node's side of the owner loop: its own state, which the loop's turns update. */
  private loopNode(): LoopNode {
    return {
      apply: (entry) => {
        const outcome = this.applier.apply(entry);
        if (outcome instanceof Promise) return outcome.then((settled) => this.finishApply(entry, settled));
        this.finishApply(entry, outcome);
        return undefined;
      },
      appliedIndex: () => this.appliedIndex,
      installSnapshot: (meta) => this.installSnapshot(meta),
      onTick: (core) => {
        this.membershipChanges.onTick(core);
        this.members.onTick();
      },
      maybeTakeSnapshot: () => this.snapshotTaker.maybeTake(),
      afterTurn: () => this.emitChanges(),
      fail: (error) => this.fail(error),
      tryQuiesce: (core, notice, loopBusy) => {
        const work = this.outstandingWork(loopBusy);
        const may = notice === null ? leaderMayQuiesce(core, work) : followerMayQuiesce(core, notice, work);
        if (may) core.quiesce();
        return may;
      },
      notMember: (configIndex) => {
        this.members.notMember(configIndex);
      },
    };
  }

  /** What the runtime has outstanding besides the core, for quiescence. */
  private outstandingWork(loopBusy: boolean): OutstandingWork {
    const requests = this.pendingProposals > 0 || this.reads.size > 0 || this.transfers.pending || this.sender.lowestIndexInFlight() !== null || this.receiver.receiving();
    return { loopBusy, requests, appliedIndex: this.appliedIndex };
  }

  // ---- on a multi-group host (src/host/) ------------------------------------------

  /**
   * Whether this replica, as its group's leader, may quiesce now (quiescence.ts). Read-only.
   * @internal used by `RaftHost`.
   */
  hostMayQuiesce(): boolean {
    return this.state === 'running' && leaderMayQuiesce(this.core, this.outstandingWork(this.loop.busy()));
  }

  /**
   * Asks the loop to quiesce the core at its next turn: as leader with no
   * notice, as follower on the leader's notice. `done` says whether it did.
   * @internal used by `RaftHost`.
   */
  hostQuiesce(notice: QuiesceNotice | null, done: (quiesced: boolean) => void): void {
    if (this.state !== 'running') {
      done(false);
      return;
    }
    this.loop.enqueue({ kind: 'quiesce', notice, done });
  }

  /**
   * What a quiesced leader tells its followers, and who they are.
   * @internal used by `RaftHost`.
   */
  hostQuiesceNotice(): { readonly notice: QuiesceNotice; readonly peers: readonly NodeId[] } {
    const membership = this.core.status().membership;
    const peers = [...membership.voters, ...(membership.learners ?? [])].filter((id) => id !== this.options.id);
    return { notice: { leader: this.options.id, term: this.core.currentTerm, index: this.core.lastIndex() }, peers };
  }

  /**
   * The index of this replica's latest configuration if it is committed and
   * leaves `peer` out (neither voter, outgoing voter nor learner); null
   * otherwise. What a host answers a removed peer's replica with.
   * @internal used by `RaftHost`.
   */
  hostConfigWithout(peer: NodeId): Index | null {
    if (this.state !== 'running') return null;
    const status = this.core.status();
    if (status.configIndex === 0 || status.configIndex > status.commitIndex) return null;
    return membersOf(status.membership).has(peer) ? null : status.configIndex;
  }

  /**
   * A member's host says its committed configuration, installed at
   * `configIndex`, leaves this replica out: the loop marks the replica
   * removed at its next turn if its log has not reached that configuration.
   * @internal used by `RaftHost`.
   */
  hostNotMember(configIndex: Index): void {
    if (this.state !== 'running') return;
    this.loop.enqueue({ kind: 'notMember', configIndex });
  }

  /**
   * Why and where this replica was marked removed, or null while it is not:
   * what a safe drop checks against the closed replica's log.
   * @internal used by `RaftHost`.
   */
  hostRemovalMark(): RemovalMark | null {
    return this.members.removal;
  }

  /** `entry` was applied with `outcome`: the apply index advances and its waiter (if any) settles. */
  private finishApply(entry: Entry, outcome: ApplyOutcome<Result>): void {
    this.appliedIndex = entry.index;
    this.snapshotTaker.applied(entry.data.byteLength);
    this.waiters.applied(entry.index, entry.term, outcome);
    if (this.listening('apply')) this.emit('apply', entry.index);
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

  /**
   * Emits what changed since the last turn, then settles the transfers and
   * hands the requests that were waiting for a leader back to the loop. Role
   * and leader are read before any listener runs: a listener may re-enter.
   */
  private emitChanges(): void {
    const core = this.core;
    const role = core.role;
    const leader = core.leader;
    this.statusEvents.emitChanges(role, leader, core.currentTerm, core.commitIndex);
    if (this.members.removed) this.members.checkReadded();
    if (this.transfers.pending) this.transfers.check(role, leader, core.leadTransferee);
    this.awaitingLeader.dispatch(leader, (input) => this.loop.enqueue(input));
  }

  // ---- time, shutdown -------------------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.options.clock.setTimeout(() => {
      if (this.state !== 'running' || this.members.removed) return;
      this.loop.enqueue({ kind: 'tick' });
      this.scheduleTick();
    }, this.options.tickIntervalMs);
  }

  private clearTick(): void {
    if (this.tickTimer !== null) this.options.clock.clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }

  /** A request's deadline: `timeoutMs` if given (a positive, finite number of clock milliseconds), else `requestTimeoutMs`. */
  private timeoutOf(what: string, options: RequestOptions): number {
    const timeoutMs = options.timeoutMs;
    if (timeoutMs === undefined) return this.options.requestTimeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidArgumentError(`${what}: timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
    }
    return timeoutMs;
  }

  private fail(error: unknown): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.failure = error instanceof NodeFailedError ? error : new NodeFailedError(error instanceof Error ? error.message : String(error), { cause: error });
    this.stop(this.failure);
    void this.loop.stop(this.failure);
    this.emit('fatal', this.failure);
  }

  private stop(error: KeelError): void {
    this.clearTick();
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
