import { randomBytes } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import { RaftNode } from '../../src/node/raft-node.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { encodeMessageFrame, encodeValueFrame } from '../../src/transport/tcp-codec.js';
import { ListStateMachine } from '../support/node-cluster.js';
import { LOOPBACK, LogCollector, waitUntil } from './tcp-cluster.js';
import { authenticatedSocket, closed, heartbeat } from './tcp-raw-peer.js';

let node: RaftNode<number> | null = null;
afterEach(async () => {
  await node?.close();
  node = null;
});

test('an authenticated peer’s invalid message does not change the node’s Raft state; a valid one from the same peer does', async () => {
  // Arrange: node a alone (b and c are played by raw sockets), with a long tick so that it does not campaign meanwhile.
  const secret = randomBytes(32);
  const logs = new LogCollector();
  const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'a', listen: { host: LOOPBACK, port: 0 }, peers: { b: { host: LOOPBACK, port: 0 }, c: { host: LOOPBACK, port: 0 } }, secret, logger: logs.for('a') });
  node = await RaftNode.open<number>({ id: 'a', members: ['a', 'b', 'c'], storage: new MemoryStorage(), snapshots: new MemorySnapshotStore(), transport, stateMachine: new ListStateMachine(), tickIntervalMs: 60_000 });
  const port = transport.address()!.port;
  const a = node;

  // Act: a heartbeat of term 5 with a negative commit, then one whose term is a string.
  const bad = await authenticatedSocket(port, 'b', 'a', secret);
  bad.write(encodeValueFrame({ kind: 'raft', message: { type: 'heartbeat', from: 'b', to: 'a', term: 5, commit: -1, readRound: 0 } }));
  await closed(bad);
  const worse = await authenticatedSocket(port, 'c', 'a', secret);
  worse.write(encodeValueFrame({ kind: 'raft', message: { type: 'heartbeat', from: 'c', to: 'a', term: '7', commit: 0, readRound: 0 } }));
  await closed(worse);

  // Assert: both connections were cut, and the node is untouched.
  expect(logs.entries.filter((entry) => entry.event === 'invalid-frame').map((entry) => entry.peer)).toEqual(['b', 'c']);
  expect(a.status()).toMatchObject({ term: 0, leader: null, role: 'follower' });

  // The same path with a valid heartbeat does move the node: the check above was not vacuous.
  const good = await authenticatedSocket(port, 'b', 'a', secret);
  try {
    good.write(encodeMessageFrame(heartbeat('b', 'a', 5)));
    await waitUntil(() => a.status().term === 5, 10_000, 'the valid heartbeat to raise the term');
    expect(a.status().leader).toBe('b');
  } finally {
    good.destroy();
  }
});
