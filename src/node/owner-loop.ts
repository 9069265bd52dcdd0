import type { RawNode } from '../core/raw-node.js';
import type { Ready } from '../core/ready.js';
import type { Entry, HardState, Index, SnapshotMeta } from '../core/types.js';
import { KeelError } from '../errors.js';
import type { LogStorage } from '../storage/storage.js';
import { assert, assertNever } from '../util/assert.js';
import type { Clock } from '../util/clock.js';
import type { ForwardedProposals } from './requests/forwarded-proposals.js';
import { ApplyQueue } from './apply/apply-queue.js';
import { Inbox } from './inbox.js';
import { proposeBatch } from './requests/proposal-batch.js';
import type { ProposalRoutes, QueuedProposal } from './requests/proposal-batch.js';
import { checkNoChangeInProgress } from './membership/membership-changes.js';
import type { Input, ProposalRequest } from './inbox.js';
import type { QuiesceNotice } from './quiescence.js';
import type { LoopLimits } from './options.js';
import { sendAll } from './peer-messages.js';
import type { ReadBarriers } from './requests/read-barriers.js';
import type { SnapshotReceiver } from './snapshots/snapshot-receiver.js';
import type { SnapshotSender } from './snapshots/snapshot-sender.js';
import type { ApplyWaiters } from './requests/waiters.js';
import type { Transport } from '../transport/transport.js';
import type { LeadershipTransfers } from './requests/leadership-transfers.js';
import type { AwaitingLeader } from './requests/awaiting-leader.js';

/**
 * Runs owner loops' turns. Without one, a loop schedules its own turns on its
 * clock. A host running many Raft groups passes its own (src/host/host-loop.ts):
 * it runs the turns of every group with work in rounds, one bounded turn per
 * group per round, then sends the round's messages together.
 */
export interface TurnScheduler {
  /** Asks for `loop.runScheduledTurn()` to be called soon; called at most once until that happens. */
  schedule(loop: ScheduledLoop): void;
}

/** What a {@link TurnScheduler} calls. */
export interface ScheduledLoop {
  /** Runs the turn that was scheduled. */
  runScheduledTurn(): void;
}

/** The collaborators the loop drives: each is plain state or a small module; none holds the core. */
export interface LoopParts<Result> {
  /** Who runs the turns; absent: the loop's own clock timer. */
  readonly scheduler?: TurnScheduler | undefined;
  /** Told of every input as it is queued (a host wakes a quiesced group on it). */
  readonly onInput?: ((input: Input) => void) | undefined;
  readonly core: RawNode;
  readonly clock: Clock;
  readonly limits: LoopLimits;
  readonly storage: Pick<LogStorage, 'append' | 'lastIndex'>;
  readonly transport: Pick<Transport, 'send' | 'flush'>;
  readonly sender: SnapshotSender;
  readonly receiver: SnapshotReceiver;
  readonly forwarding: ForwardedProposals;
  /** Whether a follower hands proposals to the leader rather than refusing them. */
  readonly forwardProposals: boolean;
  readonly waiters: ApplyWaiters<Result>;
  readonly reads: ReadBarriers;
  readonly transfers: LeadershipTransfers;
  readonly awaitingLeader: AwaitingLeader;
}

/** What the loop calls back into its node for: the steps that belong to the node's own state. */
export interface LoopNode {
  /** Applies one committed entry; a promise only when the state machine's `apply` returned one. */
  apply(entry: Entry): Promise<void> | undefined;
  /** The index of the last entry applied to the state machine. */
  appliedIndex(): Index;
  /** Makes a snapshot from the leader durable and restores the state machine from it. */
  installSnapshot(meta: SnapshotMeta): Promise<void>;
  /** Called on every tick, inside the turn: work that runs on the core's clock (leaving a joint configuration). */
  onTick(core: RawNode): void;
  /**
   * After applying: if a snapshot of this node's own is due, capture the
   * state machine synchronously at the applied index and write it in the
   * background (snapshot-taker.ts). Never waits: applies go on meanwhile.
   */
  maybeTakeSnapshot(): void;
  /** Emits what the turn changed (role, leader, term, commit) and settles what waited on it. */
  afterTurn(): void;
  /** The loop met an error it cannot handle: the node stops. */
  fail(error: unknown): void;
  /**
   * Quiesces the core if the replica may (quiescence.ts), given whether the
   * loop has work besides this request; returns whether it did.
   */
  tryQuiesce(core: RawNode, notice: QuiesceNotice | null, loopBusy: boolean): boolean;
  /** A member's committed configuration, installed at `configIndex`, leaves this node out: it marks itself removed if its log has not reached that configuration. */
  notMember(configIndex: Index): void;
}

