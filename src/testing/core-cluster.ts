import type { RaftConfig } from '../core/config.js';
import type { Message } from '../core/message.js';
import { RawNode } from '../core/raw-node.js';
import type { ProposalReceipt } from '../core/raw-node.js';
import type { ReadState } from '../core/read-index.js';
import type { Ready } from '../core/ready.js';
import type { Entry, NodeId } from '../core/types.js';
import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import { InvalidArgumentError } from '../errors.js';
import { MemoryStorage } from '../storage/memory.js';
import { assert } from '../util/assert.js';
import { SeededRandom } from '../util/random.js';
import { observationOf, SafetyChecker } from './invariants.js';
import type { NodeObservation } from './invariants.js';

/** Core options shared by every node of a {@link CoreCluster}. */
export type ClusterRaftOptions = Partial<Omit<RaftConfig, 'id' | 'voters' | 'learners' | 'storage' | 'random' | 'applied'>>;

/** How to build a {@link CoreCluster}. */
export interface CoreClusterOptions {
  /** Node ids; defaults to n1..n3. */
  readonly ids?: readonly NodeId[];
  /**
   * The voters of the initial configuration; defaults to every node. Nodes
   * in neither `voters` nor `learners` start empty, as machines that may
   * join later through a configuration change.
   */
  readonly voters?: readonly NodeId[];
  /** The learners of the initial configuration. @defaultValue [] */
  readonly learners?: readonly NodeId[];
  /** Seeds every node's randomized election timeouts. @defaultValue 1 */
  readonly seed?: number;
  /** Core options for every node (timeouts, PreVote, CheckQuorum, flow control). @defaultValue the core's defaults */
  readonly raft?: ClusterRaftOptions;
  /** Check safety invariants after every step. @defaultValue true */
  readonly checkInvariants?: boolean;
}

/** A message on the simulated wire; a snapshot carries the state-machine image it installs. */
export interface InFlight {
  /** The core message. */
  readonly message: Message;
  /** For an InstallSnapshot: the state machine image the snapshot carries. */
  readonly snapshotState?: readonly Entry[];
}

/** Where a node is in handling its outstanding Ready. */
export type ReadyPhase = 'idle' | 'taken' | 'persisted';

/** One node of a {@link CoreCluster}: a core, its durable storage and a toy state machine (the list of applied entries). */
export class CoreNode {
  /** The running core; null while the node is crashed. */
  raw: RawNode | null = null;
  /** Volatile: what the state machine applied, entry `i` at position `i - 1`. */
  state: Entry[] = [];
  /** Durable: the state machine image stored with the storage's snapshot. */
  snapshotState: Entry[] = [];
  /** How far the outstanding Ready has been handled. */
  phase: ReadyPhase = 'idle';
  /** The Ready taken and not yet advanced, or null. */
  ready: Ready | null = null;
  /** Read states released by the core, in order; a test reads and clears them. */
  readStates: ReadState[] = [];
  /** Images of snapshots received from leaders, by snapshot index, until the Ready installs them. */
  incomingSnapshots = new Map<number, readonly Entry[]>();
  /** Seeds this node's randomized election timeouts; survives restarts. */
  readonly random: SeededRandom;

  /** A crashed node (no core yet) with empty storage; the cluster starts it. */
  constructor(
    /** The node's id. */
    readonly id: NodeId,
    /** The node's durable storage: it survives crashes and restarts. */
    readonly storage: MemoryStorage,
    seed: number,
  ) {
    this.random = new SeededRandom(seed);
  }

  /** True unless the node is crashed. */
  get alive(): boolean {
    return this.raw !== null;
  }
}

/**
 * A deterministic in-process cluster of {@link RawNode}s over
 * {@link MemoryStorage}, with a simulated network whose every delivery, drop,
 * duplication and reordering is chosen by the caller. It follows the Ready
 * contract exactly, in three phases a test can interleave with anything else:
 * take the Ready and send its parallel messages; persist; then send the rest,
 * apply and advance. A crash loses whatever was not persisted.
 *
 * Used by `keel sim`, by scenario tests and by the property test, and
 * exported as `keel/testing`; like etcd's rafttest, it is a testing tool, not
 * a runtime.
 */
