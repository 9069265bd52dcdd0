import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, NotLeaderError, ProposalDroppedError, TransferFailedError } from '../../src/errors.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('RaftNode.transferLeadership', () => {
  test('to an up-to-date follower: resolves once the target leads, and proposals flow through it', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('a')));
    const target = c.ids.find((id) => id !== leader)!;
    await c.run(c.node(leader).transferLeadership(target));
    expect(c.leader()).toBe(target);
    expect(await c.run(c.node(target).propose(text('b')))).toBe(2);
  });

  test('to a slow follower: the leader catches it up first, then hands over', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const slow = c.ids.find((id) => id !== leader)!;
    c.network.isolate([slow], c.ids);
    await c.run(Promise.all(Array.from({ length: 20 }, (_, i) => c.node(leader).propose(text(`x${i}`)))));
    c.network.heal();
    await c.run(c.node(leader).transferLeadership(slow));
    expect(c.leader()).toBe(slow);
    expect(c.entry(slow).machine.items).toHaveLength(20);
  });

  test('proposals are refused while a transfer is in flight', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const target = c.ids.find((id) => id !== leader)!;
    c.network.isolate([target], c.ids);
    const transfer = c.node(leader).transferLeadership(target);
    transfer.catch(() => undefined);
    await expect(c.run(c.node(leader).propose(text('during')))).rejects.toBeInstanceOf(ProposalDroppedError);
  });

  test('a transfer to an unreachable target fails with TransferFailedError after an election timeout; the leader stays', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const target = c.ids.find((id) => id !== leader)!;
    c.network.isolate([target], c.ids);
    const outcome = await c.run(c.node(leader).transferLeadership(target)).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(TransferFailedError);
    expect(c.node(leader).status().role).toBe('leader');
    await c.advance(TICK_MS);
    expect(await c.run(c.node(leader).propose(text('after')))).toBe(1);
  });

  test('bad input: unknown target, or a follower asked to transfer', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    await expect(c.run(c.node(leader).transferLeadership('n9'))).rejects.toThrow(InvalidArgumentError);
    await expect(c.run(c.node(follower).transferLeadership(leader))).rejects.toThrow(NotLeaderError);
  });
});
