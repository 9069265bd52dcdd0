import type { Socket } from 'node:net';
import type { NodeId } from '../core/types.js';
import { FrameInvalidError } from '../errors.js';
import { newNonce } from './tcp-auth.js';
import { encodeValueFrame, unpackFrameBody } from './tcp-codec.js';
import { FrameDecoder, HANDSHAKE_MAX_FRAME_BYTES } from './tcp-frame.js';
import { ClientHandshake, type HandshakeStep } from './tcp-handshake.js';
import type { PeerAddress, ResolvedTcpOptions } from './tcp-options.js';
import { SendQueue } from './tcp-send-queue.js';
import { dial } from './tcp-sockets.js';
import type { TcpTransportStats } from './tcp-stats.js';

/** What a {@link PeerConnection} needs from its transport. */
export interface PeerContext {
  readonly options: ResolvedTcpOptions;
  readonly stats: TcpTransportStats;
  /** Messages to `peer` were dropped: tell the node (Raft falls back to probing). */
  unreachable(peer: NodeId): void;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/**
 * The one outbound connection to one peer: everything this node sends that
 * peer goes through it (the peer answers on its own outbound connection).
 *
 * - Lazy: the first message to send opens the connection; messages queue
 *   (bounded by bytes) while it connects and authenticates.
 * - Coalescing: messages queued within one event-loop turn leave in one
 *   corked socket write.
 * - On failure, queued messages are dropped and the peer reported
 *   unreachable; for a backoff delay (exponential, full jitter) new messages
 *   are dropped and reported too, then the next message dials again.
 */
export class PeerConnection {
  private state: State = 'idle';
  private socket: Socket | null = null;
  private readonly queue: SendQueue;
  /** Failed attempts since the last successful handshake; sets the backoff. */
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushScheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly context: PeerContext,
    readonly id: NodeId,
    private address: PeerAddress,
  ) {
    this.queue = new SendQueue(context.options.maxQueueBytes);
  }

