/**
 * {@link TcpTransport}: Keel's transport between machines.
 *
 * @packageDocumentation
 */
import type { NodeId } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import { encodeMessageFrame } from './tcp-codec.js';
import { FRAME_HEADER_BYTES } from './tcp-frame.js';
import { Listener } from './tcp-listener.js';
import { resolveTcpOptions, checkAddress, type PeerAddress, type ResolvedTcpOptions, type TcpTransportOptions } from './tcp-options.js';
import { PeerConnection } from './tcp-peer.js';
import { newTcpStats, type TcpTransportStats } from './tcp-stats.js';
import type { NodeMessage, Transport, TransportHandler } from './transport.js';

/**
 * Carries {@link NodeMessage}s between nodes over TCP, optionally under
 * mutual TLS, as length-prefixed msgpack frames.
 *
 * - **Authenticated**: every connection opens with a handshake (protocol
 *   version, cluster id, node ids) and proves its peer by mutual TLS (the
 *   certificate names the node id), by an HMAC challenge–response over a
 *   shared secret, or both. Without either it refuses to start unless
 *   `insecure: true`. Refusals are logged with their reason.
 * - **Validated**: every frame is size-checked before it is read and every
 *   message validated (and from the connection's own peer) before it reaches
 *   the node; the first invalid one closes the connection.
 * - **Bounded**: one outbound connection per peer, connected lazily,
 *   redialled with exponential backoff and jitter; a per-peer send queue
 *   bounded in bytes. A message that cannot go out is dropped and the peer
 *   reported unreachable: Raft retransmits.
 * - **Coalesced**: messages to one peer within an event-loop turn leave in one write.
 *
 * @example
 * ```ts
 * const transport = new TcpTransport({
 *   nodeId: 'a',
 *   clusterId: 'prod-1',
 *   listen: { host: '0.0.0.0', port: 7000 },
 *   peers: { b: { host: '10.0.0.2', port: 7000 }, c: { host: '10.0.0.3', port: 7000 } },
 *   secret: await readFile('/etc/keel/cluster.secret'),
 * });
 * const node = await RaftNode.open({ id: 'a', members: ['a', 'b', 'c'], transport, ... });
 * ```
 */
export class TcpTransport implements Transport {
  private readonly options: ResolvedTcpOptions;
  private readonly statsCounters: TcpTransportStats = newTcpStats();
  private readonly listener: Listener;
  private readonly peers = new Map<NodeId, PeerConnection>();
  private handler: TransportHandler | null = null;
  private state: 'new' | 'started' | 'closed' = 'new';
  /** Peers with drops not yet reported; reported once per event-loop turn. */
  private readonly unreachablePending = new Set<NodeId>();
  private reportScheduled: NodeJS.Immediate | null = null;
  private closing: Promise<void> | null = null;

  /** Validates the options (throws `InvalidConfigError` naming the option); opens nothing yet. */
  constructor(options: TcpTransportOptions) {
    this.options = resolveTcpOptions(options);
    this.listener = new Listener(this.options, this.statsCounters, (message) => this.handler?.receive(message), (id) => this.peers.has(id));
    const context = { options: this.options, stats: this.statsCounters, unreachable: (peer: NodeId) => this.reportUnreachable(peer) };
    for (const [id, address] of this.options.peers) this.peers.set(id, new PeerConnection(context, id, address));
  }

  /**
   * Binds the listening socket now (start() does it otherwise) and resolves
   * with its address: with port 0, the port the system chose. Throws
   * `TransportIOError` when the address cannot be bound.
   */
  async listen(): Promise<PeerAddress> {
    if (this.state === 'closed') throw new InvalidArgumentError('tcp transport: listen() after close()');
    return this.listener.listen();
  }

  /** The bound listening address, or null before {@link TcpTransport.listen} or start(). */
  address(): PeerAddress | null {
    return this.listener.address();
  }

  /** Points a configured peer at a new address; its current connection, if any, is closed. */
  setPeerAddress(id: NodeId, address: PeerAddress): void {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new InvalidArgumentError(`tcp transport: ${id} is not a configured peer`);
    checkAddress(`peers.${id}`, address, false);
    peer.setAddress({ host: address.host, port: address.port });
  }

