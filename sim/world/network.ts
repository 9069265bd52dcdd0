/**
 * The simulated network: Keel's own {@link LocalNetwork} (so the runtime runs
 * its production transport path) with a seeded link policy installed through
 * `setPolicy`, and a wrapper transport per node that adds what the policy
 * cannot express: duplicated messages, messages held while the node is
 * paused, and a trace line per delivery.
 *
 * Per directed link: a base latency drawn once per run, jitter per message,
 * an occasional long extra delay (reordering), drops, duplicates, and
 * clogging (everything on the link waits until the clog clears). Partitions
 * are sets of cut directed links, applied with `cutLink` so that messages
 * already in flight on a cut link are lost too.
 */
import type { NodeId } from '../../src/core/types.js';
import type { VirtualClock } from '../../src/util/clock.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import type { LinkDecision } from '../../src/transport/local-network.js';
import type { NodeMessage, Transport, TransportHandler } from '../../src/transport/transport.js';
import type { SeededRandom } from '../../src/util/random.js';
import type { CoverageMark } from './coverage.js';
import type { NodeClock } from './node-clock.js';
import type { Link } from './partitions.js';
import { chance, uniform } from './streams.js';

/** Link behaviour of the simulator's network (`SimNetwork`); rates are probabilities per message. */
export interface NetworkOptions {
  /** Bounds of each link's base latency, drawn once per link and run. */
  readonly latencyMsMin: number;
  /** Upper bound of a link's base latency, in milliseconds. */
  readonly latencyMsMax: number;
  /** Extra delay per message, uniform in [0, jitterMs). */
  readonly jitterMs: number;
  /** Probability that a message is lost. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice. */
  readonly duplicateRate: number;
  /** Probability of an extra delay up to `reorderDelayMsMax`, which lets later messages overtake this one. */
  readonly reorderRate: number;
  /** Longest extra delay of a reordered message, in milliseconds. */
  readonly reorderDelayMsMax: number;
}

