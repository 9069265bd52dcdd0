/**
 * Runtime membership over loopback TCP: a node joins with only the founders'
 * addresses, and the founders — also one restarted with its original peer
 * list — learn the new node's address from the log.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { RaftNode } from '../../src/node/raft-node.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { TcpTransport } from '../../src/transport/tcp.js';
import { ListStateMachine, text } from '../support/node-cluster.js';
import { LOOPBACK, LogCollector, TcpCluster, waitUntil } from './tcp-cluster.js';

let cluster: TcpCluster | null = null;
let joiner: { node: RaftNode<number>; transport: TcpTransport } | null = null;
afterEach(async () => {
  await joiner?.node.close();
  await cluster?.close();
  cluster = null;
  joiner = null;
});

describe('RaftNode membership over TcpTransport', () => {
  test.each([
    ['from the log', {}],
    ['from a snapshot (the log compacted past the address entry)', { snapshotting: { entries: 2, keepEntries: 0 } }],
  ])('a joined voter can lead: a founder restarted with its original peers learns its address %s', async (_how, extra) => {
    // Arrange: three founders and a fourth node that knows only their addresses.
    const secret = randomBytes(32);
    const logs = new LogCollector();
    const c = (cluster = await TcpCluster.start((id) => ({ secret, logger: logs.for(id) }), ['a', 'b', 'c'], extra));
    const leader = await c.waitForLeader();
    await c.node(leader).propose(text('before'));
    const founders = Object.fromEntries(c.ids.map((id) => [id, { host: LOOPBACK, port: c.entry(id).port }]));
    const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'd', listen: { host: LOOPBACK, port: 0 }, peers: founders, secret, logger: logs.for('d') });
    const { port } = await transport.listen();
    const machine = new ListStateMachine();
    const node = await RaftNode.open<number>({ id: 'd', join: true, storage: new MemoryStorage(), snapshots: new MemorySnapshotStore(), transport, stateMachine: machine, tickIntervalMs: 10, electionTicks: 10 });
    joiner = { node, transport };

    // Act: add d; restart a follower with the peer list it was born with; hand leadership to d.
    await c.node(leader).addVoter('d', `${LOOPBACK}:${port}`);
    const follower = c.ids.find((id) => id !== leader)!;
    for (let i = 0; i < 4; i++) await c.node(leader).propose(text(`pad${i}`));
    await waitUntil(() => c.entry(follower).machine.items.length === 5, 10_000, `${follower} to apply the padding`);
    await c.stop(follower);
    await c.restart(follower);
    await c.node(leader).transferLeadership('d');
    const result = await node.propose(text('led by d'));

    // Assert: d leads and commits; the restarted follower answers d (so it dialled d's address).
    expect(result).toBe(6);
    expect(node.status().role).toBe('leader');
    const expected = ['before', 'pad0', 'pad1', 'pad2', 'pad3', 'led by d'];
    await waitUntil(() => c.entry(follower).machine.items.length === 6 && c.entry(follower).transport.isConnected('d'), 10_000, `${follower} to apply and dial d`);
    expect(c.entry(follower).machine.items).toEqual(expected);
    expect(machine.items).toEqual(expected);
    if ('snapshotting' in extra) expect(c.entry(follower).storage.firstIndex()).toBeGreaterThan(3);
    expect(logs.refusals().filter((entry) => entry.reason !== 'unknown-node')).toEqual([]);
  });
});
