/**
 * One deterministic simulated world: a Keel cluster running the production
 * runtime on a virtual clock, a simulated network and simulated disks, with
 * simulated clients, driven event by event. After every event the world lets
 * all the promise chains it started run to completion (see {@link drain}:
 * nothing in the world does real I/O), then checks Raft's safety invariants. The first broken invariant stops the world.
 */
import type { Entry, Index, NodeId } from '../../src/core/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import { SafetyChecker, SafetyViolation } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';
import { HistoryRecorder } from '../history.js';
import { BudgetMeter, HELD_CHECK_EVERY_EVENTS, heldItems, UNLIMITED_BUDGET, WorldOverBudget } from './budget.js';
import type { SpentBudget, WorldBudget } from './budget.js';
import { emptyCoverage } from './coverage.js';
import type { Coverage, CoverageMark } from './coverage.js';
import { SimNetwork } from './network.js';
import type { NetworkObserver } from './network.js';
import type { WorldParams } from './params.js';
import type { DiskEvent } from './sim-disk.js';
import { SimNode } from './sim-node.js';
import type { SimNodeHost } from './sim-node.js';
import type { WorldStreams } from './streams.js';
import type { WorldTap } from './tap.js';
import { Trace } from './trace.js';
import { KvStateMachine } from './kv-state-machine.js';
import type { KvResult } from './kv-state-machine.js';
import type { SimPlugin, SimStateMachine, SimWorkload } from './plugin.js';
import { Workload } from './workload.js';
import { describeError, hasCode } from './errors.js';
import { undurableReply } from './reply-durability.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import type { ClusterAccess } from './workload.js';
import { turns } from './turns.js';

/** A broken invariant (or a crash of the world itself), with the context to debug it. */
export interface Finding {
  readonly invariant: string;
  readonly detail: string;
  /** World time it was found at, in milliseconds. */
  readonly atMs: number;
  /** The last trace events before it, oldest first. */
  readonly trace: readonly string[];
}

/** Thrown out of the event loop once a finding stops the world. */
export class WorldStopped extends Error {
  constructor(readonly finding: Finding) {
    super(`${finding.invariant}: ${finding.detail}`);
    this.name = 'WorldStopped';
  }
}

/** How a world is built. */
export interface WorldConfig {
  readonly params: WorldParams;
  readonly streams: WorldStreams;
  /** Trace events a finding carries. */
  readonly traceTail: number;
  /** Sees every event and message of the run (the timeline of `keel sim --trace`); never changes the run. */
  readonly tap?: WorldTap | undefined;
  /** A user's state machine and clients in place of the key-value store and its clients. */
  readonly plugin?: SimPlugin | undefined;
  /** What the run may spend; past it the event loop throws {@link WorldOverBudget}. @defaultValue no limit */
  readonly budget?: WorldBudget | undefined;
}

/**
 * Lets every promise chain already started run to its end, without a turn of
 * the event loop (see turns.ts). A `process.nextTick` callback queued from inside a microtask
 * runs only once the microtask queue is empty (Node drains microtasks, then
 * ticks), so it fires exactly when every chain has settled; nothing in the
 * world uses `nextTick` or real I/O that could still be in flight. A macrotask
 * turn per event (`setImmediate`) did the same at about ten times the cost:
 * it polled for I/O after every event.
 */
const drain = (): Promise<void> =>
  new Promise<void>((resolve) => {
    // Not queueMicrotask: Node wraps each of those in an async resource, which costs more than the rest of the drain.
    void Promise.resolve().then(() => turns.afterMicrotasks(resolve));
  });

/**
 * Every this many events the world yields one real event-loop turn while it is
 * quiescent (nothing pending, so the turn changes nothing in the world): the
 * process stays responsive to signals, test timeouts and rejection tracking.
 */
const YIELD_EVERY_EVENTS = 1024;
/** Queues the drain's first step without a new promise each time. */
const RESOLVED = Promise.resolve();
const yieldTurn = (): Promise<void> => new Promise<void>((resolve) => turns.nextTurn(resolve));

