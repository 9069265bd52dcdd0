/**
 * The multi-group simulated world: several hosts, each running the
 * production `RaftHost` with a replica of many Raft groups, on the
 * simulator's virtual clock, network and disks, with clients on a key-value
 * store whose keys are spread over the groups. After every event it checks
 * Raft's safety invariants per group (one `SafetyChecker` per group, fed
 * with that group's replicas), snapshot consistency per group, and that no
 * message promises what its sender's disk does not hold. The first broken
 * invariant stops the world.
 */
import { BudgetMeter, HELD_CHECK_EVERY_EVENTS, UNLIMITED_BUDGET, WorldOverBudget } from '../world/budget.js';
import type { SpentBudget, WorldBudget } from '../world/budget.js';
import type { Entry, Index, NodeId } from '../../src/core/types.js';
import { SafetyChecker, SafetyViolation } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';
import { VirtualClock } from '../../src/util/clock.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { SeededRandom } from '../../src/util/random.js';
import { HistoryRecorder } from '../history.js';
import { emptyCoverage } from '../world/coverage.js';
import type { Coverage, CoverageMark } from '../world/coverage.js';
import { describeError, hasCode } from '../world/errors.js';
import { SimNetwork } from '../world/network.js';
import type { DiskEvent } from '../world/sim-disk.js';
import type { WorldStreams } from '../world/streams.js';
import { Trace } from '../world/trace.js';
import type { Finding } from '../world/world.js';
import { WorldStopped } from '../world/world.js';
import { runEvents } from './event-loop.js';
import { emptyHostCoverage } from './host-coverage.js';
import type { HostCoverage, HostCoverageMark } from './host-coverage.js';
import type { HostWorldParams } from './host-params.js';
import { GroupClients } from './group-clients.js';
import { observeDelivered, observeSent } from './batch-observer.js';
import type { ReplicaWatch } from './replica-watch.js';
import { SimHost } from './sim-host.js';
import { SimRebalance } from './sim-rebalance.js';
import type { RebalanceBug } from './sim-rebalance.js';
import type { SimHostWorld } from './sim-host.js';

/** How often the hosts' quiescence counters are read, in events. */
const QUIESCENCE_READ_EVERY_EVENTS = 64;

/** How a multi-group world is built. */
export interface HostWorldConfig {
  readonly params: HostWorldParams;
  readonly streams: WorldStreams;
  /** Trace events a finding carries. */
  readonly traceTail: number;
  /** The run's event and held-items budget (sim/world/budget.ts). @defaultValue unlimited */
  readonly budget?: WorldBudget | undefined;
  /** A bug to plant in the rebalancer's adapter (sim-rebalance.ts), for the simulator's own tests. */
  readonly rebalanceBug?: RebalanceBug | undefined;
}

/** The simulated world of one multi-group seed. */
export class HostWorld implements SimHostWorld {
  private readonly meter: BudgetMeter;
  readonly clock = new VirtualClock();
  readonly trace: Trace;
  readonly coverage: Coverage = emptyCoverage();
  readonly hostCoverage: HostCoverage = emptyHostCoverage();
  readonly network: SimNetwork;
  readonly hosts: readonly SimHost[];
  readonly recorder = new HistoryRecorder();
  readonly clients: GroupClients;
  readonly params: HostWorldParams;
  readonly streams: WorldStreams;
  readonly random: SeededRandom;
  /** One safety checker per group: each group is its own Raft cluster. */
  readonly checkers = new Map<GroupId, SafetyChecker>();
  /** The sharded service's rebalancer on every host, in a rebalance world (params `rebalance`); else null. */
  readonly rebalance: SimRebalance | null;
  events = 0;
  private finding: Finding | null = null;
  private dirty = true;
  private readonly snapshotDigests = new Map<string, { host: NodeId; digest: string }>();
  /** Hosts to crash during their next disk write (of any group), and how long they then stay down. */
  private readonly crashOnWrite = new Map<NodeId, number>();
  /** The host last seen becoming each group's leader, for the leader-change coverage mark. */
  private readonly lastLeader = new Map<GroupId, NodeId>();
  /** How long after a group's disk failed its host restarts. */
  private readonly ioErrorDownMs = new Map<NodeId, number>();
  /** Quiescence counters of each host incarnation, as last read. */
  private readonly quiesceSeen = new Map<NodeId, { incarnation: number; quiesces: number; livenessWakes: number }>();