  /** Queues one frame; false when it was dropped (down, backing off, queue full, closed). */
  send(frame: Buffer): boolean {
    if (this.state === 'closed' || this.state === 'backoff' || this.address.port === 0) return false;
    if (!this.queue.offer(frame, this.socket?.writableLength ?? 0)) return false;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'open') this.scheduleFlush();
    return true;
  }

  /** Dials `address` from now on; an open connection to the old address is closed. */
  setAddress(address: PeerAddress): void {
    this.address = address;
    if (this.state === 'connecting' || this.state === 'open') this.fail('the peer address changed', 'info');
  }

  /** True once connected and authenticated. */
  isOpen(): boolean {
    return this.state === 'open';
  }

  /** Flushes what is queued, ends the connection, and destroys it if it has not closed by `deadline`. */
  async close(deadline: Promise<void>): Promise<void> {
    const socket = this.socket;
    if (this.state === 'open' && socket !== null) this.flush();
    this.state = 'closed';
    this.clearTimers();
    this.queue.clear();
    if (socket === null) return;
    this.socket = null;
    if (socket.destroyed) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end();
    await Promise.race([closed, deadline]);
    socket.destroy();
  }

  private connect(): void {
    const { socket, ready } = dial(this.context.options, this.id, this.address);
    this.state = 'connecting';
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    const handshake = new ClientHandshake(
      { self: this.context.options.nodeId, clusterId: this.context.options.clusterId, secret: this.context.options.secret, nonce: newNonce() },
      this.id,
    );
    // Only handshake replies ever come back on this connection.
    const decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
    this.timer = setTimeout(() => this.fail('connect and handshake timed out', 'warn', 'timeout'), this.context.options.connectTimeoutMs + this.context.options.handshakeTimeoutMs);
    socket.once(ready, () => this.write(encodeValueFrame(handshake.hello())));
    socket.on('data', (chunk: Buffer) => this.onData(socket, decoder, handshake, chunk));
    socket.on('error', (error: Error) => this.onError(error));
    socket.on('close', () => {
      if (this.socket === socket) this.fail('the connection closed', 'info');
    });
  }

  private onData(socket: Socket, decoder: FrameDecoder, handshake: ClientHandshake, chunk: Buffer): void {
    if (this.socket !== socket) return;
    try {
      for (const body of decoder.push(chunk)) {
        if (this.state !== 'connecting') {
          // The accepting side sends nothing after `accept`: anything more breaks the protocol.
          this.fail('the peer sent data after the handshake', 'warn', 'malformed');
          return;
        }
        this.step(handshake.receive(unpackFrameBody(body)));
        if (this.socket !== socket) return;
      }
    } catch (error) {
      if (!(error instanceof FrameInvalidError)) throw error;
      this.context.stats.invalidFrames++;
      this.fail(error.message, 'warn', error.reason);
    }
  }

  private onError(error: Error): void {
    // System errors (refused, reset, unreachable) are routine while a peer is down; anything
    // else before the handshake is TLS refusing the peer (untrusted or misnamed certificate).
    if ('syscall' in error || this.state !== 'connecting') {
      this.fail(error.message, 'info');
      return;
    }
    this.context.stats.handshakesRefused++;
    this.context.options.logger({ level: 'warn', event: 'refused', peer: this.id, reason: 'tls', message: `TLS handshake with ${this.id} failed: ${error.message}` });
    this.fail(error.message, 'none');
  }

  private step(step: HandshakeStep): void {
    if (step.send !== null) this.write(encodeValueFrame(step.send));
    if (step.kind === 'refused') {
      this.context.stats.handshakesRefused++;
      this.context.options.logger({ level: 'warn', event: 'refused', peer: this.id, reason: step.reason, message: step.message });
      this.fail(step.message, 'none');
      return;
    }
    if (step.kind === 'accepted') {
      this.state = 'open';
      this.failures = 0;
      this.clearTimers();
      this.context.stats.connectionsOpened++;
      this.context.options.logger({ level: 'info', event: 'connected', peer: this.id, message: `connected to ${this.id} at ${this.address.host}:${this.address.port}` });
      this.scheduleFlush();
    }
  }

  /** Writes what is queued now (the owner loop's turn ended), instead of at the scheduled flush. */
  flushNow(): void {
    if (this.flushScheduled === null) return;
    clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled !== null) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = null;
      this.flush();
    });
  }

  /** Writes every queued frame in one corked write (one writev). */
  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || socket === null || this.queue.length === 0) return;
    const frames = this.queue.takeAll();
    socket.cork();
    for (const frame of frames) this.write(frame);
    socket.uncork();
    this.context.stats.writes++;
  }

  private write(frame: Buffer): void {
    this.context.stats.framesSent++;
    this.context.stats.bytesSent += frame.byteLength;
    this.socket?.write(frame);
  }

  /**
   * The connection failed: destroy it, drop what was queued, report the peer
   * unreachable and back off before the next attempt.
   */
  private fail(why: string, level: 'info' | 'warn' | 'none', reason?: string): void {
    if (this.state === 'closed' || this.socket === null) return;
    const socket = this.socket;
    this.socket = null;
    this.clearTimers();
    socket.destroy();
    const dropped = this.queue.clear();
    this.context.stats.messagesDropped += dropped;
    if (level !== 'none') {
      this.context.options.logger({ level, event: 'disconnected', peer: this.id, message: `connection to ${this.id}: ${why}`, ...(reason === undefined ? {} : { reason }) });
    }
    this.context.unreachable(this.id);
    const ceilingMs = Math.min(this.context.options.backoffMaxMs, this.context.options.backoffInitialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    this.state = 'backoff';
    // Full jitter: peers that lost a node together do not all redial it at once.
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.state = 'idle';
    }, Math.floor(this.context.options.random() * ceilingMs));
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushScheduled !== null) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
  }
}
