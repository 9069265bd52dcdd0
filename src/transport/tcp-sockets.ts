/**
 * Socket creation for the TCP transport: plain TCP, or TLS with client
 * certificates required and checked against the cluster's CA.
 *
 * @packageDocumentation
 */
import { connect as netConnect, createServer as netCreateServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer, type PeerCertificate, TLSSocket } from 'node:tls';
import type { NodeId } from '../core/types.js';
import { certificateNodeIds } from './tcp-auth.js';
import type { PeerAddress, ResolvedTcpOptions } from './tcp-options.js';

/**
 * Dials `peer`. Under TLS the server's certificate must be signed by the
 * cluster CA and name `peer`: the usual hostname check is replaced by a node
 * id check, since peers are often addressed by IP. `ready` is the event that
 * says the connection can carry the handshake.
 */
export function dial(options: ResolvedTcpOptions, peer: NodeId, address: PeerAddress): { socket: Socket; ready: 'connect' | 'secureConnect' } {
  const tls = options.tls;
  if (tls === null) return { socket: netConnect({ host: address.host, port: address.port }), ready: 'connect' };
  const socket = tlsConnect({
    host: address.host,
    port: address.port,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, certificate: PeerCertificate) =>
      certificateNodeIds(certificate).includes(peer) ? undefined : new Error(`the certificate of ${address.host}:${address.port} does not name node ${peer}`),
  });
  return { socket, ready: 'secureConnect' };
}

/**
 * A server for inbound peer connections. `onConnection` receives each
 * connection once it can carry the handshake (after the TLS handshake, with
 * TLS); `onTlsError` receives TLS handshakes that failed (no or untrusted
 * certificate, plain TCP sent to a TLS port).
 */
export function createPeerServer(options: ResolvedTcpOptions, onConnection: (socket: Socket) => void, onTlsError: (error: Error, socket: Socket) => void): Server {
  const tls = options.tls;
  if (tls === null) return netCreateServer({ noDelay: true }, onConnection);
  const server = tlsCreateServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, handshakeTimeout: options.handshakeTimeoutMs }, onConnection);
  server.on('tlsClientError', onTlsError);
  return server;
}

/** The node ids the connection's client certificate names, or null for a plain TCP connection. */
export function peerCertificateNames(socket: Socket): ((id: NodeId) => boolean) | null {
  if (!(socket instanceof TLSSocket)) return null;
  const names = certificateNodeIds(socket.getPeerCertificate());
  return (id) => names.includes(id);
}

/** `host:port` of the remote end, for logs. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