  constructor(config: HostWorldConfig) {
    this.meter = new BudgetMeter(config.budget ?? UNLIMITED_BUDGET);
    this.params = config.params;
    this.streams = config.streams;
    this.random = config.streams.nodes;
    this.trace = new Trace(config.traceTail);
    const ids = config.params.world.ids;
    this.network = new SimNetwork(this.clock, ids, config.streams.network, config.params.world.network, {
      trace: (event) => this.record(event),
      mark: (mark) => this.mark(mark),
      sent: (from, _to, message) => observeSent(this, from, message),
      delivered: (_from, to, message) => observeDelivered(this, to, message),
    });
    for (const { group } of config.params.groups) this.checkers.set(group, new SafetyChecker());
    this.hosts = ids.map((id) => {
      const placements = config.params.groups.filter((placement) => placement.members.includes(id));
      return new SimHost(id, placements, this, config.streams.disk.split());
    });
    this.clients = new GroupClients(this);
    this.rebalance = config.params.rebalance === null ? null : new SimRebalance(this, config.params.rebalance, config.rebalanceBug ?? null);
  }

  /** Starts every host and the clients. */
  start(): void {
    for (const host of this.hosts) this.spawn(`start ${host.id}`, () => host.start());
    this.clients.start();
    this.rebalance?.schedule();
  }

  /** The most items the world held at any count so far. */
  get peakHeldItems(): number {
    return this.meter.peakHeldItems;
  }

  /**
   * Counts what the world holds now (every group's disk on every host, the
   * clock's pending timers and messages, the client history); throws
   * {@link WorldOverBudget} past the budget.
   */
  checkHeldBudget(): void {
    let entries = 0;
    for (const host of this.hosts) for (const group of host.logs.ids()) entries += host.logs.disk(group)?.heldEntries() ?? 0;
    const timers = this.clock.pending();
    const operations = this.recorder.length;
    this.stopIfOverBudget(this.meter.checkHeld({ entries, timers, operations, total: entries + timers + operations }));
  }

  /** Counts one event against the budget, as the single-group world does; returns the events run so far. */
  private countEvent(): number {
    this.events++;
    this.stopIfOverBudget(this.meter.checkEvents(this.events));
    if (this.events % HELD_CHECK_EVERY_EVENTS === 0) this.checkHeldBudget();
    return this.events;
  }

  private stopIfOverBudget(spent: SpentBudget | null): void {
    if (spent === null) return;
    this.record(`BUDGET ${spent.budget}: ${spent.detail}`);
    throw new WorldOverBudget({ ...spent, atMs: this.clock.now(), trace: this.trace.last() });
  }

  /** World time in milliseconds. */
  now(): number {
    return this.clock.now();
  }

  /** Runs every event up to world time `timeMs`, checking after each. Throws {@link WorldStopped} on a finding. */
  async runUntil(timeMs: number): Promise<void> {
    if (timeMs > this.clock.now()) {
      await runEvents({ clock: this.clock, countEvent: () => this.countEvent(), afterEvent: () => this.afterEvent() }, this.clock.now() + (timeMs - this.clock.now()));
    }
    this.stopIfFound();
  }

  /** Schedules `action` as a world event at `atMs` (or now, if that has passed). */
  at(atMs: number, action: () => void): void {
    this.clock.setTimeout(action, Math.max(0, atMs - this.clock.now()));
  }

  /** Runs an asynchronous world action; an exception in it is a finding. */
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

  /** Counts one occurrence of a single-group coverage mark. */
  mark(mark: CoverageMark): void {
    this.coverage[mark]++;
  }

  /** Counts one occurrence of a multi-group coverage mark. */
  markHost(mark: HostCoverageMark): void {
    this.hostCoverage[mark]++;
  }

