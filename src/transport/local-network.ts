import type { NodeId } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { NodeMessage, Transport, TransportHandler } from './transport.js';

/** How the {@link LocalNetwork} treats one message; tests and simulators install their own. */
export type LinkDecision =
  | {
      /** Drop the message (the sender's transport reports the peer unreachable). */
      readonly deliver: false;
    }
  | {
      /** Deliver the message. */
      readonly deliver: true;
      /** After this many clock milliseconds. */
      readonly delayMs: number;
    };

/** Decides the fate of a message from `from` to `to`. */
export type LinkPolicy = (from: NodeId, to: NodeId, message: NodeMessage) => LinkDecision;

/**
 * An in-process network for clusters in one process: tests, examples and the
 * simulator. Delivery is scheduled on the injected clock, so with a
 * {@link VirtualClock} a run is deterministic. Links can be cut in either
 * direction; a policy can add delays or drop messages.
 */
export class LocalNetwork {
  private readonly handlers = new Map<NodeId, TransportHandler>();
  private readonly cut = new Set<string>();
  private policy: LinkPolicy = () => ({ deliver: true, delayMs: 0 });
  /** Messages handed to the network, and how many were delivered. */
  readonly counters = {
    /** Messages handed to the network. */
    sent: 0,
    /** Messages delivered to their recipient. */
    delivered: 0,
    /** Messages dropped: a cut link, the policy, or no recipient attached. */
    dropped: 0,
  };

  /** An empty network whose deliveries are scheduled on `clock`. */
  constructor(private readonly clock: Clock) {}

  /** A transport for node `id` on this network. */
  transport(id: NodeId): Transport {
    return new LocalTransport(this, id);
  }

  /** Installs the policy that decides each message's delay or drop (cut links are dropped before it is asked). */
  setPolicy(policy: LinkPolicy): void {
    this.policy = policy;
  }

  /** Cuts the links between `group` and everyone else, both ways. */
  isolate(group: readonly NodeId[], everyone: readonly NodeId[]): void {
    for (const a of group) {
      for (const b of everyone) {
        if (group.includes(b)) continue;
        this.cutLink(a, b);
        this.cutLink(b, a);
      }
    }
  }

  /** Cuts the one-way link `from` → `to`. */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Restores every cut link; the policy stays. */
  heal(): void {
    this.cut.clear();
  }

  /** @internal */
  attach(id: NodeId, handler: TransportHandler): void {
    if (this.handlers.has(id)) throw new InvalidArgumentError(`local network: ${id} is already attached`);
    this.handlers.set(id, handler);
  }

  /** @internal */
  detach(id: NodeId): void {
    this.handlers.delete(id);
  }

  /** @internal */
  send(from: NodeId, to: NodeId, message: NodeMessage): void {
    this.counters.sent++;
    const decision = this.cut.has(`${from}>${to}`) ? { deliver: false as const } : this.policy(from, to, message);
    if (!decision.deliver || !this.handlers.has(to)) {
      this.drop(from, to);
      return;
    }
    this.clock.setTimeout(() => {
      const handler = this.handlers.get(to);
      // The link may have been cut, or the receiver stopped, while the message was in flight.
      if (handler === undefined || this.cut.has(`${from}>${to}`)) {
        this.drop(from, to);
        return;
      }
      this.counters.delivered++;
      handler.receive(message);
    }, decision.delayMs);
  }

  private drop(from: NodeId, to: NodeId): void {
    this.counters.dropped++;
    this.handlers.get(from)?.unreachable(to);
  }
}

/**
 * In-process transport. Every node on the network is reachable, so peers need
 * no registration; a removed peer is remembered only so that nothing is sent
 * to it or delivered from it any more, as over TCP.
 */
class LocalTransport implements Transport {
  private started = false;
  private readonly removed = new Set<NodeId>();
  private handler: TransportHandler | null = null;

  constructor(
    private readonly network: LocalNetwork,
    private readonly id: NodeId,
  ) {}

  // Async so that a refusal (already attached) rejects like any other transport's, rather than throwing synchronously.
  async start(handler: TransportHandler): Promise<void> {
    const removed = this.removed;
    this.handler = handler;
    this.network.attach(this.id, {
      receive: (message) => {
        if (removed.size === 0 || !removed.has(message.kind === 'raft' ? message.message.from : message.from)) handler.receive(message);
      },
      unreachable: (peer) => handler.unreachable(peer),
    });
    this.started = true;
  }

  send(to: NodeId, message: NodeMessage): void {
    if (!this.started) return;
    if (this.removed.has(to)) this.handler?.unreachable(to);
    else this.network.send(this.id, to, message);
  }

  addPeer(id: NodeId, _address: string): void {
    this.removed.delete(id);
  }

  removePeer(id: NodeId): void {
    this.removed.add(id);
  }

  close(): Promise<void> {
    if (this.started) this.network.detach(this.id);
    this.started = false;
    return Promise.resolve();
  }
}
