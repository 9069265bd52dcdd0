/**
 * A hand-driven peer for transport tests: a plain socket that runs the
 * client handshake itself and then writes whatever frames a test wants,
 * valid or not.
 */
import { connect, type Socket } from 'node:net';
import { newNonce } from '../../src/transport/tcp-auth.js';
import { encodeValueFrame, unpackFrameBody } from '../../src/transport/tcp-codec.js';
import { FrameDecoder } from '../../src/transport/tcp-frame.js';
import { ClientHandshake } from '../../src/transport/tcp-handshake.js';
import type { NodeMessage, TransportHandler } from '../../src/transport/transport.js';
import { LOOPBACK, within } from './tcp-cluster.js';

/** How long these helpers wait for the other side before failing (and destroying the socket). */
const SOCKET_WAIT_MS = 10_000;

/** Opens a plain TCP connection to `port` on loopback. */
export async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: LOOPBACK, port });
  await within(new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  }), SOCKET_WAIT_MS, `a connection to port ${port}`).catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
  return socket;
}

/** Resolves when `socket` has closed (the other side ended or reset it); fails if it is still open after 10 s. */
export function closed(socket: Socket): Promise<void> {
  const closing = new Promise<void>((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once('close', () => resolve());
    socket.on('error', () => undefined);
    socket.resume(); // read to the end: a socket that never reads never sees the other side close
  });
  return within(closing, SOCKET_WAIT_MS, 'the other side to close the connection').catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
}

/** Runs the client side of the handshake as node `self` towards `peer`; resolves once accepted, fails after 10 s. */
export async function authenticatedSocket(port: number, self: string, peer: string, secret: Uint8Array | null, clusterId = 'test-cluster'): Promise<Socket> {
  const socket = await openSocket(port);
  const handshake = new ClientHandshake({ self, clusterId, secret, nonce: newNonce() }, peer);
  const decoder = new FrameDecoder(1 << 20);
  await within(new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      for (const body of decoder.push(chunk)) {
        const step = handshake.receive(unpackFrameBody(body));
        if (step.send !== null) socket.write(encodeValueFrame(step.send));
        if (step.kind === 'accepted') {
          socket.off('data', onData);
          resolve();
        } else if (step.kind === 'refused') reject(new Error(step.message));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`the connection closed during the handshake as ${self} with ${peer}`)));
    socket.write(encodeValueFrame(handshake.hello()));
  }), SOCKET_WAIT_MS, `the handshake as ${self} with ${peer} to be accepted`).catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
  return socket;
}

/** A transport handler that records what it is given. */
export class RecordingHandler implements TransportHandler {
  readonly received: NodeMessage[] = [];
  readonly unreachablePeers: string[] = [];

  receive(message: NodeMessage): void {
    this.received.push(message);
  }

  unreachable(peer: string): void {
    this.unreachablePeers.push(peer);
  }
}

/** A valid heartbeat as `from` would send it to `to`. */
export function heartbeat(from: string, to: string, term = 1): NodeMessage {
  return { kind: 'raft', message: { type: 'heartbeat', from, to, term, commit: 0, readRound: 0 } };
}
