/**
 * The rebalancer's decisions for one local replica, against a fake host and a
 * replica that reports a given status: what it drops, adds and removes.
 */
import { describe, expect, test } from 'vitest';
import type { KvResult } from '../../src/kv/commands.js';
import { Rebalancer } from '../../src/kv/rebalancer.js';
import type { RebalancerHost } from '../../src/kv/rebalancer.js';
import { ShardMap } from '../../src/kv/shard-map.js';
import type { NodeStatus } from '../../src/node/node-status.js';
import type { RaftNode } from '../../src/node/raft-node.js';

const SHARD = 'shard-0';

function statusOf(fields: Partial<NodeStatus>): NodeStatus {
  return {
    id: 'h1', role: 'follower', term: 3, leader: 'h2', commitIndex: 10, appliedIndex: 10, members: ['h1', 'h2', 'h3'], learners: [], joint: null,
    configIndex: 8, removed: false, removedByNotice: false, progress: new Map(), ...fields,
  } as NodeStatus;
}

/** A host holding one replica of shard-0 with `status`; records what the rebalancer asks of it. */
function fakeHost(status: NodeStatus, hosts: readonly string[]) {
  const calls: string[] = [];
  const node = {
    status: () => status,
    addVoter: (id: string) => {
      calls.push(`addVoter ${id}`);
      return Promise.resolve();
    },
    removeMember: (id: string) => {
      calls.push(`removeMember ${id}`);
      return Promise.resolve();
    },
  } as unknown as RaftNode<KvResult>;
  const held = new Set([SHARD]);
  const host: RebalancerHost = {
    hostId: 'h1',
    map: () => new ShardMap({ shards: 1, replicas: 3, hosts }),
    replica: (shard) => (held.has(shard) ? node : undefined),
    localShards: () => [...held],
    raftAddress: (id) => `${id}:7000`,
    dropReplica: (shard) => {
      calls.push(`drop ${shard}`);
      held.delete(shard);
      return Promise.resolve(true);
    },
    log: () => undefined,
  };
  return { host, calls };
}

describe('Rebalancer', () => {
  test('drops a replica that applied its removal', async () => {
    const { host, calls } = fakeHost(statusOf({ removed: true, members: ['h2', 'h3', 'h4'] }), ['h2', 'h3', 'h4']);
    await new Rebalancer(host).reconcile(1000);
    expect(calls).toEqual([`drop ${SHARD}`]);
  });

  test('regression: keeps a replica that reports removed while its own configuration still lists it (voter, learner, or outgoing voter)', async () => {
    // A replica added after an earlier change of its shard, reopened on a restart, replays that older configuration
    // (without itself) and reports `removed` although the configuration in force lists it (the simulator's rebalance
    // worlds, seed 1): dropping it would delete a voter's log.
    const { host, calls } = fakeHost(statusOf({ removed: true, members: ['h1', 'h2', 'h3'] }), ['h1', 'h2', 'h3']);
    await new Rebalancer(host).reconcile(1000);
    expect(calls).toEqual([]);
    // A removed replica not dropped yet when its host rejoined the layout, added back as a learner.
    const learner = fakeHost(statusOf({ removed: true, members: ['h2', 'h3'], learners: ['h1'] }), ['h1', 'h2', 'h3']);
    await new Rebalancer(learner.host).reconcile(1000);
    expect(learner.calls).toEqual([]);
    const joint = fakeHost(statusOf({ removed: true, members: ['h2', 'h3', 'h4'], joint: { outgoingVoters: ['h1', 'h2', 'h3'] } as NodeStatus['joint'] }), ['h2', 'h3', 'h4']);
    await new Rebalancer(joint.host).reconcile(1000);
    expect(joint.calls).toEqual([]);
  });

  test('drops a replica told it was removed although its own (stale) configuration lists it, once the layout does not place it here', async () => {
    const { host, calls } = fakeHost(statusOf({ removed: true, removedByNotice: true, members: ['h1', 'h2', 'h3'] }), ['h2', 'h3', 'h4']);
    await new Rebalancer(host).reconcile(1000);
    expect(calls).toEqual([`drop ${SHARD}`]);
  });

  test('keeps a removed replica whose host the layout places it on again: the leader adds it back and it catches up from its log', async () => {
    const applied = fakeHost(statusOf({ removed: true, members: ['h2', 'h3'] }), ['h1', 'h2', 'h3']);
    const told = fakeHost(statusOf({ removed: true, removedByNotice: true }), ['h1', 'h2', 'h3']);
    await new Rebalancer(applied.host).reconcile(1000);
    await new Rebalancer(told.host).reconcile(1000);
    expect(applied.calls).toEqual([]);
    expect(told.calls).toEqual([]);
  });

  test('a drop the host refuses is counted, not taken for done, and tried again on the next pass', async () => {
    const { host, calls } = fakeHost(statusOf({ removed: true, members: ['h2', 'h3', 'h4'] }), ['h2', 'h3', 'h4']);
    const refusing: RebalancerHost = { ...host, dropReplica: (shard) => host.dropReplica(shard).then(() => false) };
    const rebalancer = new Rebalancer(refusing);
    const converged = await rebalancer.reconcile(1000);
    expect(converged).toBe(false);
    expect(calls).toEqual([`drop ${SHARD}`]);
    expect(rebalancer.stats()).toMatchObject({ dropped: 0, dropsRefused: 1 });
  });

  test('on the leader: adds a missing replica before it removes a leaving one, one change per pass', async () => {
    const layout = ['h1', 'h2', 'h4'];
    const { host, calls } = fakeHost(statusOf({ role: 'leader', leader: 'h1' }), layout);
    expect(new ShardMap({ shards: 1, replicas: 3, hosts: layout }).placement(SHARD)).toEqual(layout);
    const rebalancer = new Rebalancer(host);
    expect(await rebalancer.reconcile(1000)).toBe(false);
    expect(calls).toEqual(['addVoter h4']);
    expect(rebalancer.stats()).toMatchObject({ added: 1, removed: 0, converged: false });
  });
});
