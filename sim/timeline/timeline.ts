/**
 * The timeline of one simulated run, as plain data: what each node was
 * (role, term, down, paused) over time, the faults, the messages, the client
 * operations and the violation. {@link TimelineRecorder} builds it from a
 * {@link WorldTap}: trace lines for roles, faults and clients (their format
 * is documented in docs/simulator.md), message hooks for the arrows.
 */
import type { NodeId } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import { describeMessage } from '../world/network.js';
import { partitionOf, PARTITION_SHAPES } from '../world/partitions.js';
import type { Link, PartitionShape } from '../world/partitions.js';
import type { WorldTap } from '../world/tap.js';

/** A node's state over an interval. */
export interface NodeSpan {
  /** The node. */
  readonly node: NodeId;
  /** Start of the interval, in simulated milliseconds. */
  readonly fromMs: number;
  /** End of the interval, in simulated milliseconds. */
  readonly toMs: number;
  /** `follower`, `preCandidate`, `candidate`, `leader`, or `down` while crashed. */
  readonly role: string;
  /** The node's term during the interval. */
  readonly term: number;
}

/** A fault that lasts: a partition (with its cut links), a clog, a pause. */
export interface FaultSpan {
  /** The kind of fault. */
  readonly kind: 'partition' | 'clog' | 'pause';
  /** When it struck, in simulated milliseconds. */
  readonly fromMs: number;
  /** When it was undone, in simulated milliseconds. */
  readonly toMs: number;
  /** The nodes it concerns (every node for a partition). */
  readonly nodes: readonly NodeId[];
  /** A short description for the timeline. */
  readonly label: string;
  /** For a partition: the directed links it cuts. */
  readonly cuts: readonly Link[];
}

/** A moment worth a mark on a node's lane (or on every lane when `node` is null). */
export interface Marker {
  /** When it happened, in simulated milliseconds. */
  readonly atMs: number;
  /** The node concerned, or null for every node. */
  readonly node: NodeId | null;
  /** What happened. */
  readonly kind: 'crash' | 'fault' | 'ioError' | 'snapshot' | 'transfer' | 'liveness';
  /** A short description for the timeline. */
  readonly label: string;
}

/** One message: sent, and delivered or lost (`receivedMs` null). */
export interface MessageArrow {
  /** The sender. */
  readonly from: NodeId;
  /** The recipient. */
  readonly to: NodeId;
  /** When it was sent, in simulated milliseconds. */
  readonly sentMs: number;
  /** When it was delivered, or null when it was lost. */
  readonly receivedMs: number | null;
  /** The message's type and main fields. */
  readonly label: string;
}

/** One client operation. */
export interface ClientOperation {
  /** The client that issued it. */
  readonly client: string;
  /** Its id in the client history. */
  readonly id: number;
  /** When it was invoked, in simulated milliseconds. */
  readonly invokeMs: number;
  /** When it completed or was given up, or null when it was still pending at the end. */
  readonly completeMs: number | null;
  /** The operation and its result. */
  readonly label: string;
  /** Answered, given up (it may or may not have taken effect), or still waiting at the end. */
  readonly outcome: 'ok' | 'unknown' | 'pending';
}

/** The whole timeline. */
export interface Timeline {
  /** Every node that ran, in lane order. */
  readonly nodes: readonly NodeId[];
  /** Every client, in lane order. */
  readonly clients: readonly string[];
  /** When the run ended, in simulated milliseconds. */
  readonly endMs: number;
  /** Each node's role and term over time. */
  readonly spans: readonly NodeSpan[];
  /** The faults that lasted. */
  readonly faults: readonly FaultSpan[];
  /** Moments worth a mark: crashes, faults, snapshots, transfers. */
  readonly markers: readonly Marker[];
  /** The messages kept for drawing (at most `TIMELINE_MESSAGES_MAX` by default). */
  readonly messages: readonly MessageArrow[];
  /** Messages sent in the run; more than `messages.length` when the recorder had to leave some out. */
  readonly messagesTotal: number;
  /** The client operations. */
  readonly operations: readonly ClientOperation[];
  /** The violation that ended the run, or null. */
  readonly violation: {
    /** When it was found, in simulated milliseconds. */
    readonly atMs: number;
    /** The broken invariant's name. */
    readonly invariant: string;
    /** What exactly broke. */
    readonly detail: string;
  } | null;
}

