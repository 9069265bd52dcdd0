import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import type { TcpTransportOptions } from '../../src/transport/tcp-options.js';
import { encodeMessageFrame, encodeValueFrame, unpackFrameBody } from '../../src/transport/tcp-codec.js';
import { FrameDecoder } from '../../src/transport/tcp-frame.js';
import { LOOPBACK, LogCollector, waitUntil } from './tcp-cluster.js';
import { authenticatedSocket, closed, heartbeat, openSocket, RecordingHandler } from './tcp-raw-peer.js';
import { createTestPki } from './test-certificates.js';

const transports: TcpTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.close();
});

type Extra = Omit<TcpTransportOptions, 'nodeId' | 'listen' | 'peers' | 'clusterId'> & { clusterId?: string };

/** Node `a` listening, with peers b and c, delivering to a recording handler. */
async function startServer(extra: Extra): Promise<{ transport: TcpTransport; handler: RecordingHandler; port: number }> {
  const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: { b: { host: LOOPBACK, port: 0 }, c: { host: LOOPBACK, port: 0 } }, ...extra });
  transports.push(transport);
  const handler = new RecordingHandler();
  await transport.start(handler);
  return { transport, handler, port: transport.address()!.port };
}

/** Node `self` with `a` as its only peer, dialling `port`. */
async function startClient(self: string, port: number, extra: Extra): Promise<{ transport: TcpTransport; handler: RecordingHandler }> {
  const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: self, listen: { host: LOOPBACK, port: 0 }, peers: { a: { host: LOOPBACK, port } }, ...extra });
  transports.push(transport);
  const handler = new RecordingHandler();
  await transport.start(handler);
  return { transport, handler };
}

/** Has `client` send a heartbeat to a, waits until a refusal is logged, and checks that a received nothing. */
async function expectRefused(
  server: { handler: RecordingHandler },
  client: { transport: TcpTransport; handler: RecordingHandler },
  self: string,
  logs: LogCollector,
  node: 'a' | 'client',
  reason: string,
): Promise<void> {
  client.transport.send('a', heartbeat(self, 'a'));
  await waitUntil(() => logs.refusals(node).some((entry) => entry.reason === reason), 10_000, `${node} to log a refusal (${reason})`);
  await waitUntil(() => client.handler.unreachablePeers.includes('a'), 10_000, 'the client to report a unreachable');
  expect(server.handler.received).toEqual([]);
  expect(client.transport.isConnected('a')).toBe(false);
}

