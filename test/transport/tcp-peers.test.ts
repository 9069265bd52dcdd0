import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseHostPort, TcpTransport } from '../../src/transport/tcp.js';
import { LOOPBACK, LogCollector, waitUntil } from './tcp-cluster.js';
import { heartbeat, RecordingHandler } from './tcp-raw-peer.js';

const transports: TcpTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.close();
});

async function start(nodeId: string, peers: Record<string, { host: string; port: number }>, secret: Uint8Array, logs: LogCollector): Promise<{ transport: TcpTransport; handler: RecordingHandler; port: number }> {
  const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId, listen: { host: LOOPBACK, port: 0 }, peers, secret, logger: logs.for(nodeId) });
  transports.push(transport);
  const handler = new RecordingHandler();
  await transport.start(handler);
  return { transport, handler, port: transport.address()!.port };
}

describe('TcpTransport peers change at runtime', () => {
  test('a node that is not a peer yet is refused; once added, its connection is accepted and it is dialled', async () => {
    // Arrange: a knows nobody; d knows a (a node joining an existing cluster).
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const a = await start('a', {}, secret, logs);
    const d = await start('d', { a: { host: LOOPBACK, port: a.port } }, secret, logs);

    // Act 1: d dials a before a knows it.
    d.transport.send('a', heartbeat('d', 'a'));
    await waitUntil(() => logs.refusals('a').some((entry) => entry.reason === 'unknown-node'), 10_000, 'a to refuse the unknown node d');
    expect(a.handler.received).toEqual([]);

    // Act 2: a adds d; d's retries get through, and a can dial d.
    a.transport.addPeer('d', `${LOOPBACK}:${d.port}`);
    await waitUntil(() => {
      d.transport.send('a', heartbeat('d', 'a'));
      return a.handler.received.length > 0;
    }, 10_000, 'a to accept d once added');
    a.transport.send('d', heartbeat('a', 'd'));
    await waitUntil(() => d.handler.received.length === 1, 10_000, 'd to receive from a');

    // Act 3: a removes d; d's connection is closed and refused again.
    const before = a.handler.received.length;
    a.transport.removePeer('d');
    expect(a.transport.isConnected('d')).toBe(false);
    await waitUntil(() => logs.refusals('a').filter((entry) => entry.reason === 'unknown-node').length >= 2 || (d.transport.send('a', heartbeat('d', 'a')), false), 10_000, 'a to refuse d again');
    expect(a.handler.received.length).toBe(before);
  });

  test('addPeer re-points a known peer and refuses a malformed address or its own id', async () => {
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const a = await start('a', { b: { host: LOOPBACK, port: 0 } }, secret, logs);
    const b = await start('b', { a: { host: LOOPBACK, port: a.port } }, secret, logs);
    a.transport.addPeer('b', `${LOOPBACK}:${b.port}`);
    a.transport.send('b', heartbeat('a', 'b'));
    await waitUntil(() => b.handler.received.length === 1, 10_000, 'b to receive once a knows its port');
    expect(() => a.transport.addPeer('a', `${LOOPBACK}:1`)).toThrow(InvalidArgumentError);
    expect(() => a.transport.addPeer('c', 'no-port')).toThrow(InvalidArgumentError);
  });

  test('parseHostPort reads host:port, bracketed IPv6 and rejects bad ports', () => {
    expect(parseHostPort('10.0.0.2:7000')).toEqual({ host: '10.0.0.2', port: 7000 });
    expect(parseHostPort('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(parseHostPort('node-4.internal:1')).toEqual({ host: 'node-4.internal', port: 1 });
    for (const bad of ['', ':7000', 'host:', 'host:0', 'host:65536', 'host:7x']) expect(() => parseHostPort(bad), bad).toThrow(InvalidArgumentError);
  });
});
