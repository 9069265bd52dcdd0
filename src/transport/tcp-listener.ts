import type { AddressInfo, Server, Socket } from 'node:net';
import type { NodeId } from '../core/types.js';
import { TransportIOError } from '../errors.js';
import { InboundConnection, type InboundContext } from './tcp-inbound.js';
import type { PeerAddress, ResolvedTcpOptions } from './tcp-options.js';
import { createPeerServer, remoteOf } from './tcp-sockets.js';
import type { TcpTransportStats } from './tcp-stats.js';
import type { NodeMessage } from './transport.js';

/**
 * Accepts peers' connections. Bounded: at most `maxPendingConnections`
 * connections may be in their handshake at once, and each peer keeps one
 * authenticated connection (a newer one replaces the older).
 */
export class Listener {
  private server: Server | null = null;
  private readonly connections = new Set<InboundConnection>();
  private readonly byPeer = new Map<NodeId, InboundConnection>();
  /** Every accepted TCP socket, TLS handshake or not, so that close() can end them all. */
  private readonly sockets = new Set<Socket>();
  private bound: PeerAddress | null = null;

  constructor(
    private readonly options: ResolvedTcpOptions,
    private readonly stats: TcpTransportStats,
    private readonly deliver: (message: NodeMessage) => void,
    /** Whether `id` is a peer now: the peer set changes at runtime. */
    private readonly isPeer: (id: NodeId) => boolean,
  ) {}

  /** Destroys the inbound connection of a peer that was removed. */
  dropPeer(id: NodeId): void {
    this.byPeer.get(id)?.destroy();
    this.byPeer.delete(id);
  }

  /** Binds the listening socket; resolves with the bound address. Throws {@link TransportIOError}. */
  async listen(): Promise<PeerAddress> {
    if (this.bound !== null) return this.bound;
    const server = createPeerServer(
      this.options,
      (socket) => this.accept(socket),
      (error, socket) => {
        if (this.server === null) return; // sockets this listener destroyed while closing
        this.stats.handshakesRefused++;
        this.options.logger({ level: 'warn', event: 'refused', remote: remoteOf(socket), reason: 'tls', message: `TLS handshake failed: ${error.message}` });
      },
    );
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.listen.host, port: this.options.listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      throw new TransportIOError(`cannot listen on ${this.options.listen.host}:${this.options.listen.port}`, { cause: error });
    });
    server.on('error', (error) => this.options.logger({ level: 'warn', event: 'listen-error', message: error.message }));
    this.server = server;
    const address = server.address() as AddressInfo;
    this.bound = { host: this.options.listen.host, port: address.port };
    return this.bound;
  }

  /** The bound address, or null before {@link Listener.listen}. */
  address(): PeerAddress | null {
    return this.bound;
  }

  /** Stops accepting and closes every inbound connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const connection of this.connections) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.connections.clear();
    this.sockets.clear();
    this.byPeer.clear();
    if (server === null) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.server === null) {
      socket.destroy();
      return;
    }
    let pending = 0;
    for (const connection of this.connections) if (!connection.isAuthenticated()) pending++;
    if (pending >= this.options.maxPendingConnections) {
      this.options.logger({ level: 'warn', event: 'refused', remote: remoteOf(socket), reason: 'overloaded', message: `${pending} connections already in their handshake (maxPendingConnections)` });
      socket.destroy();
      return;
    }
    this.connections.add(new InboundConnection(this.context(), socket));
  }

  private context(): InboundContext {
    return {
      options: this.options,
      stats: this.stats,
      deliver: this.deliver,
      isPeer: this.isPeer,
      authenticated: (connection, peer) => {
        // A peer that reconnected has given up its older connection: keep one per peer.
        const older = this.byPeer.get(peer);
        if (older !== undefined && older !== connection) older.destroy();
        this.byPeer.set(peer, connection);
      },
      closed: (connection) => {
        this.connections.delete(connection);
        for (const [peer, current] of this.byPeer) if (current === connection) this.byPeer.delete(peer);
      },
    };
  }
}
