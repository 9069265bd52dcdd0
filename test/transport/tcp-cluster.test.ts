import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { text } from '../support/node-cluster.js';
import { LogCollector, TcpCluster, waitUntil } from './tcp-cluster.js';
import { createTestPki } from './test-certificates.js';

let cluster: TcpCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('TcpTransport: a RaftNode cluster over loopback TCP', () => {
  test('HMAC mode: three nodes elect a leader and replicate a proposal made on a follower to every node', async () => {
    // Arrange
    const secret = randomBytes(32);
    const logs = new LogCollector();
    cluster = await TcpCluster.start((id) => ({ secret, logger: logs.for(id) }));

    // Act
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const results = [await cluster.node(follower).propose(text('one')), await cluster.node(leader).propose(text('two'))];

    // Assert
    expect(results).toEqual([1, 2]);
    const c = cluster;
    await waitUntil(() => c.ids.every((id) => c.entry(id).machine.items.length === 2), 10_000, 'every node to apply both entries');
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(['one', 'two']);
    expect(logs.refusals()).toEqual([]);
    const stats = c.entry(leader).transport.stats();
    expect(stats.connectionsOpened).toBe(2);
    expect(stats.messagesReceived).toBeGreaterThan(0);
  });

  test('mutual TLS: three nodes whose certificates name them elect a leader and replicate', async () => {
    // Arrange
    const pki = createTestPki(['a', 'b', 'c']);
    const logs = new LogCollector();
    cluster = await TcpCluster.start((id) => ({ tls: { ca: pki.ca, ...pki.nodes.get(id)! }, logger: logs.for(id) }));

    // Act
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const result = await cluster.node(follower).propose(text('over-tls'));

    // Assert
    expect(result).toBe(1);
    const c = cluster;
    await waitUntil(() => c.ids.every((id) => c.entry(id).machine.items.length === 1), 10_000, 'every node to apply the entry');
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(['over-tls']);
    expect(logs.refusals()).toEqual([]);
  });

  test('mutual TLS and HMAC together: both checks pass and the cluster replicates', async () => {
    const pki = createTestPki(['a', 'b', 'c']);
    const secret = randomBytes(32);
    cluster = await TcpCluster.start((id) => ({ tls: { ca: pki.ca, ...pki.nodes.get(id)! }, secret }));
    const leader = await cluster.waitForLeader();
    expect(await cluster.node(leader).propose(text('both'))).toBe(1);
  });
});