export class CoreCluster {
  /** Every node's id, in the order Readies are processed by {@link stabilize}. */
  readonly ids: readonly NodeId[];
  /** Every node, crashed or alive. */
  readonly nodes = new Map<NodeId, CoreNode>();
  /** Messages on the wire, oldest first. */
  inFlight: InFlight[] = [];
  /** Directed links that drop everything: `"from>to"`. */
  readonly cutLinks = new Set<string>();
  /** Checks safety after every step; null when `checkInvariants` is false. */
  readonly checker: SafetyChecker | null;
  private readonly raftOptions: ClusterRaftOptions;
  private readonly initialVoters: readonly NodeId[];
  private readonly initialLearners: readonly NodeId[];

  /** Creates and starts every node, with empty logs; nothing else happens until the test steps the cluster. */
  constructor(options: CoreClusterOptions = {}) {
    this.ids = options.ids ?? ['n1', 'n2', 'n3'];
    this.raftOptions = options.raft ?? {};
    this.initialVoters = options.voters ?? this.ids;
    this.initialLearners = options.learners ?? [];
    this.checker = options.checkInvariants === false ? null : new SafetyChecker({ checkElectionVotes: true });
    const seeds = new SeededRandom(options.seed ?? 1);
    for (const id of this.ids) {
      const node = new CoreNode(id, new MemoryStorage(), seeds.nextUint32());
      this.nodes.set(id, node);
      this.start(node);
    }
  }