describe('TcpTransport refuses peers that are not who they should be', () => {
  test('a peer with another cluster id is refused and logged on both sides; nothing is delivered', async () => {
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const server = await startServer({ secret, logger: logs.for('a') });
    const client = await startClient('b', server.port, { secret, clusterId: 'another-cluster', logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'a', 'cluster');
    await waitUntil(() => logs.refusals('client').some((entry) => entry.reason === 'refused-by-peer'), 10_000, 'the client to log the refusal');
    expect(logs.refusals('a')[0]!.message).toContain('another-cluster');
  });

  test('a node id that is not a configured peer is refused', async () => {
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const server = await startServer({ secret, logger: logs.for('a') });
    const client = await startClient('mallory', server.port, { secret, logger: logs.for('client') });
    await expectRefused(server, client, 'mallory', logs, 'a', 'unknown-node');
  });

  test('a peer holding another secret is refused: its HMAC proof does not verify', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), logger: logs.for('a') });
    const client = await startClient('b', server.port, { secret: randomBytes(32), logger: logs.for('client') });
    // The client checks the server's proof first, refuses it and tells the server, which logs that too.
    await expectRefused(server, client, 'b', logs, 'client', 'auth');
    await waitUntil(() => logs.refusals('a').length > 0, 10_000, 'the server to log the refusal');
  });

  test('a peer without a secret is refused by a node that requires one', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), logger: logs.for('a') });
    const client = await startClient('b', server.port, { insecure: true, logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'client', 'auth');
  });

  test('a TLS certificate for another node id is refused (b presenting c’s certificate)', async () => {
    const pki = createTestPki(['a', 'b', 'c']);
    const logs = new LogCollector();
    const server = await startServer({ tls: { ca: pki.ca, ...pki.nodes.get('a')! }, logger: logs.for('a') });
    const client = await startClient('b', server.port, { tls: { ca: pki.ca, ...pki.nodes.get('c')! }, logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'a', 'tls-identity');
  });

  test('a server whose certificate names another node is refused by the client that dialled it', async () => {
    const pki = createTestPki(['a', 'b', 'c']);
    const logs = new LogCollector();
    const server = await startServer({ tls: { ca: pki.ca, ...pki.nodes.get('c')! }, logger: logs.for('a') });
    const client = await startClient('b', server.port, { tls: { ca: pki.ca, ...pki.nodes.get('b')! }, logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'client', 'tls');
    expect(logs.refusals('client')[0]!.message).toContain('does not name node a');
  });

  test('a certificate from another CA is refused by the TLS handshake', async () => {
    const pki = createTestPki(['a']);
    const rogue = createTestPki(['b'], 'rogue-ca');
    const logs = new LogCollector();
    const server = await startServer({ tls: { ca: pki.ca, ...pki.nodes.get('a')! }, logger: logs.for('a') });
    const client = await startClient('b', server.port, { tls: { ca: pki.ca, ...rogue.nodes.get('b')! }, logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'a', 'tls');
  });

  test('plain TCP to a TLS listener is refused by the TLS handshake', async () => {
    const pki = createTestPki(['a']);
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const server = await startServer({ tls: { ca: pki.ca, ...pki.nodes.get('a')! }, secret, logger: logs.for('a') });
    const client = await startClient('b', server.port, { secret, logger: logs.for('client') });
    await expectRefused(server, client, 'b', logs, 'a', 'tls');
  });

  test('a connection that skips the handshake cannot deliver a message: its first frame is refused', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), logger: logs.for('a') });
    const socket = await openSocket(server.port);
    socket.write(encodeMessageFrame(heartbeat('b', 'a')));
    await closed(socket);
    expect(logs.refusals('a').map((entry) => entry.reason)).toEqual(['malformed']);
    expect(server.handler.received).toEqual([]);
  });

  test('a hello of another protocol version is refused and logged; the client is told why', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), logger: logs.for('a') });
    const socket = await openSocket(server.port);
    const answers: Uint8Array[] = [];
    const decoder = new FrameDecoder(4096);
    socket.on('data', (chunk: Buffer) => answers.push(...decoder.push(chunk)));
    socket.write(encodeValueFrame({ t: 'hello', protocol: 99, cluster: 'test-cluster', from: 'b', to: 'a', nonce: new Uint8Array(32) }));
    await closed(socket);
    expect(logs.refusals('a').map((entry) => entry.reason)).toEqual(['protocol']);
    expect(answers.map((body) => unpackFrameBody(body))).toEqual([expect.objectContaining({ t: 'refuse', reason: 'protocol' })]);
    expect(server.handler.received).toEqual([]);
  });

  test('connections beyond maxPendingConnections in their handshake are refused as overloaded', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), maxPendingConnections: 2, logger: logs.for('a') });
    const silent = [await openSocket(server.port), await openSocket(server.port)];
    try {
      const third = await openSocket(server.port);
      await closed(third);
      expect(logs.refusals('a').map((entry) => entry.reason)).toEqual(['overloaded']);
    } finally {
      for (const socket of silent) socket.destroy();
    }
  });

  test('before the handshake, a frame larger than a handshake message is refused at its length prefix', async () => {
    const logs = new LogCollector();
    const server = await startServer({ secret: randomBytes(32), logger: logs.for('a') });
    const socket = await openSocket(server.port);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(100_000, 0); // far below maxFrameBytes (16 MiB), far above any handshake message
    socket.write(prefix);
    await closed(socket);
    expect(logs.refusals('a')).toHaveLength(1);
    expect(logs.refusals('a')[0]!.message).toMatch(/over the maximum of 4096/);
  });

  test('an authenticated peer that sends a message in another node’s name is cut off; the message is not delivered', async () => {
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const server = await startServer({ secret, logger: logs.for('a') });
    const socket = await authenticatedSocket(server.port, 'b', 'a', secret);
    socket.write(encodeMessageFrame(heartbeat('b', 'a')));
    socket.write(encodeMessageFrame(heartbeat('c', 'a')));
    socket.write(encodeMessageFrame(heartbeat('b', 'a', 2)));
    await closed(socket);
    expect(server.handler.received).toEqual([heartbeat('b', 'a')]);
    const invalid = logs.entries.filter((entry) => entry.event === 'invalid-frame');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.reason).toBe('message');
    expect(server.transport.stats().invalidFrames).toBe(1);
  });

  test('without a secret or TLS the transport refuses to start unless insecure is set', () => {
    const base = { clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: {} };
    expect(() => new TcpTransport(base)).toThrow(InvalidConfigError);
    expect(() => new TcpTransport({ ...base, secret: new Uint8Array(8) })).toThrow(/at least 16 bytes/);
    expect(() => new TcpTransport({ ...base, insecure: true })).not.toThrow();
  });
});