  /**
   * Makes `id` a peer at `address` (`host:port`; IPv6 hosts in brackets or
   * bare, the port after the last colon): messages to it are sent and its
   * connections accepted from now on. A known peer is re-pointed. Throws
   * `InvalidArgumentError` for a malformed address or this node's own id.
   */
  addPeer(id: NodeId, address: string): void {
    if (typeof id !== 'string' || id.length === 0 || id === this.options.nodeId) throw new InvalidArgumentError(`tcp transport: cannot add peer ${JSON.stringify(id)}`);
    const parsed = parseHostPort(address);
    const peer = this.peers.get(id);
    if (peer !== undefined) {
      peer.setAddress(parsed);
      return;
    }
    const context = { options: this.options, stats: this.statsCounters, unreachable: (unreachable: NodeId) => this.reportUnreachable(unreachable) };
    this.peers.set(id, new PeerConnection(context, id, parsed));
  }

  /**
   * Forgets the peer `id`: its outbound connection is closed (what is queued
   * is flushed for `closeTimeoutMs` at most), its inbound one destroyed, and
   * new connections from it refused. Unknown ids are ignored.
   */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    this.listener.dropPeer(id);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, this.options.closeTimeoutMs).unref());
    peer.close(deadline).catch(() => undefined);
  }

  /** True when the outbound connection to `id` is connected and authenticated. */
  isConnected(id: NodeId): boolean {
    return this.peers.get(id)?.isOpen() ?? false;
  }

  /** A snapshot of the transport's counters. */
  stats(): TcpTransportStats {
    return { ...this.statsCounters };
  }

  /** Listens (if not yet) and starts delivering messages to `handler`. */
  async start(handler: TransportHandler): Promise<void> {
    if (this.state !== 'new') throw new InvalidArgumentError(`tcp transport: start() when ${this.state}`);
    await this.listener.listen();
    this.handler = handler;
    this.state = 'started';
  }

  /**
   * Queues `message` for its peer. Never blocks or throws for delivery
   * problems: a message to an unknown, unreachable or backed-up peer, or one
   * over `maxFrameBytes`, is dropped and reported unreachable.
   */
  send(to: NodeId, message: NodeMessage): void {
    if (this.state !== 'started') return;
    const peer = this.peers.get(to);
    if (peer !== undefined) {
      const frame = encodeMessageFrame(message);
      if (frame.byteLength - FRAME_HEADER_BYTES > this.options.maxFrameBytes) {
        this.options.logger({ level: 'warn', event: 'invalid-frame', peer: to, reason: 'too-large', message: `dropped a ${message.kind} message of ${frame.byteLength} bytes: over maxFrameBytes` });
      } else if (peer.send(frame)) {
        return;
      }
    }
    this.statsCounters.messagesDropped++;
    this.reportUnreachable(to);
  }

  /** Writes every peer's queued frames now, one corked write each (see {@link Transport.flush}). */
  flush(): void {
    for (const peer of this.peers.values()) peer.flushNow();
  }

  /**
   * Stops accepting, flushes what is queued for `closeTimeoutMs` at most,
   * then destroys every socket and clears every timer. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closed';
    this.handler = null;
    if (this.reportScheduled !== null) clearImmediate(this.reportScheduled);
    this.reportScheduled = null;
    this.unreachablePending.clear();
    let timer: NodeJS.Timeout | null = null;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.closeTimeoutMs);
    });
    try {
      await Promise.all([this.listener.close(), ...[...this.peers.values()].map((peer) => peer.close(deadline))]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** Reports `peer` unreachable once per event-loop turn however many messages were dropped. */
  private reportUnreachable(peer: NodeId): void {
    if (this.state !== 'started') return;
    this.unreachablePending.add(peer);
    this.reportScheduled ??= setImmediate(() => {
      this.reportScheduled = null;
      const peers = [...this.unreachablePending];
      this.unreachablePending.clear();
      for (const id of peers) this.handler?.unreachable(id);
    });
  }
}

/** Parses `host:port` (an IPv6 host may be bracketed); throws `InvalidArgumentError`. */
export function parseHostPort(address: string): PeerAddress {
  const colon = typeof address === 'string' ? address.lastIndexOf(':') : -1;
  if (colon <= 0) throw new InvalidArgumentError(`tcp transport: address ${JSON.stringify(address)} is not host:port`);
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = address.slice(colon + 1);
  const port = Number(portText);
  if (host.length === 0 || !/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`tcp transport: address ${JSON.stringify(address)} is not host:port with a port in [1, 65535]`);
  }
  return { host, port };
}
