import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { TransportIOError } from '../../src/errors.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import { text } from '../support/node-cluster.js';
import { createTransports, LOOPBACK, TcpCluster, waitUntil, within } from './tcp-cluster.js';
import { heartbeat, RecordingHandler } from './tcp-raw-peer.js';

let cluster: TcpCluster | null = null;
const transports: TcpTransport[] = [];
afterEach(async () => {
  await cluster?.close();
  cluster = null;
  for (const transport of transports.splice(0)) await transport.close();
});

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** TCP and TLS handles of this process (the test runner's own IPC pipes and timers excluded). */
function networkHandles(): string[] {
  return process.getActiveResourcesInfo().filter((type) => /TCP|TLS/.test(type));
}

describe('TcpTransport connections', () => {
  test('a follower whose listener restarts is probed while down, then reconnected and caught up', async () => {
    // Arrange
    const secret = randomBytes(32);
    cluster = await TcpCluster.start(() => ({ secret, backoff: { initialMs: 20, maxMs: 200 } }));
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    await c.node(leader).propose(text('before'));
    const opened = c.entry(leader).transport.stats().connectionsOpened;

    // Act: the follower goes away with its listener; the cluster commits without it.
    await c.stop(follower);
    await waitUntil(() => c.node(leader).status().progress.get(follower)?.state === 'probe', 10_000, 'the leader to probe the stopped follower');
    expect(c.entry(leader).transport.isConnected(follower)).toBe(false);
    for (const value of ['while-down-1', 'while-down-2']) await c.node(leader).propose(text(value));
    await c.restart(follower);

    // Assert
    await waitUntil(() => c.entry(follower).machine.items.length === 3, 15_000, 'the restarted follower to apply every entry');
    expect(c.entry(follower).machine.items).toEqual(['before', 'while-down-1', 'while-down-2']);
    expect(c.entry(leader).transport.stats().connectionsOpened).toBeGreaterThan(opened);
    expect(c.entry(leader).transport.isConnected(follower)).toBe(true);
  });

  test('a far-behind follower catches up from a snapshot streamed in chunks over TCP', async () => {
    const secret = randomBytes(32);
    cluster = await TcpCluster.start(() => ({ secret }), ['a', 'b', 'c'], { snapshotting: { entries: 20, keepEntries: 2, chunkBytes: 1024 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    await c.stop(follower);
    const values = Array.from({ length: 60 }, (_, i) => `entry-${i}-${'x'.repeat(100)}`);
    for (const value of values) await c.node(leader).propose(text(value));
    await waitUntil(() => c.entry(leader).storage.firstIndex() > 3, 10_000, 'the leader to compact its log');

    const restarted = await c.restart(follower);
    const installed = new Promise<number>((resolve) => restarted.on('snapshot', (snapshot) => snapshot.kind === 'installed' && resolve(snapshot.index)));

    expect(await within(installed, 15_000, 'the restarted follower to install a snapshot')).toBeGreaterThan(0);
    await waitUntil(() => c.entry(follower).machine.items.length === values.length, 15_000, 'the follower to catch up');
    expect(c.entry(follower).machine.items).toEqual(values);
  });

  test('sending to a peer with nothing listening drops the message and reports the peer unreachable, then backs off', async () => {
    const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: { b: { host: LOOPBACK, port: await deadPort() } }, secret: randomBytes(32), backoff: { initialMs: 5000, maxMs: 5000 }, random: () => 0.999, logger: () => undefined });
    transports.push(transport);
    const handler = new RecordingHandler();
    await transport.start(handler);

    transport.send('b', heartbeat('a', 'b'));
    await waitUntil(() => handler.unreachablePeers.length === 1, 10_000, 'b to be reported unreachable');
    // Backing off: the next message is dropped at once, without dialling, and reported again.
    transport.send('b', heartbeat('a', 'b'));
    await waitUntil(() => handler.unreachablePeers.length === 2, 10_000, 'the second report');

    expect(handler.unreachablePeers).toEqual(['b', 'b']);
    expect(transport.stats().messagesDropped).toBe(2);
    expect(transport.stats().connectionsOpened).toBe(0);
  });

  test('listening on a port already in use fails with TransportIOError', async () => {
    const first = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: {}, insecure: true });
    transports.push(first);
    const { port } = await first.listen();
    const second = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port }, peers: {}, insecure: true });
    transports.push(second);
    const error = await second.start(new RecordingHandler()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportIOError);
    expect((error as TransportIOError).code).toBe('KEEL_TRANSPORT_IO');
  });

  test('a peer whose address is not known yet, and a node that is not a peer, are reported unreachable', async () => {
    const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: { b: { host: LOOPBACK, port: 0 } }, insecure: true });
    transports.push(transport);
    const handler = new RecordingHandler();
    await transport.start(handler);
    transport.send('b', heartbeat('a', 'b'));
    transport.send('z', heartbeat('a', 'z'));
    await waitUntil(() => handler.unreachablePeers.length === 2, 10_000, 'both reports');
    expect(handler.unreachablePeers.sort()).toEqual(['b', 'z']);
  });

  test('a send queue over its byte bound drops what does not fit and reports it, instead of growing', async () => {
    const made = await createTransports(['a', 'b'], () => ({ insecure: true, maxFrameBytes: 64 * 1024, maxQueueBytes: 256 * 1024 }));
    transports.push(...made.values());
    const receiver = new RecordingHandler();
    const sender = new RecordingHandler();
    await made.get('b')!.start(receiver);
    await made.get('a')!.start(sender);
    const chunk = (offset: number): NodeMessage => ({ kind: 'snapshotChunk', from: 'a', to: 'b', term: 1, meta: { index: 9, term: 1, membership: { voters: ['a', 'b'] } }, offset, data: new Uint8Array(60 * 1024), last: false });

    // Ten 60 KiB chunks in one turn: the connection is still opening, so only four fit in 256 KiB.
    for (let i = 0; i < 10; i++) made.get('a')!.send('b', chunk(i));

    await waitUntil(() => receiver.received.length === 4, 10_000, 'the four queued chunks to arrive');
    expect(made.get('a')!.stats().messagesDropped).toBe(6);
    await waitUntil(() => sender.unreachablePeers.includes('b'), 10_000, 'the drops to be reported');
    expect(receiver.received.map((message) => (message.kind === 'snapshotChunk' ? message.offset : -1))).toEqual([0, 1, 2, 3]);
  });

  test('snapshot chunks streaming to one peer do not hold back a heartbeat to another', async () => {
    const made = await createTransports(['a', 'b', 'c'], () => ({ insecure: true }));
    transports.push(...made.values());
    const arrivals: string[] = [];
    const record = (who: string) => ({ receive: (message: NodeMessage) => arrivals.push(`${who}:${message.kind}`), unreachable: () => undefined });
    await made.get('b')!.start(record('b'));
    await made.get('c')!.start(record('c'));
    await made.get('a')!.start(new RecordingHandler());
    const a = made.get('a')!;
    // Both connections open first, so that what is measured is the traffic, not who finished the handshake first.
    a.send('b', heartbeat('a', 'b'));
    a.send('c', heartbeat('a', 'c'));
    await waitUntil(() => arrivals.length === 2, 10_000, 'both connections to open');
    arrivals.length = 0;
    const chunks = 100;
    for (let i = 0; i < chunks; i++) {
      a.send('b', { kind: 'snapshotChunk', from: 'a', to: 'b', term: 1, meta: { index: 9, term: 1, membership: { voters: ['a', 'b', 'c'] } }, offset: i * 65536, data: new Uint8Array(65536), last: i === chunks - 1 });
    }
    a.send('c', heartbeat('a', 'c'));

    await waitUntil(() => arrivals.length === chunks + 1, 20_000, 'every message to arrive');
    const heartbeatAt = arrivals.indexOf('c:raft');
    expect(heartbeatAt).toBeGreaterThanOrEqual(0);
    expect(heartbeatAt).toBeLessThan(arrivals.length - 1); // the heartbeat did not wait for the 6.4 MB stream to b
  });

  test('messages queued in one event-loop turn leave in one write', async () => {
    const made = await createTransports(['a', 'b'], () => ({ insecure: true }));
    transports.push(...made.values());
    const receiver = new RecordingHandler();
    await made.get('b')!.start(receiver);
    await made.get('a')!.start(new RecordingHandler());
    const a = made.get('a')!;
    a.send('b', heartbeat('a', 'b'));
    await waitUntil(() => receiver.received.length === 1, 10_000, 'the first message (connection open)');
    const before = a.stats();

    for (let i = 0; i < 50; i++) a.send('b', heartbeat('a', 'b', i + 1));
    await waitUntil(() => receiver.received.length === 51, 10_000, 'the 50 messages');

    const after = a.stats();
    expect(after.framesSent - before.framesSent).toBe(50);
    expect(after.writes - before.writes).toBe(1);
    expect(receiver.received.slice(1).map((m) => (m.kind === 'raft' ? m.message.term : 0))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test('close() flushes the messages already queued on an open connection before ending it', async () => {
    const made = await createTransports(['a', 'b'], () => ({ insecure: true }));
    transports.push(...made.values());
    const receiver = new RecordingHandler();
    await made.get('b')!.start(receiver);
    await made.get('a')!.start(new RecordingHandler());
    const a = made.get('a')!;
    a.send('b', heartbeat('a', 'b'));
    await waitUntil(() => a.isConnected('b'), 10_000, 'the connection to open');

    for (let i = 0; i < 100; i++) a.send('b', heartbeat('a', 'b', i + 2));
    await a.close();

    await waitUntil(() => receiver.received.length === 101, 10_000, 'every queued message to arrive after close()');
    expect(receiver.received.at(-1)).toEqual(heartbeat('a', 'b', 101));
  });

  test('close() ends every connection and listener: no socket handle outlives the transports', async () => {
    const secret = randomBytes(32);
    const local = await TcpCluster.start(() => ({ secret }));
    const leader = await local.waitForLeader();
    await local.node(leader).propose(text('x'));
    expect(networkHandles()).toContain('TCPServerWrap');
    expect(networkHandles()).toContain('TCPSocketWrap');

    await local.close();

    // Handles are released a moment after their close callbacks; earlier tests' ones too.
    await waitUntil(() => networkHandles().length === 0, 10_000, `socket handles to be released (left: ${networkHandles().join(', ')})`);
    expect(networkHandles()).toEqual([]);
  });
});