  /** The host by id. */
  host(id: NodeId): SimHost {
    const host = this.hosts.find((candidate) => candidate.id === id);
    if (host === undefined) throw new RangeError(`no host ${id}`);
    return host;
  }

  /** Crashes `host` (losing every group's unsynced writes) if it is running. */
  crash(host: SimHost): void {
    if (host.state === 'down') return;
    this.record(`${host.id} crash`);
    this.mark('crash');
    this.markHost('hostCrashed');
    this.noteQuiescedLeadersLost(host);
    for (const replica of host.replicas.values()) if (replica.running) this.noteUnsyncedAtCrash(replica);
    this.noteQuiescence();
    this.dirty = true;
    host.crash();
  }

  /** Restarts `host` after `delayMs`, unless it was restarted (or crashed again) meanwhile. */
  restartLater(host: SimHost, delayMs: number): void {
    const incarnation = host.incarnation;
    this.at(this.clock.now() + delayMs, () => {
      if (host.incarnation !== incarnation || host.state !== 'down') return;
      for (const group of host.logs.ids()) this.checkers.get(group)!.recordRestart(host.id);
      this.mark('restart');
      this.markHost('hostReopenedGroups');
      this.dirty = true;
      this.spawn(`restart ${host.id}`, () => host.start());
    });
  }

  /** Crashes `host` at a random moment while its next disk write (of any group) is in flight, then restarts it `downMs` later. */
  armCrashOnWrite(host: SimHost, downMs: number): void {
    if (host.state !== 'up') return;
    this.record(`${host.id} armed to crash during its next write`);
    this.crashOnWrite.set(host.id, downMs);
  }

  /**
   * Makes the next write of `group`'s disk on `host` fail. The replica must
   * stop on it while the host's other groups run on; `downMs` later the
   * host restarts (a process restart), reopening the group from its disk.
   */
  armIoError(host: SimHost, group: GroupId, downMs: number): void {
    const disk = host.logs.disk(group);
    if (host.state !== 'up' || disk === undefined) return;
    this.record(`${host.id}/${group} disk armed to fail`);
    this.ioErrorDownMs.set(host.id, downMs);
    disk.armIoError();
  }

  /** Cancels the crash armed on `host` and the I/O errors armed on its disks. */
  disarm(host: SimHost): void {
    this.crashOnWrite.delete(host.id);
    for (const group of host.logs.ids()) host.logs.disk(group)?.disarm();
  }