/** The simulated world of one seed. */
export class World {
  readonly clock = new VirtualClock();
  readonly trace: Trace;
  readonly coverage: Coverage = emptyCoverage();
  readonly network: SimNetwork;
  /** Founders first (`params.ids`), then the nodes churn created, in creation order. */
  readonly nodes: SimNode[];
  readonly checker = new SafetyChecker();
  readonly recorder = new HistoryRecorder();
  readonly workload: SimWorkload;
  readonly params: WorldParams;
  readonly streams: WorldStreams;
  /** World events run so far (clock callbacks). */
  events = 0;
  /** Spending against the run's budget. */
  private readonly meter: BudgetMeter;
  private finding: Finding | null = null;
  /** Set by world actions the nodes' own numbers may not show (a crash, a restart): the next check runs. */
  private dirty = true;
  /** Digest of the state machine at each snapshot index, from the first node that reached it. */
  private readonly snapshotDigests = new Map<Index, { node: NodeId; digest: string }>();
  /** The last node seen becoming leader, for the leader-change coverage mark. */
  private lastLeader: NodeId | null = null;
  /** Nodes to crash during their next disk write, and how long they then stay down. */
  private readonly crashOnWrite = new Map<NodeId, number>();
  /** How long a node stays down after an injected I/O error stopped it. */
  private readonly ioErrorDownMs = new Map<NodeId, number>();
  /** Builds the nodes churn adds. */
  private readonly host: SimNodeHost;
  /** Whether the highest-term leader last seen was in a joint configuration, for the joint coverage marks. */
  private leaderJoint = false;
  /** The learners of the highest-term leader last seen, for the learner coverage mark. */
  private leaderLearners: readonly NodeId[] = [];

  constructor(config: WorldConfig) {
    this.params = config.params;
    this.streams = config.streams;
    this.meter = new BudgetMeter(config.budget ?? UNLIMITED_BUDGET);
    const tap = config.tap;
    this.trace = new Trace(config.traceTail, tap === undefined ? null : (timeMs, event) => tap.event(timeMs, event));
    const observer: NetworkObserver = {
      trace: (event: string) => this.record(event),
      mark: (mark: CoverageMark) => this.mark(mark),
      sent: (from, to, message) => {
        this.checkReplyDurable(from, message);
        tap?.sent(this.clock.now(), from, to, message);
      },
      delivered: (from, to, message) => {
        this.notePreVoteAnswer(to, message);
        tap?.delivered(this.clock.now(), from, to, message);
      },
    };
    this.network = new SimNetwork(this.clock, config.params.ids, config.streams.network, config.params.network, observer);
    const host = this.nodeHost(config.plugin?.stateMachine ?? (() => new KvStateMachine()));
    this.host = host;
    this.nodes = config.params.ids.map((id) => new SimNode(id, host, config.streams.disk.split()));
    const plugin = config.plugin;
    this.workload =
      plugin === undefined
        ? new Workload(config.streams.workload, this.clusterAccess(), this.recorder, workloadOptions(config.params))
        : plugin.workload({ ...this.clusterAccess<SimStateMachine, unknown>(), random: config.streams.workload, params: config.params });
    tap?.attach?.(this);
  }

  /** Starts every node and the clients. */
  async start(): Promise<void> {
    for (const node of this.nodes) this.spawn(`start ${node.id}`, () => node.start());
    await this.settle();
    this.workload.start();
  }

  /** World time in milliseconds. */
  now(): number {
    return this.clock.now();
  }

  /** Runs every event up to world time `timeMs`, checking after each. Throws {@link WorldStopped} on a finding. */
  async runUntil(timeMs: number): Promise<void> {
    // The target as clock.advance(timeMs - now) computed it, to the last bit: runs stay those of earlier versions.
    if (timeMs > this.clock.now()) await this.runEvents(this.clock.now() + (timeMs - this.clock.now()));
    this.stopIfFound();
  }