/** What the network tells the world. */
export interface NetworkObserver {
  trace(event: string): void;
  mark(mark: CoverageMark): void;
  /** Optional: a node handed a message to the network (once per copy). */
  sent?(from: NodeId, to: NodeId, message: NodeMessage): void;
  /** Optional: a running node received a message. */
  delivered?(from: NodeId, to: NodeId, message: NodeMessage): void;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}>${to}`;

/** The network of one simulated world. */
export class SimNetwork {
  /** The production in-process network every message goes through. */
  readonly local: LocalNetwork;
  private readonly baseLatencyMs = new Map<string, number>();
  private cuts: Link[] = [];
  /** Directed link → world time until which it is clogged. */
  private readonly cloggedUntil = new Map<string, number>();
  /** Nodes whose links among themselves are reliable (the healed core of the liveness phase). */
  private reliable: ReadonlySet<NodeId> = new Set();
  /** Counters beyond LocalNetwork's. */
  readonly counters = { duplicated: 0, reordered: 0, clogged: 0 };

  constructor(
    private readonly clock: VirtualClock,
    readonly ids: readonly NodeId[],
    private readonly random: SeededRandom,
    private readonly options: NetworkOptions,
    private readonly observer: NetworkObserver,
  ) {
    this.local = new LocalNetwork(clock);
    // Drawn in a fixed order of ids, so link latencies do not depend on who talks first.
    for (const from of ids) {
      for (const to of ids) {
        if (from !== to) this.baseLatencyMs.set(linkKey(from, to), uniform(random, options.latencyMsMin, options.latencyMsMax));
      }
    }
    this.local.setPolicy((from, to, message) => this.decide(from, to, message));
  }

  /**
   * Registers a node created during the run (membership churn): its links'
   * base latencies are drawn now, from the network stream, in a fixed order
   * of the nodes known before it.
   */
  addNode(id: NodeId, known: readonly NodeId[]): void {
    for (const other of known) {
      if (other === id) continue;
      this.baseLatencyMs.set(linkKey(id, other), uniform(this.random, this.options.latencyMsMin, this.options.latencyMsMax));
      this.baseLatencyMs.set(linkKey(other, id), uniform(this.random, this.options.latencyMsMin, this.options.latencyMsMax));
    }
  }

  /** The transport of node `id`'s current incarnation, whose timers run on `clock`. */
  transport(id: NodeId, clock: NodeClock): Transport {
    return new SimTransport(this.local.transport(id), id, this, clock);
  }

  /** Replaces the current partition with `links` (one-way or both ways). */
  partition(links: readonly Link[]): void {
    this.cuts = [...links];
    this.local.heal();
    for (const link of this.cuts) this.local.cutLink(link.from, link.to);
  }

  /** Cuts no link any more and clears every clog. */
  heal(): void {
    this.partition([]);
    this.cloggedUntil.clear();
  }

  /** The links cut right now. */
  currentCuts(): readonly Link[] {
    return this.cuts;
  }

  /** Everything on the links between `a` and `b` (both ways) waits until world time `untilMs`. */
  clog(a: NodeId, b: NodeId, untilMs: number): void {
    this.cloggedUntil.set(linkKey(a, b), untilMs);
    this.cloggedUntil.set(linkKey(b, a), untilMs);
  }

  /** Links among `nodes` stop dropping, duplicating, reordering and clogging (the liveness phase's core). */
  makeReliable(nodes: readonly NodeId[]): void {
    this.reliable = new Set(nodes);
  }

  /** @internal Whether the transport should send a second copy of this message. */
  duplicates(from: NodeId, to: NodeId): boolean {
    const duplicate = chance(this.random, this.options.duplicateRate) && !this.isReliable(from, to);
    if (duplicate) {
      this.counters.duplicated++;
      this.observer.mark('messageDuplicated');
    }
    return duplicate;
  }

  /** @internal The observer's `sent` hook, or null: the send path then pays nothing for it. */
  get sentHook(): ((from: NodeId, to: NodeId, message: NodeMessage) => void) | null {
    return this.observer.sent?.bind(this.observer) ?? null;
  }

  /** @internal The observer's `delivered` hook, or null. */
  get deliveredHook(): ((from: NodeId, to: NodeId, message: NodeMessage) => void) | null {
    return this.observer.delivered?.bind(this.observer) ?? null;
  }

  /** @internal */
  trace(event: string): void {
    this.observer.trace(event);
  }

  /** @internal */
  mark(mark: CoverageMark): void {
    this.observer.mark(mark);
  }

  private isReliable(from: NodeId, to: NodeId): boolean {
    return this.reliable.has(from) && this.reliable.has(to);
  }

  /** The link policy: every draw happens whatever the outcome, so the stream's position depends only on the message count. */
  private decide(from: NodeId, to: NodeId, message: NodeMessage): LinkDecision {
    const reliable = this.isReliable(from, to);
    const dropped = chance(this.random, this.options.dropRate) && !reliable;
    const jitter = uniform(this.random, 0, this.options.jitterMs);
    const reorder = chance(this.random, this.options.reorderRate) && !reliable;
    const extra = uniform(this.random, 0, this.options.reorderDelayMsMax);
    if (dropped) {
      this.observer.trace(`drop ${from}>${to} ${describeMessage(message)}`);
      this.observer.mark('messageDropped');
      return { deliver: false };
    }
    let delayMs = (this.baseLatencyMs.get(linkKey(from, to)) ?? 0) + jitter;
    if (reorder) {
      delayMs += extra;
      this.counters.reordered++;
    }
    const clog = this.cloggedUntil.get(linkKey(from, to));
    if (clog !== undefined && clog > this.clock.now() && !reliable) {
      delayMs += clog - this.clock.now();
      this.counters.clogged++;
    }
    return { deliver: true, delayMs };
  }
}

/**
 * A node's transport: LocalNetwork's, plus duplication on send, a trace line
 * per delivery, and delivery through the node's clock while it is paused (so
 * the message waits in the "socket buffer" until the node runs again).
 */
class SimTransport implements Transport {
  private closed = false;
  private readonly sent: ((from: NodeId, to: NodeId, message: NodeMessage) => void) | null;
  private readonly delivered: ((from: NodeId, to: NodeId, message: NodeMessage) => void) | null;

  constructor(
    private readonly inner: Transport,
    private readonly id: NodeId,
    private readonly network: SimNetwork,
    private readonly clock: NodeClock,
  ) {
    this.sent = network.sentHook;
    this.delivered = network.deliveredHook;
  }

  start(handler: TransportHandler): Promise<void> {
    return this.inner.start({
      receive: (message) => this.deliver(handler, message),
      unreachable: (peer) => {
        if (!this.closed) handler.unreachable(peer);
      },
    });
  }

  send(to: NodeId, message: NodeMessage): void {
    if (this.closed) return;
    this.sent?.(this.id, to, message);
    this.inner.send(to, message);
    if (this.network.duplicates(this.id, to)) {
      this.sent?.(this.id, to, message);
      this.inner.send(to, message);
    }
  }

  addPeer(id: NodeId, address: string): void {
    this.inner.addPeer(id, address);
  }

  removePeer(id: NodeId): void {
    this.inner.removePeer(id);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.inner.close();
  }

  private deliver(handler: TransportHandler, message: NodeMessage): void {
    if (this.closed) return;
    const from = message.kind === 'raft' ? message.message.from : message.from;
    if (this.clock.isPaused) {
      this.network.trace(`hold ${from}>${this.id} ${describeMessage(message)}`);
      this.clock.setTimeout(() => {
        if (this.closed) return;
        this.delivered?.(from, this.id, message);
        handler.receive(message);
      }, 0);
      return;
    }
    this.network.trace(`recv ${from}>${this.id} ${describeMessage(message)}`);
    this.delivered?.(from, this.id, message);
    if (message.kind === 'snapshotChunk' && message.last) this.network.mark('snapshotTransferred');
    handler.receive(message);
  }
}

/** A short, deterministic description of a message for the trace. */
export function describeMessage(message: NodeMessage): string {
  switch (message.kind) {
    case 'raft': {
      const m = message.message;
      switch (m.type) {
        case 'appendEntries':
          return `app t${m.term} p${m.prevLogIndex}/${m.prevLogTerm} n${m.entries.length} c${m.leaderCommit}`;
        case 'appendEntriesResponse':
          return `appResp t${m.term} ${m.success ? 'ok' : 'rej'} i${m.index}`;
        case 'heartbeat':
          return `hb t${m.term} c${m.commit} r${m.readRound}`;
        case 'heartbeatResponse':
          return `hbResp t${m.term} r${m.readRound}`;
        case 'requestVote':
          return `${m.preVote ? 'preVote' : 'vote'} t${m.term} l${m.lastLogIndex}/${m.lastLogTerm}`;
        case 'requestVoteResponse':
          return `${m.preVote ? 'preVoteResp' : 'voteResp'} t${m.term} ${m.granted ? 'yes' : 'no'}`;
        case 'installSnapshot':
          return `snap t${m.term} i${m.snapshot.index}`;
        case 'readIndex':
          return `readIndex t${m.term} ${m.requestId}`;
        case 'readIndexResponse':
          return `readIndexResp t${m.term} ${m.requestId} i${m.index}`;
        case 'timeoutNow':
          return `timeoutNow t${m.term}`;
      }
      // A message type added to the core later still gets a trace line.
      return (m as { type: string }).type;
    }
    case 'forward':
      return `fwd #${message.requestId}`;
    case 'forwardResult':
      return `fwdResult #${message.requestId} ${message.ok ? `i${message.index}` : message.code}`;
    case 'snapshotChunk':
      return `chunk i${message.meta.index} @${message.offset}${message.last ? ' last' : ''}`;
    case 'snapshotAck':
      return `chunkAck i${message.index} @${message.offset}${message.done ? ' done' : ''}`;
    case 'groups':
      return `groups ×${message.items.length}`;
  }
}