/** How many message arrows a timeline keeps at most by default: enough for seconds of a busy cluster, small enough for a browser. */
export const TIMELINE_MESSAGES_MAX = 20_000;

interface OpenSpan {
  fromMs: number;
  role: string;
  term: number;
}

/** Builds a {@link Timeline} from what a {@link WorldTap} sees. */
export class TimelineRecorder implements WorldTap {
  private readonly open = new Map<NodeId, OpenSpan>();
  private readonly lastRole = new Map<NodeId, { role: string; term: number }>();
  private readonly spans: NodeSpan[] = [];
  private readonly faults: FaultSpan[] = [];
  private readonly markers: Marker[] = [];
  private readonly operations = new Map<number, ClientOperation>();
  private readonly clients = new Set<string>();
  /** Messages in flight: the same object may be in flight twice (a duplicate). */
  private readonly inFlight = new Map<NodeMessage, number[]>();
  private readonly messages: MessageArrow[] = [];
  private openPartition: { fromMs: number; untilMs: number; label: string; cuts: Link[] } | null = null;
  private violation: Timeline['violation'] = null;
  private nowMs = 0;

  constructor(private readonly nodes: readonly NodeId[]) {
    for (const node of nodes) this.open.set(node, { fromMs: 0, role: 'down', term: 0 });
  }

  sent(timeMs: number, _from: NodeId, _to: NodeId, message: NodeMessage): void {
    this.nowMs = Math.max(this.nowMs, timeMs);
    const times = this.inFlight.get(message);
    if (times === undefined) this.inFlight.set(message, [timeMs]);
    else times.push(timeMs);
  }

  delivered(timeMs: number, from: NodeId, to: NodeId, message: NodeMessage): void {
    this.nowMs = Math.max(this.nowMs, timeMs);
    const times = this.inFlight.get(message);
    const sentMs = times?.shift();
    if (times !== undefined && times.length === 0) this.inFlight.delete(message);
    this.messages.push({ from, to, sentMs: sentMs ?? timeMs, receivedMs: timeMs, label: describeMessage(message) });
  }

  event(timeMs: number, event: string): void {
    this.nowMs = Math.max(this.nowMs, timeMs);
    const words = event.split(' ');
    const [first, second] = words;
    if (first === undefined) return;
    if (first === 'fault') return this.onFault(timeMs, words.slice(1), event.slice('fault '.length));
    if (first === 'FINDING') return this.onFinding(timeMs, event.slice('FINDING '.length));
    if (first === 'heal' && second === 'partition') return this.closePartition(timeMs);
    if (first === 'liveness:' && second === 'heal') return this.onLivenessHeal(timeMs, event);
    if (this.open.has(first)) return this.onNodeEvent(timeMs, first, words.slice(1), event);
    if (/^c\d+(-probe)?$/.test(first)) this.onClientEvent(timeMs, first, words.slice(1));
  }