/**
 * The owner loop: the one place that calls the core's mutators. Every input
 * (a proposal, a read, a tick, a peer's message, a membership call, a
 * transfer) enters the {@link Inbox}; a turn drains it into the core, takes
 * one `Ready` when none is in flight and carries it out per the contract
 * (src/core/ready.ts):
 *
 * 1. `parallelMessages` leave at once: a leader's appends overlap its own write.
 * 2. `committedEntries` join the apply queue at once: the core hands out only
 *    entries that are durable already, so they are applied while this
 *    Ready's own entries are being written (etcd's asynchronous storage
 *    writes). A Ready with a snapshot is the exception: its entries wait
 *    until the snapshot is installed.
 * 3. snapshot, entries and hard state are written (synced when `mustSync`);
 *    inputs keep being stepped into the core meanwhile.
 * 4. Once durable: `messages` leave, read states are confirmed, `advance()`.
 *
 * Every step is bounded per turn (inputs drained, entries applied), so one
 * turn never monopolises the process; leftover work schedules the next turn.
 * Designed to drive one core today and many (one per Raft group) later: the
 * loop keeps no state outside this object and its parts.
 */
export class OwnerLoop<Result> implements ScheduledLoop {
  private readonly inbox = new Inbox();
  /** A turn is scheduled on the clock and has not run yet. */
  private scheduled = false;
  /** True while a turn runs: turns never nest. */
  private inTurn = false;
  private stopped = false;
  /** The Ready whose writes are in flight; no other Ready is taken until it completes. */
  private inFlight: Ready | null = null;
  /** Set when the write of {@link inFlight} completed; the next turn completes the Ready. */
  private persisted = false;
  /** The newest hard state handed out, written with the next durable write (a commit change alone is not synced). */
  private hardState: HardState | null = null;
  /** The last index this node's log holds durably (entries written, or a snapshot installed). */
  private durableIndex: Index;
  /** Committed entries waiting to be applied, in index order. */
  private readonly applyQueue = new ApplyQueue();
  /** Proposals drained this turn, proposed together in one core call. */
  private batch: QueuedProposal<Result>[] = [];
  /** Where the batch's proposals go once proposed (or when this node is not the leader). */
  private readonly proposalRoutes: ProposalRoutes<Result>;
  /** The running write or asynchronous apply, for close() to wait on. */
  private lastWork: Promise<void> = Promise.resolve();

  constructor(
    private readonly parts: LoopParts<Result>,
    private readonly node: LoopNode,
  ) {
    this.durableIndex = parts.storage.lastIndex();
    this.proposalRoutes = {
      waiters: parts.waiters,
      forwarding: parts.forwarding,
      forwardProposals: parts.forwardProposals,
      awaitingLeader: parts.awaitingLeader,
      appliedIndex: () => node.appliedIndex(),
    };
  }

  /** Queues an input and makes sure a turn will run. Inputs after stop are dropped: the node already rejected what waited. */
  enqueue(input: Input): void {
    if (this.stopped) return;
    this.parts.onInput?.(input);
    this.inbox.push(input);
    this.schedule();
  }

  /** Schedules a turn if none is: inputs arriving before it runs join it. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    if (this.parts.scheduler === undefined) this.parts.clock.setTimeout(this.scheduledTurn, 0);
    else this.parts.scheduler.schedule(this);
  }

  /** Runs the turn a {@link TurnScheduler} was asked for. */
  runScheduledTurn(): void {
    this.scheduledTurn();
  }

  /** The scheduled turn's callback, made once rather than a closure per scheduling. */
  private readonly scheduledTurn = (): void => {
    this.scheduled = false;
    this.turn();
  };

  /**
   * A write or an asynchronous apply completed: run a turn now, in the
   * completion's own callback, rather than one event-loop iteration later
   * (a follower's acknowledgement leaves as soon as its write is durable).
   * Turns never nest: inside a turn, this only schedules one. Under a host's
   * scheduler it schedules one too: the host's next round runs it, with the
   * turns of every other group whose write completed in the same batch, and
   * their messages leave together.
   */
  private turnNow(): void {
    if (this.inTurn || this.parts.scheduler !== undefined) this.schedule();
    else this.turn();
  }

  /**
   * Stops the loop: no more turns; requests still in the inbox reject with
   * `error`. Returns the write or apply in progress, to wait on.
   */
  stop(error: unknown): Promise<void> {
    this.stopped = true;
    for (const input of this.inbox.takeAll()) rejectInput(input, error);
    this.applyQueue.notifyIdle(true);
    return this.lastWork;
  }