  /** The running host whose replica of `group` leads in the highest term, or null. */
  leaderOf(group: GroupId): SimHost | null {
    let best: SimHost | null = null;
    let bestTerm = -1;
    for (const host of this.hosts) {
      const status = host.state === 'up' ? host.replica(group)?.node?.status() : undefined;
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = host;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** Whether `group` is quiesced on `host` now. */
  quiesced(host: SimHost, group: GroupId): boolean {
    return host.raftHost !== null && host.raftHost.isQuiesced(group);
  }

  // ---- what hosts and replicas report (SimHostWorld) ------------------------------------

  /** A replica applied `entry`: one canonical committed sequence per group. */
  applied(host: NodeId, group: GroupId, entry: Entry): void {
    this.guard(() => this.checkers.get(group)!.recordApplied(host, entry));
  }

  /** Snapshot consistency: every snapshot of a group at an index holds the same state. */
  snapshotted(host: NodeId, group: GroupId, index: Index, digest: string): void {
    this.mark('snapshotTaken');
    const key = `${group}@${index}`;
    const known = this.snapshotDigests.get(key);
    if (known === undefined) this.snapshotDigests.set(key, { host, digest });
    else if (known.digest !== digest) {
      this.fail('Snapshot consistency', `${host} holds state ${digest} of group ${group} at snapshot index ${index}, ${known.host} held ${known.digest}`);
    }
  }

  /** A replica's role changed. */
  roleChanged(host: NodeId, group: GroupId, role: string, term: number): void {
    this.record(`${host}/${group} role ${role} t${term}`);
    if (role !== 'leader') return;
    this.mark('leaderElected');
    const last = this.lastLeader.get(group);
    if (last !== undefined && last !== host) this.mark('leaderChanged');
    this.lastLeader.set(group, host);
  }

  /** A replica stopped itself. Expected only after an I/O error injected on its disk; anything else is a finding. */
  failed(hostId: NodeId, group: GroupId, error: Error): void {
    this.record(`${hostId}/${group} fatal: ${error.message}`);
    const host = this.host(hostId);
    const replica = host.replicas.get(group);
    if (replica === undefined || !hasCode(error, 'KEEL_STORAGE_IO') || !replica.diskFailed) {
      this.fail('Replica failure', `${hostId}/${group} stopped: ${describeError(error)}`);
      return;
    }
    replica.stopped = true;
    this.dirty = true;
    this.mark('ioErrorStopped');
    this.markHost('groupDiskFailed');
    const incarnation = host.incarnation;
    this.at(this.clock.now() + (this.ioErrorDownMs.get(hostId) ?? 0), () => {
      if (host.incarnation !== incarnation || host.state === 'down') return;
      this.record(`${hostId} restarts after ${group}'s disk failed`);
      this.crash(host);
      this.restartLater(host, this.params.world.downMsMin);
    });
  }

  /** A group's disk on a host reported a write, an append, an I/O error or a crash. */
  disk(hostId: NodeId, group: GroupId, event: DiskEvent): void {
    switch (event.kind) {
      case 'write':
        this.maybeCrashDuringWrite(this.host(hostId), event.latencyMs);
        return;
      case 'append':
        this.dirty = true;
        this.guard(() => {
          for (const entry of event.entries) this.checkers.get(group)!.recordEntry(entry as Entry);
        });
        if (event.truncatedConflict) this.mark('conflictTruncated');
        return;
      case 'ioError':
        this.record(`${hostId}/${group} disk I/O error`);
        return;
      case 'crash':
        if (event.lostWrites > 0) this.mark('unsyncedWriteLost');
        if (event.survivedWrites > 0) this.mark('unsyncedWriteSurvived');
        if (event.lostWrites + event.survivedWrites > 0) this.record(`${hostId}/${group} disk lost ${event.lostWrites} unsynced writes, kept ${event.survivedWrites}`);
        return;
    }
  }

  /**
   * A group that fails to open on a host restart is a finding (its disk
   * holds what the group wrote). A refused message is not: a peer may write
   * to a group whose replica stopped on a disk error, or that the host is
   * still reopening.
   */
  hostLog(host: NodeId, event: 'refused' | 'group-open-failed' | 'drop-refused', message: string): void {
    if (event === 'group-open-failed') this.fail('Group reopens', `${host}: ${message}`);
    else this.record(`${host} refused: ${message}`);
  }

  /** A host incarnation is up: in a rebalance world its rebalancer starts. */
  hostUp(host: SimHost): void {
    this.rebalance?.hostUp(host);
  }

  /** A line for the trace from a host or replica. */
  note(event: string): void {
    this.record(event);
  }

  // ---- after every event ----------------------------------------------------------------

  private afterEvent(): void {
    this.checkSafety();
    // The hosts' counters only grow within an incarnation: reading them now and then (and before each crash) counts every quiesce.
    if (this.events % QUIESCENCE_READ_EVERY_EVENTS === 0) this.noteQuiescence();
    this.stopIfFound();
  }

  private stopIfFound(): void {
    if (this.finding !== null) throw new WorldStopped(this.finding);
  }

  /** Runs each group's checker over the group's running replicas, for the groups where anything it looks at changed. */
  private checkSafety(): void {
    const all = this.dirty;
    this.dirty = false;
    const changed = new Set<GroupId>();
    for (const host of this.hosts) {
      for (const replica of host.replicas.values()) {
        if (replica.running && replica.diskFailed) this.checkStopsOnIoError(host, replica);
        if (replica.changedSinceLastLook() || all) changed.add(replica.group);
      }
    }
    for (const group of changed) {
      const observations: NodeObservation[] = [];
      for (const host of this.hosts) {
        const observation = host.replicas.get(group)?.observe() ?? null;
        if (observation !== null) observations.push(observation);
      }
      this.guard(() => this.checkers.get(group)!.observe(observations));
    }
  }

  /**
   * A replica whose write failed must stop (its `fatal` event). On a host the
   * failure reaches it through the host loop's next round, so it is given an
   * election timeout of world time, not one event.
   */
  private checkStopsOnIoError(host: SimHost, replica: ReplicaWatch): void {
    const since = replica.diskFailedSinceMs ?? this.clock.now();
    replica.diskFailedSinceMs = since;
    if (this.clock.now() - since > 2 * this.params.world.electionTicks * this.params.world.tickIntervalMs) {
      this.fail('I/O errors stop the replica', `${host.id}/${replica.group} kept running after a write failed`);
    }
  }

  /** Counts groups quiescing and waking on a leader host's silence, from each running host's counters (the run reads them once more at its end). */
  noteQuiescence(): void {
    for (const host of this.hosts) {
      const raftHost = host.raftHost;
      if (raftHost === null) continue;
      const { quiesces, livenessWakes } = raftHost.stats().quiescence;
      const seen = this.quiesceSeen.get(host.id);
      const sameIncarnation = seen !== undefined && seen.incarnation === host.incarnation;
      const newQuiesces = quiesces - (sameIncarnation ? seen.quiesces : 0);
      const newWakes = livenessWakes - (sameIncarnation ? seen.livenessWakes : 0);
      if (newQuiesces > 0) this.hostCoverage.groupQuiesced += newQuiesces;
      if (newWakes > 0) this.hostCoverage.wokenByLeaderSilence += newWakes;
      if (!sameIncarnation || newQuiesces > 0 || newWakes > 0) this.quiesceSeen.set(host.id, { incarnation: host.incarnation, quiesces, livenessWakes });
    }
  }

  private guard(check: () => void): void {
    try {
      check();
    } catch (error) {
      if (error instanceof SafetyViolation) this.fail(error.invariant, error.message);
      else this.fail('World crash', `checker: ${describeError(error)}`);
    }
  }

  private maybeCrashDuringWrite(host: SimHost, latencyMs: number): void {
    const downMs = this.crashOnWrite.get(host.id);
    if (downMs === undefined) return;
    this.crashOnWrite.delete(host.id);
    const incarnation = host.incarnation;
    const delayMs = (latencyMs * this.streams.faults.nextFloat()) / (host.clock?.rate ?? 1);
    this.at(this.clock.now() + delayMs, () => {
      if (host.incarnation !== incarnation || host.state === 'down') return;
      this.crash(host);
      this.restartLater(host, downMs);
    });
  }

  /** Counts the crashes that strike inside the windows of known bugs 4 and 7, per replica (see coverage.ts). */
  private noteUnsyncedAtCrash(replica: ReplicaWatch): void {
    const core = replica.node!.coreReader();
    const durable = replica.disk.durableHardState();
    if (core.vote !== null && core.vote !== replica.hostId && (durable.term !== core.currentTerm || durable.vote !== core.vote)) this.mark('votedThenCrashedUnsynced');
    if (core.role !== 'leader') return;
    const durableLast = replica.disk.durableLastIndex();
    if (replica.members.some((id) => id !== replica.hostId && (core.matchIndex(id) ?? 0) > durableLast)) this.mark('leaderCrashedAckedUnsynced');
  }

  /** A host about to crash leads groups that are quiesced: their followers must notice from the host's silence alone. */
  private noteQuiescedLeadersLost(host: SimHost): void {
    if (host.raftHost === null) return;
    for (const replica of host.replicas.values()) {
      if (replica.running && replica.node!.status().role === 'leader' && this.quiesced(host, replica.group)) {
        this.markHost('leaderHostLostWhileQuiesced');
        this.record(`${host.id} crashes while leading quiesced group ${replica.group}`);
        return;
      }
    }
  }
}