  /**
   * The timeline so far. Messages never delivered are drawn as lost; when
   * there are more than `messagesMax`, the last half of the budget keeps the
   * latest messages (where a violation usually is) and the rest is an even
   * sample of the earlier ones.
   */
  timeline(endMs: number, violation?: Timeline['violation'], messagesMax = TIMELINE_MESSAGES_MAX): Timeline {
    const end = Math.max(endMs, this.nowMs);
    const spans = [...this.spans];
    for (const [node, span] of this.open) spans.push({ node, fromMs: span.fromMs, toMs: end, role: span.role, term: span.term });
    const faults = [...this.faults];
    if (this.openPartition !== null) faults.push(partitionSpan(this.openPartition, Math.min(end, this.openPartition.untilMs), this.nodes));
    const lost: MessageArrow[] = [];
    for (const [message, times] of this.inFlight) {
      const { from, to } = endpoints(message);
      for (const sentMs of times) lost.push({ from, to, sentMs, receivedMs: null, label: `${describeMessage(message)} (lost)` });
    }
    const all = [...this.messages, ...lost].sort((a, b) => a.sentMs - b.sentMs);
    const operations = [...this.operations.values()];
    return {
      nodes: this.nodes,
      clients: [...this.clients].sort(compareClients),
      endMs: end,
      spans,
      faults,
      markers: [...this.markers],
      messages: sampleMessages(all, messagesMax),
      messagesTotal: all.length,
      operations,
      violation: violation ?? this.violation,
    };
  }

  private onNodeEvent(timeMs: number, node: NodeId, words: readonly string[], event: string): void {
    const [what, detail] = words;
    switch (what) {
      case 'role': {
        const term = Number((words[2] ?? 't0').slice(1));
        this.lastRole.set(node, { role: detail ?? '?', term });
        return this.setState(timeMs, node, detail ?? '?', term);
      }
      case 'crash':
        this.markers.push({ atMs: timeMs, node, kind: 'crash', label: `${node} crashed` });
        return this.setState(timeMs, node, 'down', this.lastRole.get(node)?.term ?? 0);
      case 'start':
        // A new incarnation starts as a follower; its role events follow.
        this.lastRole.set(node, { role: 'follower', term: this.lastRole.get(node)?.term ?? 0 });
        return this.setState(timeMs, node, 'follower', this.lastRole.get(node)!.term);
      case 'fatal:':
      case 'disk':
        if (event.includes('I/O error') || what === 'fatal:') this.markers.push({ atMs: timeMs, node, kind: 'ioError', label: event });
        return;
      case 'snapshot':
        this.markers.push({ atMs: timeMs, node, kind: 'snapshot', label: event });
        return;
      case 'resume':
        return this.endPause(timeMs, node);
      default:
        return;
    }
  }

  private setState(timeMs: number, node: NodeId, role: string, term: number): void {
    const current = this.open.get(node)!;
    if (current.role === role && current.term === term) return;
    if (timeMs > current.fromMs) this.spans.push({ node, fromMs: current.fromMs, toMs: timeMs, role: current.role, term: current.term });
    this.open.set(node, { fromMs: timeMs, role, term });
  }

  private onFault(timeMs: number, words: readonly string[], description: string): void {
    const [kind] = words;
    const duration = (): number => Number(words[words.length - 1]?.replace(/ms$/, '') ?? 0);
    switch (kind) {
      case 'partition': {
        const shape = words[1] as PartitionShape;
        const order = (words[2] ?? '').replace(/^\[|\]$/g, '').split(',').filter((id) => id.length > 0);
        this.closePartition(timeMs);
        const cuts = PARTITION_SHAPES.includes(shape) && order.length >= 2 ? partitionOf(shape, order) : [];
        this.openPartition = { fromMs: timeMs, untilMs: timeMs + duration(), label: description, cuts };
        return;
      }
      case 'clog': {
        const [a, b] = (words[1] ?? '').split('<>');
        this.faults.push({ kind: 'clog', fromMs: timeMs, toMs: timeMs + duration(), nodes: [a ?? '', b ?? ''], label: description, cuts: [] });
        return;
      }
      case 'pause': {
        const node = words[1] ?? '';
        if (this.open.get(node)?.role === 'down') return;
        this.faults.push({ kind: 'pause', fromMs: timeMs, toMs: timeMs + duration(), nodes: [node], label: description, cuts: [] });
        return;
      }
      case 'transfer':
        this.markers.push({ atMs: timeMs, node: words[2] ?? null, kind: 'transfer', label: description });
        return;
      case 'churn':
        // Names an operation, not a node first; the node a change acts on may be the leader of the moment.
        this.markers.push({ atMs: timeMs, node: null, kind: 'fault', label: description });
        return;
      default:
        this.markers.push({ atMs: timeMs, node: words[1] ?? null, kind: 'fault', label: description });
    }
  }