  /** One turn: complete the Ready whose write finished, drain the inbox, take the next Ready, apply. */
  private turn(): void {
    if (this.stopped) return;
    assert(!this.inTurn, 'owner loop: a turn started inside another');
    this.inTurn = true;
    try {
      if (this.persisted) this.completeReady();
      this.drainInbox();
      if (this.inFlight === null && this.parts.core.hasReady()) this.startReady();
      this.applyCommitted();
      this.node.afterTurn();
      this.checkAfterTurn();
      // The turn's messages leave now, together, rather than at the transport's own next opportunity.
      this.parts.transport.flush?.();
    } catch (error) {
      this.node.fail(error);
      return;
    } finally {
      this.inTurn = false;
    }
    if (this.hasWork()) this.schedule();
  }

  /** What must hold after every turn: nothing applied past what is committed, nor past what is durable here. */
  private checkAfterTurn(): void {
    const applied = this.node.appliedIndex();
    const commit = this.parts.core.commitIndex;
    if (!(applied <= commit && applied <= this.durableIndex)) {
      assert(false, `owner loop: applied ${applied} beyond commit ${commit} or durable ${this.durableIndex}`);
    }
  }

  /**
   * The loop has something to finish: inputs queued, a Ready in flight or to
   * take, entries to apply. Read-only; a host asks between turns whether an
   * idle group may quiesce.
   */
  busy(): boolean {
    return this.inbox.length > 0 || this.persisted || this.inFlight !== null || this.batch.length > 0 || !this.applyQueue.idle || this.parts.core.hasReady();
  }

  /** Work left for another turn: inputs beyond this turn's bound, a Ready to take, entries to apply. */
  private hasWork(): boolean {
    if (this.inbox.length > 0 || this.persisted) return true;
    if (this.applyQueue.ready) return true;
    return this.inFlight === null && this.parts.core.hasReady();
  }

  // ---- inputs -----------------------------------------------------------------

  private drainInbox(): void {
    let budget = this.parts.limits.maxInputsPerTurn;
    while (budget > 0 && this.inbox.length > 0) {
      budget--;
      const input = this.inbox.shift();
      if (input.kind === 'propose') {
        this.batch.push({ payload: input.payload, request: input.request as ProposalRequest<Result> | null });
        continue;
      }
      // Inputs take effect in the order they arrived: proposals queued before this one go into the core first.
      this.flushProposals();
      this.handle(input);
    }
    this.flushProposals();
  }

  private handle(input: Exclude<Input, { kind: 'propose' }>): void {
    const { core, reads, transfers } = this.parts;
    switch (input.kind) {
      case 'message':
        this.stepMessage(input);
        return;
      case 'tick':
        core.tick();
        this.node.onTick(core);
        return;
      case 'read':
        if (input.request.deferred.settled) return;
        if (core.leader === null) {
          this.parts.awaitingLeader.add(input);
          return;
        }
        try {
          core.readIndex(input.request.requestId, { lease: input.request.lease });
          reads.sent(input.request);
        } catch (error) {
          input.request.deferred.reject(error);
        }
        return;
      case 'unreachable':
        core.reportUnreachable(input.peer);
        return;
      case 'quiesce':
        // `busy()` counts what is still queued behind this input and the Ready the turn has not taken yet.
        input.done(this.node.tryQuiesce(core, input.notice, this.busy()));
        return;
      case 'snapshotStatus':
        core.reportSnapshot(input.peer, input.succeeded);
        return;
      case 'notMember':
        this.node.notMember(input.configIndex);
        return;
      case 'confChange':
        if (input.deferred.settled) return;
        try {
          if (input.prelude !== null) {
            checkNoChangeInProgress(core);
            core.propose(input.prelude);
          }
          input.deferred.resolve(core.proposeConfChange(input.changes, input.options));
        } catch (error) {
          input.deferred.reject(error);
        }
        return;
      case 'transfer':
        if (input.deferred.settled) return;
        try {
          core.transferLeadership(input.target);
          transfers.watch(input.target, input.deferred);
        } catch (error) {
          input.deferred.reject(error);
        }
        return;
      default:
        assertNever(input, 'input');
    }
  }

  /** A peer's message goes to the core or to the part that owns its kind. */
  private stepMessage(input: Extract<Input, { kind: 'message' }>): void {
    const message = input.message;
    const parts = this.parts;
    try {
      switch (message.kind) {
        case 'raft':
          parts.core.step(message.message);
          return;
        case 'forward':
          parts.forwarding.answer(parts.core, message);
          return;
        case 'forwardResult':
          parts.forwarding.settle(message);
          return;
        case 'snapshotChunk':
          parts.receiver.receive(message);
          return;
        case 'snapshotAck':
          parts.sender.acknowledge(message);
          return;
        default:
          assertNever(message, 'message kind');
      }
    } catch (error) {
      // A malformed or unexpected message from a peer is dropped; it must not stop this node. A broken invariant does.
      if (!(error instanceof KeelError) || error.code === 'KEEL_INVARIANT') throw error;
    }
  }

