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
import { LOOPBACK } from './tcp-cluster.js';

/** Opens a plain TCP connection to `port` on loopback. */
export async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: LOOPBACK, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Resolves when `socket` has closed (the other side ended or reset it). */
export function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve();
    else socket.once('close', () => resolve());
    socket.on('error', () => undefined);
    socket.resume(); // read to the end: a socket that never reads never sees the other side close
  });
}

/** Runs the client side of the handshake as node `self` towards `peer`; resolves once accepted. */
export async function authenticatedSocket(port: number, self: string, peer: string, secret: Uint8Array | null, clusterId = 'test-cluster'): Promise<Socket> {
  const socket = await openSocket(port);
  const handshake = new ClientHandshake({ self, clusterId, secret, nonce: newNonce() }, peer);
  const decoder = new FrameDecoder(1 << 20);
  await new Promise<void>((resolve, reject) => {
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
    socket.write(encodeValueFrame(handshake.hello()));
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