  /** The node `id`; throws {@link InvalidArgumentError} for an unknown id. */
  node(id: NodeId): CoreNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new InvalidArgumentError(`unknown node ${id}`);
    return node;
  }

  /** The running core of `id`; throws {@link InvalidArgumentError} when it is crashed. */
  raw(id: NodeId): RawNode {
    const raw = this.node(id).raw;
    if (raw === null) throw new InvalidArgumentError(`node ${id} is crashed`);
    return raw;
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.nodes.values()) {
      const status = node.raw?.status();
      if (status?.role === 'leader' && (best === null || status.term > best.term)) best = { id: node.id, term: status.term };
    }
    return best?.id ?? null;
  }

  // ---- inputs -----------------------------------------------------------

  /** Advances `id`'s logical clock by one tick. */
  tick(id: NodeId): void {
    this.node(id).raw?.tick();
    this.observe();
  }

  /** Ticks every live node once. */
  tickAll(): void {
    for (const node of this.nodes.values()) node.raw?.tick();
    this.observe();
  }

  /** Proposes commands at `id`; see {@link RawNode.propose}. */
  propose(id: NodeId, data: Uint8Array | readonly Uint8Array[]): ProposalReceipt {
    const receipt = this.raw(id).propose(data);
    this.observe();
    return receipt;
  }

  /** Makes `id` start an election now. */
  campaign(id: NodeId): void {
    this.raw(id).campaign();
    this.observe();
  }

  /** Asks `id` (the leader) to change the configuration; see {@link RawNode.proposeConfChange}. */
  proposeConfChange(id: NodeId, changes: ConfChange | readonly ConfChange[], options: ConfChangeOptions = {}): ProposalReceipt {
    const receipt = this.raw(id).proposeConfChange(changes, options);
    this.observe();
    return receipt;
  }

  /** Asks `id` (the leader) to leave the joint configuration. */
  leaveJoint(id: NodeId): ProposalReceipt {
    const receipt = this.raw(id).leaveJoint();
    this.observe();
    return receipt;
  }

  /** Asks `id` (the leader) to hand leadership to `target` (§3.10 of the dissertation). */
  transferLeadership(id: NodeId, target: NodeId): void {
    this.raw(id).transferLeadership(target);
    this.observe();
  }

  /** Starts a linearizable read at `id`; its read state lands in {@link CoreNode.readStates}. */
  readIndex(id: NodeId, requestId: string, options: { readonly lease?: boolean } = {}): void {
    this.raw(id).readIndex(requestId, options);
    this.observe();
  }

  // ---- the Ready contract, in three phases ------------------------------

  /** Runs the next phase of `id`'s Ready handling. Returns false when there was nothing to do. */
  advanceReady(id: NodeId): boolean {
    const node = this.node(id);
    if (node.raw === null) return false;
    if (node.phase === 'idle') return this.takeReady(node);
    if (node.phase === 'taken') this.persistReady(node);
    else this.finishReady(node);
    this.observe();
    return true;
  }

  /** Runs all three phases for every Ready `id` has. */
  processReady(id: NodeId): boolean {
    let worked = false;
    while (this.advanceReady(id)) worked = true;
    return worked;
  }

  private takeReady(node: CoreNode): boolean {
    const raw = node.raw!;
    if (!raw.hasReady()) return false;
    node.ready = raw.ready();
    node.phase = 'taken';
    for (const entry of node.ready.entries) this.checker?.recordEntry(entry);
    // A leader's appends may leave before its own write is durable.
    for (const message of node.ready.parallelMessages) this.send(node, message);
    this.observe();
    return true;
  }

  private persistReady(node: CoreNode): void {
    const ready = node.ready!;
    if (ready.snapshot !== null) {
      const image = node.incomingSnapshots.get(ready.snapshot.index);
      assert(image !== undefined, () => `${node.id}: no image for snapshot ${ready.snapshot?.index}`);
      node.storage.saveSnapshotSync(ready.snapshot);
      node.snapshotState = [...image];
      // A newer snapshot may have arrived while this one was being persisted: keep its image.
      for (const index of node.incomingSnapshots.keys()) if (index <= ready.snapshot.index) node.incomingSnapshots.delete(index);
    }
    node.storage.appendSync(ready.entries, ready.hardState ?? undefined);
    node.phase = 'persisted';
  }

  private finishReady(node: CoreNode): void {
    const ready = node.ready!;
    for (const message of ready.messages) this.send(node, message);
    if (ready.snapshot !== null) node.state = [...node.snapshotState];
    for (const entry of ready.committedEntries) {
      assert(entry.index === node.state.length + 1, () => `${node.id}: applying ${entry.index} after ${node.state.length}`);
      node.state.push(entry);
      this.checker?.recordApplied(node.id, entry);
    }
    node.readStates.push(...ready.readStates);
    node.ready = null;
    node.phase = 'idle';
    node.raw!.advance();
  }

  // ---- network ----------------------------------------------------------

  private send(from: CoreNode, message: Message): void {
    let snapshotState: readonly Entry[] | undefined;
    if (message.type === 'installSnapshot') snapshotState = from.snapshotState.slice(0, message.snapshot.index);
    this.inFlight.push(snapshotState === undefined ? { message } : { message, snapshotState });
  }

  /** Delivers the in-flight message at `position` (any position: that is reordering). */
  deliver(position = 0): void {
    const [flight] = this.inFlight.splice(position, 1);
    if (flight === undefined) return;
    const { message } = flight;
    const target = this.nodes.get(message.to);
    if (target?.raw === null || target === undefined || this.cutLinks.has(`${message.from}>${message.to}`)) {
      this.reportDrop(flight);
      this.observe();
      return;
    }
    if (flight.snapshotState !== undefined) target.incomingSnapshots.set((message as { snapshot: { index: number } }).snapshot.index, flight.snapshotState);
    target.raw.step(message);
    if (message.type === 'installSnapshot') this.nodes.get(message.from)?.raw?.reportSnapshot(message.to, true);
    this.observe();
  }

  /** Loses the in-flight message at `position`. */
  drop(position = 0): void {
    const [flight] = this.inFlight.splice(position, 1);
    if (flight !== undefined) this.reportDrop(flight);
    this.observe();
  }

  /** Puts a copy of the in-flight message at `position` on the wire. */
  duplicate(position = 0): void {
    const flight = this.inFlight[position];
    if (flight !== undefined) this.inFlight.push(flight);
  }

  /** What a transport would tell the sender's core about a lost message. */
  private reportDrop(flight: InFlight): void {
    const sender = this.nodes.get(flight.message.from)?.raw;
    if (sender === null || sender === undefined) return;
    if (flight.message.type === 'installSnapshot') sender.reportSnapshot(flight.message.to, false);
    else if (flight.message.type === 'appendEntries') sender.reportUnreachable(flight.message.to);
  }

  /** Cuts every link between `group` and the other nodes, both ways. */
  isolate(group: readonly NodeId[]): void {
    for (const a of group) {
      for (const b of this.ids) {
        if (group.includes(b)) continue;
        this.cutLinks.add(`${a}>${b}`);
        this.cutLinks.add(`${b}>${a}`);
      }
    }
  }

  /** Restores every cut link. */
  heal(): void {
    this.cutLinks.clear();
  }

  // ---- faults -----------------------------------------------------------

  /** Stops `id`, losing its volatile state and anything not yet persisted. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.raw = null;
    node.phase = 'idle';
    node.ready = null;
    node.state = [];
    node.readStates = [];
    node.incomingSnapshots.clear();
  }

  /** Starts `id` again from its durable storage. */
  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.raw !== null) return;
    this.checker?.recordRestart(id);
    this.start(node);
    this.observe();
  }

  /** Takes a snapshot at `id`'s applied index and compacts its log up to there. */
  compact(id: NodeId): boolean {
    const node = this.node(id);
    const raw = node.raw;
    if (raw === null) return false;
    const { appliedIndex: applied, firstIndex } = raw.status();
    // A snapshot received from the leader and not yet persisted covers this log: it will replace it anyway.
    if (applied <= node.storage.firstIndex() - 1 || applied < firstIndex - 1) return false;
    node.storage.saveSnapshotSync({ index: applied, term: node.storage.term(applied), membership: raw.membershipAt(applied) });
    node.snapshotState = node.state.slice(0, applied);
    this.observe();
    return true;
  }

  private start(node: CoreNode): void {
    const member = this.initialVoters.includes(node.id) || this.initialLearners.includes(node.id);
    node.raw = new RawNode({
      ...this.raftOptions,
      id: node.id,
      voters: member ? this.initialVoters : [],
      learners: member ? this.initialLearners : [],
      storage: node.storage,
      random: node.random,
    });
    node.state = [...node.snapshotState];
  }

  // ---- driving ----------------------------------------------------------

  /** Handles every Ready and delivers every message (FIFO) until nothing moves. Throws if that takes more than `maxRounds`. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.ids) moved = this.processReady(id) || moved;
      while (this.inFlight.length > 0) {
        this.deliver(0);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`);
  }

  /** Ticks every node and stabilizes, `count` times. */
  tickAndStabilize(count = 1): void {
    for (let i = 0; i < count; i++) {
      this.tickAll();
      this.stabilize();
    }
  }

  /** Makes `id` campaign and stabilizes; returns the leader afterwards. */
  elect(id: NodeId): NodeId | null {
    this.campaign(id);
    this.stabilize();
    return this.leader();
  }

  /** Runs the invariant checker over the live nodes. */
  observe(): void {
    if (this.checker === null) return;
    const observations: NodeObservation[] = [];
    for (const node of this.nodes.values()) {
      if (node.raw !== null) observations.push(observeNode(node, node.raw));
    }
    this.checker.observe(observations);
  }
}

function observeNode(node: CoreNode, raw: RawNode): NodeObservation {
  return observationOf(raw.status(), node.storage.initialState().hardState, (index) => raw.term(index), raw.configIndexes());
}