  /**
   * Runs every event due up to `targetMs`, each followed by a drain and the
   * checks, then moves the clock to `targetMs` and settles once more: what
   * `clock.advance(ms, () => this.settle())` does, without an async frame
   * and its promises per event. Each event runs in a `process.nextTick`
   * callback queued (from a microtask) once the previous event's chains
   * had all run; an event's own chains run right after it, as before.
   * Rejects with the first finding ({@link WorldStopped}) or with what an
   * event threw.
   */
  private runEvents(targetMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const clock = this.clock;
      let finished = false;
      const afterDrain = (): void => {
        try {
          this.countEvent();
          if (this.events % YIELD_EVERY_EVENTS === 0) turns.nextTurn(afterYield);
          else afterYield();
        } catch (error) {
          reject(error);
        }
      };
      const queueAfterDrain = (): void => turns.afterMicrotasks(afterDrain);
      const afterYield = (): void => {
        try {
          this.checkSafety();
          this.stopIfFound();
          if (finished) {
            resolve();
            return;
          }
          runNext();
        } catch (error) {
          reject(error);
        }
      };
      const runNext = (): void => {
        if (!clock.runNextDue(targetMs)) {
          clock.moveTo(targetMs);
          finished = true;
        }
        void RESOLVED.then(queueAfterDrain);
      };
      try {
        runNext();
      } catch (error) {
        reject(error);
      }
    });
  }

  /** Schedules `action` as a world event at `atMs` (or now, if that has passed). */
  at(atMs: number, action: () => void): void {
    this.clock.setTimeout(action, Math.max(0, atMs - this.clock.now()));
  }

  /** Runs an asynchronous world action; an exception in it is a finding, never an unhandled rejection. */
  spawn(label: string, action: () => Promise<void>): void {
    action().catch((error: unknown) => this.fail('World crash', `${label}: ${describeError(error)}`));
  }

  /** Records the first finding; the event loop stops after the current event. */
  fail(invariant: string, detail: string): void {
    if (this.finding !== null) return;
    this.record(`FINDING ${invariant}: ${detail}`);
    this.finding = { invariant, detail, atMs: this.clock.now(), trace: this.trace.last() };
  }

  /** The first finding, if any. */
  get found(): Finding | null {
    return this.finding;
  }

  /** Adds an event to the trace. */
  record(event: string): void {
    this.trace.record(this.clock.now(), event);
  }

  /** Counts one occurrence of a coverage mark. */
  mark(mark: CoverageMark): void {
    this.coverage[mark]++;
  }

  /** The node by id. */
  node(id: NodeId): SimNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** The ids of every node so far, founders first. */
  ids(): NodeId[] {
    return this.nodes.map((node) => node.id);
  }

  /**
   * Creates a fresh machine (empty disk, its own clock) with the next free id,
   * registers it on the network and starts it with `join: true`: it waits for
   * a leader to add it. Its disk stream is split off the world's disk stream,
   * after every founder's, so a run stays deterministic.
   */
  createJoiningNode(): SimNode {
    const id = `n${this.nodes.length + 1}`;
    this.network.addNode(id, this.ids());
    const node = new SimNode(id, this.host, this.streams.disk.split(), true);
    this.nodes.push(node);
    this.record(`${id} created to join`);
    this.mark('nodeJoined');
    this.dirty = true;
    this.spawn(`start ${id}`, () => node.start());
    return node;
  }

  /** The running node that leads in the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const node of this.nodes) {
      const status = node.state === 'up' ? node.node?.status() : undefined;
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** Starts a new incarnation of `node` (it must be down). */
  restart(node: SimNode): void {
    if (node.state !== 'down') return;
    this.checker.recordRestart(node.id);
    this.mark('restart');
    this.dirty = true;
    this.spawn(`restart ${node.id}`, () => node.start());
  }

  /** Crashes `node` (losing its unsynced writes) if it is running. */
  crash(node: SimNode): void {
    if (node.state !== 'up') return;
    this.record(`${node.id} crash`);
    this.mark('crash');
    this.noteUnsyncedAtCrash(node);
    this.dirty = true;
    node.crash();
  }

  /** Makes the next write of `node` fail; once the node has stopped on it, it restarts `downMs` later. */
  armIoError(node: SimNode, downMs: number): void {
    if (node.state !== 'up') return;
    this.record(`${node.id} disk armed to fail`);
    this.ioErrorDownMs.set(node.id, downMs);
    node.disk.armIoError();
  }

  /**
   * Crashes `node` at a random moment while its next disk write is in flight
   * (FoundationDB's favourite moment), then restarts it `downMs` later.
   */
  armCrashOnWrite(node: SimNode, downMs: number): void {
    if (node.state !== 'up') return;
    this.record(`${node.id} armed to crash during its next write`);
    this.crashOnWrite.set(node.id, downMs);
  }

  /** Cancels the faults armed on `node` that have not struck yet (the liveness phase's core is left alone). */
  disarm(node: SimNode): void {
    this.crashOnWrite.delete(node.id);
    node.disk.disarm();
  }

  /** Restarts `node` after `delayMs`, unless it was restarted (or restarted and crashed again) meanwhile. */
  restartLater(node: SimNode, delayMs: number): void {
    const incarnation = node.incarnation;
    this.at(this.clock.now() + delayMs, () => {
      if (node.incarnation === incarnation) this.restart(node);
    });
  }

  /** After each event: drain, then check. */
  private async settle(): Promise<void> {
    await drain();
    this.countEvent();
    if (this.events % YIELD_EVERY_EVENTS === 0) await yieldTurn();
    this.checkSafety();
    this.stopIfFound();
  }

  /**
   * The most items the world held at any count (every
   * `HELD_CHECK_EVERY_EVENTS` events, and at {@link checkHeldBudget}).
   */
  get peakHeldItems(): number {
    return this.meter.peakHeldItems;
  }

  /** Counts what the world holds now; throws {@link WorldOverBudget} if that is past the budget. */
  checkHeldBudget(): void {
    this.stopIfOverBudget(this.meter.checkHeld(heldItems(this)));
  }

  /** Counts one event against the budget; throws {@link WorldOverBudget} once the run has spent it. */
  private countEvent(): void {
    this.events++;
    this.stopIfOverBudget(this.meter.checkEvents(this.events));
    if (this.events % HELD_CHECK_EVERY_EVENTS === 0) this.checkHeldBudget();
  }

  private stopIfOverBudget(spent: SpentBudget | null): void {
    if (spent === null) return;
    this.record(`BUDGET ${spent.budget}: ${spent.detail}`);
    throw new WorldOverBudget({ ...spent, atMs: this.clock.now(), trace: this.trace.last() });
  }

  private stopIfFound(): void {
    if (this.finding !== null) throw new WorldStopped(this.finding);
  }

  /**
   * Runs the safety checker over every running node, when anything it looks
   * at changed: most events (heartbeats, ticks) change nothing it checks, and
   * a cheap comparison of each node's observed numbers tells which ones did.
   */
  private checkSafety(): void {
    let changed = this.dirty;
    for (const node of this.nodes) {
      if (node.state === 'up' && node.diskFailed) {
        this.fail('I/O errors stop the node', `${node.id} kept running after a write failed`);
      }
      // Every node is looked at, so that each one's record of what it last showed stays current.
      if (node.changedSinceLastLook()) changed = true;
    }
    if (!changed) return;
    this.dirty = false;
    const observations: NodeObservation[] = [];
    for (const node of this.nodes) {
      const observation = node.observe();
      if (observation !== null) observations.push(observation);
    }
    this.guard(() => this.checker.observe(observations));
    this.noteJoint(observations);
  }

  /** Counts the leader entering and leaving joint configurations, and learners appearing in its configuration. */
  private noteJoint(observations: readonly NodeObservation[]): void {
    let leader: NodeObservation | null = null;
    for (const observation of observations) {
      if (observation.role === 'leader' && (leader === null || observation.term > leader.term)) leader = observation;
    }
    if (leader === null) return;
    const learners = leader.membership.learners ?? [];
    if (learners.some((id) => !this.leaderLearners.includes(id))) this.mark('learnerAdded');
    this.leaderLearners = learners;
    const joint = leader.membership.outgoingVoters !== undefined && leader.membership.outgoingVoters.length > 0;
    if (joint === this.leaderJoint) return;
    this.leaderJoint = joint;
    this.mark(joint ? 'jointEntered' : 'jointLeft');
  }

  /** Runs a checker call; a violation becomes the world's finding instead of an exception inside node code. */
  private guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      if (error instanceof SafetyViolation) this.fail(error.invariant, error.message);
      else this.fail('World crash', `checker: ${describeError(error)}`);
    }
  }

  private nodeHost(createStateMachine: () => SimStateMachine): SimNodeHost {
    return {
      createStateMachine,
      clock: this.clock,
      network: this.network,
      params: this.params,
      ids: () => this.ids(),
      random: this.streams.nodes,
      trace: (event) => this.record(event),
      applied: (node, entry) => this.guard(() => this.checker.recordApplied(node.id, entry)),
      snapshotted: (node, index, digest) => this.onSnapshot(node, index, digest),
      roleChanged: (node, role, term) => {
        this.record(`${node.id} role ${role} t${term}`);
        if (role !== 'leader') return;
        this.mark('leaderElected');
        if (this.lastLeader !== null && this.lastLeader !== node.id) this.mark('leaderChanged');
        this.lastLeader = node.id;
      },
      failed: (node, error) => this.onFatal(node, error),
      disk: (node, event) => this.onDisk(node, event),
    };
  }

  private onDisk(node: SimNode, event: DiskEvent): void {
    switch (event.kind) {
      case 'write':
        this.maybeCrashDuringWrite(node, event.latencyMs);
        return;
      case 'append':
        this.dirty = true;
        this.guard(() => {
          for (const entry of event.entries) this.checker.recordEntry(entry as Entry);
        });
        if (event.truncatedConflict) {
          this.mark('conflictTruncated');
          this.record(`${node.id} truncated a conflicting suffix at ${event.entries[0]?.index}`);
        }
        return;
      case 'ioError':
        this.record(`${node.id} disk I/O error`);
        return;
      case 'crash':
        this.dirty = true;
        if (event.lostWrites > 0) this.mark('unsyncedWriteLost');
        if (event.survivedWrites > 0) this.mark('unsyncedWriteSurvived');
        this.record(`${node.id} disk lost ${event.lostWrites} unsynced writes, kept ${event.survivedWrites}`);
        return;
    }
  }

  private maybeCrashDuringWrite(node: SimNode, latencyMs: number): void {
    const downMs = this.crashOnWrite.get(node.id);
    if (downMs === undefined) return;
    this.crashOnWrite.delete(node.id);
    const incarnation = node.incarnation;
    // Strictly before the write's completion: the world clock runs earlier-scheduled callbacks first at equal times.
    const delayMs = (latencyMs * this.streams.faults.nextFloat()) / (node.clock?.rate ?? 1);
    this.at(this.clock.now() + delayMs, () => {
      if (node.incarnation !== incarnation || node.state !== 'up') return;
      this.crash(node);
      this.restartLater(node, downMs);
    });
  }

  /**
   * Checks that a message leaving `from` promises nothing its disk does not
   * hold (see reply-durability.ts). Not with a disk planted to lie about
   * fsync: the node then keeps the contract, its disk breaks it.
   */
  private checkReplyDurable(from: NodeId, message: NodeMessage): void {
    if (this.params.disk.acknowledgeBeforeSync === true) return;
    const problem = undurableReply(message, this.node(from).disk);
    if (problem !== null) this.fail('Durable before reply', problem);
  }

  /** Counts a pre-vote answer of a higher term reaching a pre-candidate (before it steps it). */
  private notePreVoteAnswer(to: NodeId, message: NodeMessage): void {
    if (message.kind !== 'raft' || message.message.type !== 'requestVoteResponse' || !message.message.preVote) return;
    const core = this.node(to).node?.coreReader();
    if (core?.role === 'preCandidate' && message.message.term > core.currentTerm) this.mark('preCandidateSawHigherTerm');
  }

  /** Counts the crashes that strike inside the windows of known bugs 4 and 7 (see coverage.ts). */
  private noteUnsyncedAtCrash(node: SimNode): void {
    const core = node.node?.coreReader();
    if (core === undefined) return;
    const durable = node.disk.durableHardState();
    const voteUnsynced = core.vote !== null && core.vote !== node.id && (durable.term !== core.currentTerm || durable.vote !== core.vote);
    if (voteUnsynced) this.mark('votedThenCrashedUnsynced');
    if (core.role !== 'leader') return;
    const durableLast = node.disk.durableLastIndex();
    if (this.ids().some((id) => id !== node.id && (core.matchIndex(id) ?? 0) > durableLast)) this.mark('leaderCrashedAckedUnsynced');
  }

  /** Snapshot consistency: every snapshot at an index holds the same state (that of replaying the log to it). */
  private onSnapshot(node: SimNode, index: Index, digest: string): void {
    this.mark('snapshotTaken');
    const core = node.node?.coreReader();
    if (core?.role === 'leader' && core.firstIndex() - 1 < index - this.params.keepEntries) this.mark('compactionHeldBack');
    const known = this.snapshotDigests.get(index);
    if (known === undefined) this.snapshotDigests.set(index, { node: node.id, digest });
    else if (known.digest !== digest) {
      this.fail('Snapshot consistency', `${node.id} holds state ${digest} at snapshot index ${index}, ${known.node} held ${known.digest}`);
    }
  }

  /** A node stopped itself. Expected only after an injected I/O error; anything else is a finding. */
  private onFatal(node: SimNode, error: Error): void {
    this.record(`${node.id} fatal: ${error.message}`);
    if (!hasCode(error, 'KEEL_STORAGE_IO') || !node.diskFailed) {
      this.fail('Node failure', `${node.id} stopped: ${describeError(error)}`);
      return;
    }
    this.mark('ioErrorStopped');
    this.dirty = true;
    node.crash();
    this.restartLater(node, this.ioErrorDownMs.get(node.id) ?? 0);
  }

  /** The cluster as clients see it. `Machine` and `Result` are the plugged-in state machine's (the key-value store's by default). */
  private clusterAccess<Machine = KvStateMachine, Result = KvResult>(): ClusterAccess<Machine, Result> {
    const world = this;
    return {
      // Every node so far, the ones churn created too (and removed ones, which refuse or redirect): clients find the
      // current members the way real clients of a changing cluster do.
      get ids(): readonly NodeId[] {
        return world.ids();
      },
      now: () => this.clock.now(),
      setTimeout: (callback, delayMs) => {
        const handle = this.clock.setTimeout(callback, delayMs);
        return () => this.clock.clearTimeout(handle);
      },
      target: (id) => {
        const node = this.node(id);
        const raft = node.node;
        if (node.state !== 'up' || raft === null) return null;
        // The world builds every node's machine with the same factory the workload was written for.
        return { node: raft as RaftNode<Result>, machine: node.machine as unknown as Machine, runOn: (action) => node.runOn(action) };
      },
      partitioned: () => this.network.currentCuts().length > 0,
      trace: (event) => this.record(event),
      mark: (mark) => this.mark(mark),
      violation: (invariant, detail) => this.fail(invariant, detail),
    };
  }
}

function workloadOptions(params: WorldParams): ConstructorParameters<typeof Workload>[3] {
  return {
    clients: params.clients,
    keys: params.keys,
    thinkMsMax: 5 * params.tickIntervalMs,
    attemptTimeoutMs: params.requestTimeoutMs,
    opDeadlineMs: 3 * params.requestTimeoutMs,
    leaseReads: params.leaseReads,
    unsafeReads: params.unsafeReads,
    flooding: params.floodingClients,
  };
}