  /** A pause ends early when the node resumes (the liveness phase resumes its core). */
  private endPause(timeMs: number, node: NodeId): void {
    const index = this.faults.findLastIndex((fault) => fault.kind === 'pause' && fault.nodes[0] === node);
    const pause = this.faults[index];
    if (pause !== undefined && pause.toMs > timeMs) this.faults[index] = { ...pause, toMs: timeMs };
  }

  private closePartition(timeMs: number): void {
    const open = this.openPartition;
    if (open === null) return;
    this.faults.push(partitionSpan(open, Math.min(timeMs, open.untilMs), this.nodes));
    this.openPartition = null;
  }

  private onLivenessHeal(timeMs: number, event: string): void {
    this.closePartition(timeMs);
    for (let i = 0; i < this.faults.length; i++) {
      const fault = this.faults[i]!;
      if (fault.kind === 'clog' && fault.toMs > timeMs) this.faults[i] = { ...fault, toMs: timeMs };
    }
    this.markers.push({ atMs: timeMs, node: null, kind: 'liveness', label: event });
  }

  private onFinding(timeMs: number, text: string): void {
    if (this.violation !== null) return;
    const colon = text.indexOf(': ');
    this.violation = { atMs: timeMs, invariant: colon < 0 ? text : text.slice(0, colon), detail: colon < 0 ? '' : text.slice(colon + 2) };
  }

  private onClientEvent(timeMs: number, client: string, words: readonly string[]): void {
    const [what, idText] = words;
    if (what === 'invoke') {
      const id = Number((idText ?? '#').slice(1));
      const seqAt = words.lastIndexOf('seq');
      const label = words.slice(2, seqAt < 0 ? undefined : seqAt).join(' ');
      this.clients.add(client);
      this.operations.set(id, { client, id, invokeMs: timeMs, completeMs: null, label, outcome: 'pending' });
      return;
    }
    if (what !== 'ok' && what !== 'unknown') return;
    const id = Number((idText ?? '#').slice(1));
    const operation = this.operations.get(id);
    if (operation === undefined) return;
    const result = what === 'ok' ? ` → ${words.slice(2).join(' ')}` : ' (unknown outcome)';
    this.operations.set(id, { ...operation, completeMs: timeMs, outcome: what, label: `${operation.label}${result}` });
  }
}

function partitionSpan(open: { fromMs: number; label: string; cuts: Link[] }, toMs: number, nodes: readonly NodeId[]): FaultSpan {
  return { kind: 'partition', fromMs: open.fromMs, toMs, nodes, label: open.label, cuts: open.cuts };
}

function endpoints(message: NodeMessage): { from: NodeId; to: NodeId } {
  return message.kind === 'raft' ? { from: message.message.from, to: message.message.to } : { from: message.from, to: message.to };
}

/** Keeps at most `max` messages: the latest half of the budget in full, an even sample of the rest. */
function sampleMessages(all: readonly MessageArrow[], max: number): MessageArrow[] {
  if (all.length <= max) return [...all];
  const recent = Math.floor(max / 2);
  const earlier = all.slice(0, all.length - recent);
  const step = earlier.length / (max - recent);
  const sampled: MessageArrow[] = [];
  for (let i = 0; i < max - recent; i++) sampled.push(earlier[Math.floor(i * step)]!);
  return [...sampled, ...all.slice(all.length - recent)];
}

function compareClients(a: string, b: string): number {
  const number = (name: string): number => Number(/\d+/.exec(name)?.[0] ?? 0);
  return number(a) - number(b) || (a < b ? -1 : a > b ? 1 : 0);
}
