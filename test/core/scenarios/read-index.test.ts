/**
 * Linearizable reads with ReadIndex (Raft dissertation §6.4). Bugs that
 * shipped: stale reads from a deposed leader, or from a new leader before its
 * no-op commits (Jepsen on etcd and Consul 2014; redisraft#18; etcd PR #14258).
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { deliverWhere, electNode, processAll, scenarioCluster, settle, tickUntil } from '../../support/scenario-cluster.js';
import { terms } from '../../support/scenario-log-builder.js';

test('§6.4: a new leader serves a read only after committing an entry of its term (its commit index may lag the cluster’s)', () => {
  // The previous leader committed entries 1 and 2 on n2 and n3; n1 has them but never learned they were committed.
  const cluster = scenarioCluster({
    stored: {
      n1: { log: terms(1, 1), term: 1, commit: 0 },
      n2: { log: terms(1, 1), term: 1, commit: 2 },
      n3: { log: terms(1, 1), term: 1, commit: 2 },
    },
  });
  const holdAppends = { hold: (m: Message): boolean => m.type === 'appendEntries' };
  cluster.campaign('n1');
  settle(cluster, holdAppends);
  expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', commitIndex: 0 });

  cluster.readIndex('n1', 'read-1');
  settle(cluster, holdAppends);
  expect(cluster.node('n1').readStates).toEqual([]);
  settle(cluster);

  expect(cluster.raw('n1').status().commitIndex).toBe(3);
  expect(cluster.node('n1').readStates).toEqual([{ requestId: 'read-1', index: 3 }]);
});

test('§6.4: a read is confirmed only after a quorum answers a heartbeat sent after the read arrived', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');

  cluster.readIndex('n1', 'read-1');
  settle(cluster, { drop: (m) => m.type === 'heartbeat' });
  expect(cluster.node('n1').readStates).toEqual([]);
  cluster.readIndex('n1', 'read-2');
  settle(cluster);

  expect(cluster.node('n1').readStates).toEqual([
    { requestId: 'read-1', index: 1 },
    { requestId: 'read-2', index: 1 },
  ]);
});

test('§6.4: an answer to a heartbeat sent before the read arrived does not confirm it', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  cluster.tick('n1');
  cluster.processReady('n1');
  const earlier = new Set<Message>(cluster.inFlight.map((f) => f.message).filter((m) => m.type === 'heartbeat'));
  expect(earlier.size).toBe(2);

  cluster.readIndex('n1', 'read-1');
  cluster.processReady('n1');
  deliverWhere(cluster, (m) => earlier.has(m));
  processAll(cluster);
  deliverWhere(cluster, (m) => m.type === 'heartbeatResponse');
  expect(cluster.node('n1').readStates).toEqual([]);
  settle(cluster);

  expect(cluster.node('n1').readStates).toEqual([{ requestId: 'read-1', index: 1 }]);
});

test('§6.4: in a five-node cluster, answers from the leader and one follower do not confirm a read; a third voter does', () => {
  const cluster = new CoreCluster({ ids: ['n1', 'n2', 'n3', 'n4', 'n5'], raft: { checkQuorum: false } });
  electNode(cluster, 'n1');
  const unreachable = new Set(['n3', 'n4', 'n5']);
  const rules = { drop: (m: Message): boolean => unreachable.has(m.to) || unreachable.has(m.from) };

  cluster.readIndex('n1', 'read-1');
  for (let i = 0; i < 5; i++) {
    cluster.tickAll();
    settle(cluster, rules);
  }
  expect(cluster.node('n1').readStates).toEqual([]);
  unreachable.delete('n5');
  cluster.tickAll();
  settle(cluster, rules);

  expect(cluster.node('n1').readStates).toEqual([{ requestId: 'read-1', index: 1 }]);
});

test('§6.4: a read index is the leader’s commit index when the read arrived', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  cluster.propose('n1', new Uint8Array([1]));
  settle(cluster);

  cluster.readIndex('n1', 'read-1');
  cluster.propose('n1', new Uint8Array([2]));
  settle(cluster);

  expect(cluster.node('n1').readStates).toEqual([{ requestId: 'read-1', index: 2 }]);
});

test('§6.4: a read on a follower goes through the leader and is answered with the leader’s commit index', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  cluster.propose('n1', new Uint8Array([1]));
  settle(cluster);

  cluster.readIndex('n2', 'follower-read');
  const delivered = settle(cluster);

  expect(delivered.filter((m) => m.type === 'readIndex').map((m) => [m.from, m.to])).toEqual([['n2', 'n1']]);
  expect(delivered.filter((m) => m.type === 'readIndexResponse').map((m) => [m.from, m.to])).toEqual([['n1', 'n2']]);
  expect(cluster.node('n2').readStates).toEqual([{ requestId: 'follower-read', index: 2 }]);
  expect(cluster.node('n1').readStates).toEqual([]);
});

describe('§6.4: a partitioned old leader can neither commit nor serve a linearizable read', () => {
  test('§6.4: the old leader (without CheckQuorum, so it keeps believing it leads) never confirms the read or commits', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: false } });
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);

    cluster.propose('n1', new Uint8Array([0xaa]));
    cluster.readIndex('n1', 'stale-read');
    tickUntil(cluster, () => ['n2', 'n3'].includes(cluster.leader() ?? ''));
    const newLeader = cluster.leader()!;
    cluster.propose(newLeader, new Uint8Array([0xbb]));
    settle(cluster);
    for (let i = 0; i < 30; i++) {
      cluster.tickAll();
      settle(cluster);
    }

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1, commitIndex: 1 });
    expect(cluster.node('n1').readStates).toEqual([]);
    cluster.heal();
    tickUntil(cluster, () => cluster.raw('n1').status().leader === newLeader && cluster.raw('n1').status().commitIndex === 3);
    expect(cluster.node('n1').readStates).toEqual([]);
    expect(cluster.node('n1').state.map((e) => Array.from(e.data))).toEqual([[], [], [0xbb]]);
  });

  test('§6.4: with CheckQuorum, the old leader steps down, and a read asked of it is refused', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: true } });
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);

    tickUntil(cluster, () => cluster.raw('n1').status().role !== 'leader');

    expect(() => cluster.readIndex('n1', 'stale-read')).toThrow(expect.objectContaining({ code: 'KEEL_NOT_LEADER' }));
  });
});

test('bounded: past maxPendingReadIndex the leader refuses its own read (ReadDroppedError) and drops a follower’s; confirmed reads free the places', () => {
  const cluster = new CoreCluster({ raft: { maxPendingReadIndex: 2 } });
  electNode(cluster, 'n1');
  cluster.readIndex('n1', 'r1');
  cluster.readIndex('n1', 'r2');
  expect(() => cluster.readIndex('n1', 'r3')).toThrow(expect.objectContaining({ code: 'KEEL_READ_DROPPED' }));
  // A follower's request past the bound is dropped unanswered: its read times out there.
  cluster.readIndex('n2', 'from-n2');
  settle(cluster);
  expect(cluster.node('n1').readStates.map((read) => read.requestId)).toEqual(['r1', 'r2']);
  expect(cluster.node('n2').readStates).toEqual([]);
  // Confirmed, the two reads left the queue: new ones are taken again.
  cluster.readIndex('n2', 'again-from-n2');
  settle(cluster);
  expect(cluster.node('n2').readStates.map((read) => read.requestId)).toEqual(['again-from-n2']);
});
