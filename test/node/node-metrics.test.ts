/**
 * RaftNode.metrics(): the cheap snapshot a monitoring exporter reads on
 * every scrape. Checked against status() (the full view) and against what
 * a cluster did: committed entries, a crashed follower's growing lag.
 */
import { describe, expect, test } from 'vitest';
import { TICK_MS, clustersClosedAfterEach, text } from '../support/node-cluster.js';

const startCluster = clustersClosedAfterEach();

describe('RaftNode.metrics', () => {
  test('agrees with status() on role, term, leader, commit and applied index, on every node', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('a')));
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) {
      const metrics = c.node(id).metrics();
      const status = c.node(id).status();
      expect(metrics).toMatchObject({ role: status.role, term: status.term, leader: status.leader, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex });
      expect(metrics.lastIndex).toBeGreaterThanOrEqual(metrics.commitIndex);
      expect(metrics.firstIndex).toBe(1);
      expect(metrics.pendingProposals).toBe(0);
      expect(metrics.pendingReads).toBe(0);
    }
  });

  test('on the leader, each peer\'s lag is 0 once it caught up; a crashed follower\'s lag grows with every entry it misses', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('a')));
    await c.advance(5 * TICK_MS);
    const followers = c.ids.filter((id) => id !== leader);
    expect([...c.node(leader).metrics().replicationLag]).toEqual(expect.arrayContaining(followers.map((id) => [id, 0])));
    expect(c.node(leader).metrics().replicationLag.has(leader)).toBe(false);

    const [down, up] = followers as [string, string];
    await c.crash(down);
    for (let i = 0; i < 5; i++) await c.run(c.node(leader).propose(text(`b${i}`)));
    await c.advance(5 * TICK_MS);
    const lag = c.node(leader).metrics().replicationLag;
    expect(lag.get(down)).toBe(5);
    expect(lag.get(up)).toBe(0);
  });

  test('followers report no replication lag, and a proposal waiting for its commit counts as pending', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    expect(c.node(follower).metrics().replicationLag.size).toBe(0);
    const waiting = c.node(leader).propose(text('slow'));
    expect(c.node(leader).metrics().pendingProposals).toBe(1);
    await c.run(waiting);
    expect(c.node(leader).metrics().pendingProposals).toBe(0);
  });

  test('a closed node reports role stopped and no leader, and does not throw', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    await node.close();
    const metrics = node.metrics();
    expect(metrics.role).toBe('stopped');
    expect(metrics.leader).toBeNull();
    expect(metrics.replicationLag.size).toBe(0);
  });
});
