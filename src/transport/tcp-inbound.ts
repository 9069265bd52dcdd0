import type { Socket } from 'node:net';
import type { NodeId } from '../core/types.js';
import { FrameInvalidError, type HandshakeRefusal } from '../errors.js';
import { newNonce } from './tcp-auth.js';
import { decodeMessageBody, encodeValueFrame, unpackFrameBody } from './tcp-codec.js';
import { FRAME_HEADER_BYTES, FrameDecoder, HANDSHAKE_MAX_FRAME_BYTES } from './tcp-frame.js';
import { ServerHandshake, type HandshakeStep } from './tcp-handshake.js';
import type { ResolvedTcpOptions } from './tcp-options.js';
import { peerCertificateNames, remoteOf } from './tcp-sockets.js';
import type { TcpTransportStats } from './tcp-stats.js';
import type { NodeMessage } from './transport.js';

/** What an {@link InboundConnection} needs from its listener. */
export interface InboundContext {
  readonly options: ResolvedTcpOptions;
  readonly stats: TcpTransportStats;
  /** Whether `id` is a peer now (peers are added and removed at runtime). */
  isPeer(id: NodeId): boolean;
  /** A valid message from an authenticated peer. */
  deliver(message: NodeMessage): void;
  /** The handshake succeeded: `connection` speaks for `peer`. */
  authenticated(connection: InboundConnection, peer: NodeId): void;
  /** The socket closed. */
  closed(connection: InboundConnection): void;
}

/**
 * One connection a peer dialled to this node. It carries the handshake and
 * then only that peer's messages to this node. Every frame is decoded and
 * validated before anything reaches the node; the first invalid one closes
 * the connection. Until the handshake accepted the peer, no frame is taken
 * for a message.
 */
export class InboundConnection {
  private peer: NodeId | null = null;
  private readonly decoder: FrameDecoder;
  private readonly handshake: ServerHandshake;
  private timer: NodeJS.Timeout | null;
  private readonly remote: string;

  constructor(
    private readonly context: InboundContext,
    readonly socket: Socket,
  ) {
    const options = context.options;
    this.remote = remoteOf(socket);
    this.decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
    this.handshake = new ServerHandshake(
      { self: options.nodeId, clusterId: options.clusterId, secret: options.secret, nonce: newNonce() },
      (id) => context.isPeer(id),
      peerCertificateNames(socket),
    );
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    this.timer = setTimeout(() => {
      if (socket.writableEnded) this.destroy(); // refused already; the client kept its side open
      else this.refuse('timeout', `no complete handshake within ${options.handshakeTimeoutMs} ms`, null);
    }, options.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Errors (reset by the peer) end in 'close', which is all that matters here.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clearTimer();
      context.closed(this);
    });
  }

  /** True once the handshake accepted the peer. */
  isAuthenticated(): boolean {
    return this.peer !== null;
  }

  /** Closes the connection at once (nothing is ever sent after the handshake). */
  destroy(): void {
    this.clearTimer();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      for (const body of this.decoder.push(chunk)) {
        if (this.socket.destroyed || this.socket.writableEnded) return;
        const peer = this.peer;
        if (peer === null) {
          this.step(this.handshake.receive(unpackFrameBody(body)));
          continue;
        }
        const message = decodeMessageBody(body, this.context.options.nodeId, peer);
        this.context.stats.messagesReceived++;
        this.context.stats.bytesReceived += body.byteLength + FRAME_HEADER_BYTES;
        this.context.deliver(message);
      }
    } catch (error) {
      if (!(error instanceof FrameInvalidError)) throw error;
      this.invalid(error);
    }
  }

  private step(step: HandshakeStep): void {
    if (step.kind === 'refused') {
      this.refuse(step.reason, step.message, step.send);
      return;
    }
    this.write(step.send);
    if (step.kind === 'accepted') {
      this.clearTimer();
      this.peer = step.peer;
      this.decoder.setMaxFrameBytes(this.context.options.maxFrameBytes);
      this.context.authenticated(this, step.peer);
    }
  }

  /** Logs the refusal, tells the client why (when there is something to say) and closes. */
  private refuse(reason: HandshakeRefusal, message: string, send: unknown | null): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.context.stats.handshakesRefused++;
    this.context.options.logger({ level: 'warn', event: 'refused', remote: this.remote, reason, message });
    if (send !== null) this.socket.end(encodeValueFrame(send));
    // A client that does not close its side is cut off by the handshake timer (still running).
    else this.destroy();
  }

  private invalid(error: FrameInvalidError): void {
    if (this.peer === null) {
      // Before authentication, garbage is a refusal: the handshake was malformed.
      this.refuse('malformed', error.message, null);
      return;
    }
    this.context.stats.invalidFrames++;
    this.context.options.logger({ level: 'warn', event: 'invalid-frame', peer: this.peer, remote: this.remote, reason: error.reason, message: error.message });
    this.destroy();
  }

  private write(value: unknown): void {
    if (value === null) return;
    const frame = encodeValueFrame(value);
    this.context.stats.framesSent++;
    this.context.stats.bytesSent += frame.byteLength;
    this.socket.write(frame);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