  /** Proposes this turn's proposals in one core call (requests/proposal-batch.ts). */
  private flushProposals(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    proposeBatch(this.parts.core, batch, this.proposalRoutes);
  }

  // ---- the Ready ------------------------------------------------------------------

  private startReady(): void {
    const { core, transport, sender } = this.parts;
    // One Ready at a time: the core hands out nothing twice, and the loop never holds two.
    assert(this.inFlight === null && !this.persisted, 'owner loop: taking a Ready while another is in flight');
    const ready = core.ready();
    sendAll(ready.parallelMessages, transport, sender);
    if (ready.hardState !== null) this.hardState = ready.hardState;
    // Committed entries are durable already (the core hands out none past the persisted index): apply them
    // while this Ready's writes are in flight. After a snapshot they wait for it to be installed.
    if (ready.snapshot === null) this.queueApply(ready.committedEntries);
    if (ready.snapshot === null && !ready.mustSync) {
      // Nothing to write: a commit change alone is not worth an fsync (it is recomputed after a crash, as in etcd).
      this.inFlight = ready;
      this.completeReady();
      return;
    }
    this.inFlight = ready;
    const write = this.persist(ready).then(
      () => {
        this.persisted = true;
        this.turnNow();
      },
      (error: unknown) => this.node.fail(error),
    );
    this.lastWork = write;
  }

  /** Step 3: snapshot, then entries and hard state, durable. */
  private async persist(ready: Ready): Promise<void> {
    if (ready.snapshot !== null) {
      // Restoring the state machine must not race the applies of older entries.
      this.schedule();
      await this.applyQueue.whenIdle();
      if (this.stopped) return;
      await this.node.installSnapshot(ready.snapshot);
      // Stored (and the state machine restored) before the Ready completes: turns in between may see it applied.
      this.durableIndex = ready.snapshot.index;
    }
    if (ready.mustSync && !this.stopped) await this.parts.storage.append(ready.entries, this.hardState ?? undefined);
  }

  /** Step 4: the Ready's writes are durable. */
  private completeReady(): void {
    const ready = this.inFlight;
    assert(ready !== null, 'owner loop: completing a Ready that is not in flight');
    this.inFlight = null;
    this.persisted = false;
    const last = ready.entries[ready.entries.length - 1];
    if (ready.snapshot !== null) this.durableIndex = ready.snapshot.index;
    if (last !== undefined) this.durableIndex = last.index;
    const { core, transport, sender, reads } = this.parts;
    sendAll(ready.messages, transport, sender);
    if (ready.snapshot !== null) {
      assert(this.node.appliedIndex() === ready.snapshot.index, () => `owner loop: installed snapshot ${ready.snapshot!.index} but applied ${this.node.appliedIndex()}`);
      this.queueApply(ready.committedEntries);
    }
    for (const readState of ready.readStates) reads.confirm(readState.requestId, readState.index);
    core.advance();
  }

  // ---- applying -------------------------------------------------------------------

  private queueApply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const last = entries[entries.length - 1]!;
    // Nothing is applied before it is durable here.
    assert(last.index <= this.durableIndex, () => `owner loop: entry ${last.index} committed for apply but durable only to ${this.durableIndex}`);
    this.applyQueue.push(entries);
  }

  /** Applies queued entries in order, at most `maxAppliesPerTurn` per turn; an asynchronous apply pauses the queue. */
  private applyCommitted(): void {
    const queue = this.applyQueue;
    let budget = this.parts.limits.maxAppliesPerTurn;
    for (; budget > 0 && queue.ready && !this.stopped; budget--) {
      const entry = queue.take();
      const applied = this.node.appliedIndex();
      assert(entry.index === applied + 1, () => `owner loop: applying ${entry.index} after ${applied}`);
      assert(entry.index <= this.parts.core.commitIndex, () => `owner loop: applying ${entry.index} above commit ${this.parts.core.commitIndex}`);
      const pending = this.node.apply(entry);
      if (pending !== undefined) {
        this.lastWork = queue.waitFor(
          pending,
          () => this.turnNow(),
          (error) => this.node.fail(error),
        );
      }
    }
    this.parts.reads.release(this.node.appliedIndex());
    // Capture happens between two applies, so the view is exactly the state at the applied index.
    if (!queue.busy && !this.stopped) this.node.maybeTakeSnapshot();
    queue.notifyIdle();
  }
}

/** Rejects whoever waits on an input that will never be handled. */
function rejectInput(input: Input, error: unknown): void {
  switch (input.kind) {
    case 'propose':
      input.request?.deferred.reject(error);
      return;
    case 'read':
      input.request.deferred.reject(error);
      return;
    case 'confChange':
    case 'transfer':
      input.deferred.reject(error);
      return;
    case 'quiesce':
      input.done(false);
      return;
    default:
      return;
  }
}
