/**
 * One simulated machine: its disk and snapshots, which survive crashes, and
 * the current incarnation of the production {@link RaftNode} running on them
 * with a drifting, pausable clock and the simulated network.
 */
import type { CoreReader } from '../../src/core/raw-node.js';
import type { Entry, HardState, Index, NodeId } from '../../src/core/types.js';
import { RaftNode } from '../../src/node/raft-node.js';
import type { VirtualClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { observationOf } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';
import type { SimNetwork } from './network.js';
import { NodeClock } from './node-clock.js';
import type { WorldParams } from './params.js';
import { SimDisk } from './sim-disk.js';
import type { DiskEvent, DiskHandle } from './sim-disk.js';
import { SimSnapshots, digestsAtCapture } from './sim-snapshots.js';
import type { SimStateMachine } from './plugin.js';
import { uniform } from './streams.js';

/** What a {@link SimNode} needs from its world. */
export interface SimNodeHost {
  readonly clock: VirtualClock;
  readonly network: SimNetwork;
  readonly params: WorldParams;
  /** Every node of the world so far, founders first, then the ones churn created. */
  ids(): readonly NodeId[];
  /** The world's `nodes` stream: incarnation seeds and clock rates. */
  readonly random: SeededRandom;
  /** A fresh state machine for each incarnation. */
  createStateMachine(): SimStateMachine;
  trace(event: string): void;
  /** A node applied the entry at `index` (read back from its disk). */
  applied(node: SimNode, entry: Entry): void;
  /** A node took or installed a snapshot at `index`, holding state with `digest`. */
  snapshotted(node: SimNode, index: Index, digest: string): void;
  /** A node's role changed. */
  roleChanged(node: SimNode, role: string, term: number): void;
  /** A node stopped on its own with a fatal error. */
  failed(node: SimNode, error: Error): void;
  /** The node's disk reported something. */
  disk(node: SimNode, event: DiskEvent): void;
}

/** The life cycle of a simulated machine. */
export type SimNodeState = 'down' | 'up' | 'failed';

/** A simulated machine and the incarnation of Keel running on it. */
export class SimNode {
  readonly disk: SimDisk;
  readonly snapshots = new SimSnapshots();
  state: SimNodeState = 'down';
  /** Counts starts; fault undo actions check it so they only touch the incarnation they were meant for. */
  incarnation = 0;
  machine: SimStateMachine;
  node: RaftNode<unknown> | null = null;
  clock: NodeClock | null = null;
  private handle: DiskHandle | null = null;
  /** The highest index whose applied entry was reported, so none is reported twice or missed. */
  private reportedApplied: Index = 0;
  /** This incarnation's state digest at each snapshot capture not yet reported taken. */
  private readonly capturedDigests = new Map<Index, string>();
  /** What {@link changedSinceLastLook} saw last; empty while the node is not running. */
  private readonly stamp: (string | number | null | undefined)[] = [];
  /**
   * What can change the stamp, as last seen: the core and its change count,
   * the disk handle's write count and the durable hard state. While all four
   * are the same, so is every number in the stamp, and reading them again is
   * skipped. Null core while the node is not running.
   */
  private seenCore: CoreReader | null = null;
  private seenCoreChanges = 0;
  private seenWrites = 0;
  private seenDurable: HardState | null = null;
  /** The last observation and what it was made from, by the same four signals as {@link seenCore}. */
  private observed: { core: CoreReader; changes: number; writes: number; durable: HardState; observation: NodeObservation } | null = null;

  constructor(
    readonly id: NodeId,
    private readonly host: SimNodeHost,
    diskRandom: SeededRandom,
    /** True for a node churn created: it joins the running cluster instead of founding it. */
    readonly joins = false,
  ) {
    const slow = host.params.slowDisks;
    const disk = slow === null ? host.params.disk : { ...host.params.disk, latencyMsMin: slow.latencyMsMin, latencyMsMax: slow.latencyMsMax };
    this.disk = new SimDisk(diskRandom, disk, (event) => host.disk(this, event));
    this.machine = host.createStateMachine();
  }

  /** Starts a new incarnation over the durable state. */
  async start(): Promise<void> {
    const host = this.host;
    const params = host.params;
    const seed = host.random.nextUint32();
    const rate = 1 + uniform(host.random, -params.driftMax, params.driftMax);
    this.incarnation++;
    this.clock = new NodeClock(host.clock, rate, host.clock.now() * rate);
    this.handle = this.disk.open(this.clock);
    this.machine = host.createStateMachine();
    this.capturedDigests.clear();
    this.node = null;
    this.state = 'up';
    const node = await RaftNode.open<unknown>({
      id: this.id,
      members: this.joins ? [] : params.ids,
      join: this.joins,
      storage: this.handle,
      snapshots: this.snapshots.open(),
      transport: host.network.transport(this.id, this.clock),
      stateMachine: digestsAtCapture(this.machine, (index, digest) => this.capturedDigests.set(index, digest)),
      clock: this.clock,
      random: new SeededRandom(seed),
      tickIntervalMs: params.tickIntervalMs,
      electionTicks: params.electionTicks,
      heartbeatTicks: params.heartbeatTicks,
      preVote: params.preVote,
      checkQuorum: params.checkQuorum,
      maxClockDriftTicks: params.maxClockDriftTicks,
      requestTimeoutMs: params.requestTimeoutMs,
      limits: { maxInflightMsgs: params.maxInflightMsgs, maxMsgBytes: params.maxMsgBytes },
      snapshotting: { entries: params.snapshotEntries, keepEntries: params.keepEntries, chunkBytes: params.chunkBytes },
    });
    this.node = node;
    this.reportedApplied = this.handle.firstIndex() - 1;
    this.subscribe(node);
    // Entries applied while open() was still running had no listener yet; from here on the apply event reports each one.
    this.catchUpApplied();
    host.trace(`${this.id} start #${this.incarnation} rate ${rate.toFixed(5)}`);
  }

  /**
   * Pulls the plug: the clock dies first (no callback of this incarnation runs
   * again), then unsynced writes are lost, then the node is closed so that
   * its pending requests reject and its transport detaches. Returns the
   * number of writes lost.
   */
  crash(): number {
    if (this.state === 'down') return 0;
    this.clock?.kill();
    const lost = this.disk.crash();
    this.snapshots.crash();
    const node = this.node;
    this.node = null;
    this.handle = null;
    this.state = 'down';
    // close() settles in microtasks (its storage writes were just rejected); nothing waits for it.
    if (node !== null) void node.close().catch(() => undefined);
    return lost;
  }

  /** True when a write of this incarnation failed with an I/O error. */
  get diskFailed(): boolean {
    return this.handle?.failed === true;
  }

  /** True while the node runs and its clock is paused. */
  get paused(): boolean {
    return this.state === 'up' && this.clock?.isPaused === true;
  }

  /** Runs `action` on the node as soon as it is not paused (a client's request waits in the socket buffer). */
  runOn(action: () => void): void {
    const clock = this.clock;
    if (clock === null || !clock.isPaused) action();
    else clock.setTimeout(action, 0);
  }

  /** Reports applied entries the `apply` event could not (those applied while `open` was still running). */
  private catchUpApplied(): void {
    const node = this.node;
    if (node === null || this.state !== 'up') return;
    const applied = node.status().appliedIndex;
    for (let index = this.reportedApplied + 1; index <= applied; index++) this.reportApplied(index);
  }

  /**
   * True when anything {@link observe} reports changed since the last call
   * (or the node started or stopped). Compares numbers read straight from
   * the core, so the common event that changes nothing costs no allocation.
   */
  changedSinceLastLook(): boolean {
    const node = this.node;
    const stamp = this.stamp;
    const handle = this.handle;
    if (node === null || handle === null || this.state !== 'up') {
      const changed = stamp.length > 0;
      stamp.length = 0;
      this.seenCore = null;
      return changed;
    }
    const core = node.coreReader();
    const durable = this.disk.durableHardState();
    // Most events touch one node (a tick, a delivery): the others are recognised unchanged here.
    if (core === this.seenCore && core.changeCount === this.seenCoreChanges && handle.writeCount === this.seenWrites && durable === this.seenDurable) {
      return false;
    }
    this.seenCore = core;
    this.seenCoreChanges = core.changeCount;
    this.seenWrites = handle.writeCount;
    this.seenDurable = durable;
    const lastIndex = core.lastIndex();
    const changedBefore = stamp.length === 0;
    let at = 0;
    let differs = 0;
    // Unrolled rather than a closure: this runs for every node after every event.
    differs |= note(stamp, at++, core.role);
    differs |= note(stamp, at++, core.currentTerm);
    differs |= note(stamp, at++, core.vote);
    differs |= note(stamp, at++, durable.term);
    differs |= note(stamp, at++, durable.vote);
    differs |= note(stamp, at++, core.commitIndex);
    differs |= note(stamp, at++, core.appliedIndex);
    differs |= note(stamp, at++, core.firstIndex());
    differs |= note(stamp, at++, lastIndex);
    differs |= note(stamp, at++, core.term(lastIndex));
    for (const id of this.host.ids()) differs |= note(stamp, at++, core.matchIndex(id));
    return changedBefore || differs !== 0;
  }

  /** What the safety checker sees of this node, or null when it is not running. */
  observe(): NodeObservation | null {
    const node = this.node;
    const handle = this.handle;
    if (node === null || handle === null || this.state !== 'up') return null;
    const core = node.coreReader();
    const durable = this.disk.durableHardState();
    const last = this.observed;
    // Nothing an observation holds can have changed while these stay the same (see seenCore): the checker is then
    // handed the same object, which tells it that this node's log needs no reading again.
    if (last !== null && last.core === core && last.changes === core.changeCount && last.writes === handle.writeCount && last.durable === durable) {
      return last.observation;
    }
    const view = node.inspect();
    const observation = observationOf(view.core, durable, (index) => view.term(index), view.configIndexes);
    this.observed = { core, changes: core.changeCount, writes: handle.writeCount, durable, observation };
    return observation;
  }

  private subscribe(node: RaftNode<unknown>): void {
    const host = this.host;
    node.on('role', (role) => {
      if (this.node === node) host.roleChanged(this, role, node.status().term);
    });
    node.on('leader', (leader) => host.trace(`${this.id} leader ${leader ?? '-'}`));
    node.on('commit', (commit) => host.trace(`${this.id} commit ${commit}`));
    node.on('apply', (index) => {
      if (this.node === node) this.reportApplied(index);
    });
    node.on('snapshot', ({ kind, index }) => {
      if (this.node !== node) return;
      this.reportedApplied = Math.max(this.reportedApplied, index);
      // A snapshot taken was captured earlier (the machine has applied more since); one installed is the state now.
      const digest = kind === 'taken' ? this.capturedDigests.get(index) : this.machine.digest();
      for (const captured of this.capturedDigests.keys()) if (captured <= index) this.capturedDigests.delete(captured);
      if (digest === undefined) {
        host.failed(this, new Error(`${this.id} reported a snapshot taken at ${index} that it never captured`));
        return;
      }
      host.trace(`${this.id} snapshot ${index} digest ${digest}`);
      host.snapshotted(this, index, digest);
    });
    node.on('snapshotFailed', (error) => {
      if (this.node === node) host.failed(this, error);
    });
    node.on('fatal', (error) => {
      if (this.node === node) host.failed(this, error);
    });
  }

  private reportApplied(index: Index): void {
    if (index <= this.reportedApplied) return;
    this.reportedApplied = index;
    const handle = this.handle;
    if (handle === null || index < handle.firstIndex() || index > handle.lastIndex()) return;
    const entry = handle.entries(index, index + 1, Number.POSITIVE_INFINITY)[0];
    if (entry !== undefined) this.host.applied(this, entry);
  }
}

/** Stores `value` at `at` in `stamp`; 1 when it differed from what was there. */
function note(stamp: (string | number | null | undefined)[], at: number, value: string | number | null | undefined): number {
  if (stamp[at] === value) return 0;
  stamp[at] = value;
  return 1;
}
