/**
 * PreVote (Raft dissertation §9.6): a node first asks whether it could win,
 * without raising its term, so a node that cannot win never disrupts the
 * cluster. The liveness bug it must not introduce: a pre-candidate with a
 * smaller term deadlocking the cluster (etcd#8243, raft-rs PR #42, openraft#1796).
 */
import { describe, expect, test } from 'vitest';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { between, electNode, logOf, scenarioCluster, settle, tickUntil } from '../../support/scenario-cluster.js';
import { terms } from '../../support/scenario-log-builder.js';

/** Ticks every node `count` times, settling after each tick. */
function tickFor(cluster: CoreCluster, count: number): void {
  for (let i = 0; i < count; i++) {
    cluster.tickAll();
    settle(cluster);
  }
}

describe('§9.6 PreVote: a rejoining partitioned follower does not disrupt a healthy leader', () => {
  test('§9.6: with PreVote, the partitioned follower’s term does not rise and the leader keeps its term after it rejoins', () => {
    const cluster = new CoreCluster({ raft: { preVote: true, checkQuorum: false } });
    electNode(cluster, 'n1');
    cluster.isolate(['n3']);

    tickFor(cluster, 60);
    expect(cluster.raw('n3').status().term).toBe(1);
    cluster.heal();
    tickFor(cluster, 30);

    expect(cluster.leader()).toBe('n1');
    for (const id of cluster.ids) expect(cluster.raw(id).status()).toMatchObject({ term: 1, leader: 'n1' });
  });

  test('§9.6 (control): without PreVote, the same rejoining follower’s term rises and it deposes the leader', () => {
    const cluster = new CoreCluster({ raft: { preVote: false, checkQuorum: false } });
    electNode(cluster, 'n1');
    cluster.isolate(['n3']);

    tickFor(cluster, 60);
    const isolatedTerm = cluster.raw('n3').status().term;
    expect(isolatedTerm).toBeGreaterThan(1);
    cluster.heal();
    tickUntil(cluster, () => cluster.raw('n1').status().term >= isolatedTerm);

    expect(cluster.raw('n1').status().term).toBeGreaterThanOrEqual(isolatedTerm);
  });

  test('§9.6: with PreVote and a longer log on the leader’s side, the rejoining node catches up instead of campaigning', () => {
    const cluster = new CoreCluster({ raft: { preVote: true, checkQuorum: true } });
    electNode(cluster, 'n1');
    cluster.isolate(['n3']);
    cluster.propose('n1', new Uint8Array([1]));
    settle(cluster);
    tickFor(cluster, 40);

    cluster.heal();
    tickFor(cluster, 5);

    expect(cluster.raw('n3').status()).toMatchObject({ role: 'follower', term: 1, leader: 'n1' });
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });
});

test('§9.6: a pre-candidate refused by a majority returns to follower without raising its term', () => {
  const cluster = scenarioCluster({
    raft: { preVote: true, checkQuorum: false },
    stored: { n1: { log: terms(1), term: 1 }, n2: { log: terms(1, 1), term: 1 }, n3: { log: terms(1, 1), term: 1 } },
  });

  cluster.campaign('n1');
  settle(cluster);

  expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', term: 1 });
  for (const id of ['n2', 'n3']) expect(cluster.raw(id).status().term).toBe(1);
});

describe('dueling candidates converge', () => {
  /** etcd's TestDuelingCandidates / TestDuelingPreCandidates: n1 and n3 cannot talk; both campaign. */
  function duel(preVote: boolean): CoreCluster {
    const cluster = new CoreCluster({ raft: { preVote, checkQuorum: false } });
    const n1n3 = (m: { from: string; to: string }): boolean => between('n1', 'n3')(m) || between('n3', 'n1')(m);
    cluster.campaign('n1');
    settle(cluster, { drop: n1n3 });
    cluster.campaign('n3');
    settle(cluster, { drop: n1n3 });
    // n1 won with n2's vote; n3 did not: n2 already voted (or holds n1's no-op), and n1's answer is lost.
    expect(cluster.leader()).toBe('n1');
    expect(cluster.raw('n3').status().role).not.toBe('leader');
    return cluster;
  }

  test('§5.2 dueling candidates: the losing candidate’s higher term disrupts the leader once, then the cluster converges', () => {
    const cluster = duel(false);

    cluster.campaign('n3');
    settle(cluster);
    // n3's request of a higher term deposed n1, but nobody votes for n3's shorter log.
    const disruptedTerm = cluster.raw('n3').status().term;
    expect(disruptedTerm).toBe(2);
    expect(cluster.leader()).toBeNull();
    expect(cluster.ids.map((id) => cluster.raw(id).status().term)).toEqual([2, 2, 2]);
    tickUntil(cluster, () => cluster.leader() !== null);

    expect(cluster.leader()).not.toBe('n3');
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, cluster.leader()!));
  });

  test('§9.6 dueling pre-candidates: the losing pre-candidate cannot disturb the leader; the cluster converges in term 1', () => {
    const cluster = duel(true);

    cluster.campaign('n3');
    settle(cluster);
    tickFor(cluster, 3);

    expect(cluster.leader()).toBe('n1');
    expect(cluster.ids.map((id) => cluster.raw(id).status().term)).toEqual([1, 1, 1]);
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });

  test('§9.6: two pre-candidates campaigning at the same moment end with exactly one leader', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const cluster = new CoreCluster({ seed, raft: { preVote: true, checkQuorum: true } });
      cluster.campaign('n1');
      cluster.campaign('n2');
      settle(cluster);

      tickUntil(cluster, () => cluster.leader() !== null);

      const leaders = cluster.ids.filter((id) => cluster.raw(id).status().role === 'leader');
      expect(leaders, `seed ${seed}`).toHaveLength(1);
    }
  });
});

test('§9.6 PreVote liveness (etcd#8243): a node with a smaller term can still take part in and complete an election', () => {
  // etcd's TestNodeWithSmallerTermCanCompleteElection.
  const cluster = new CoreCluster({ raft: { preVote: true, checkQuorum: false } });
  const cutN3 = (m: { from: string; to: string }): boolean => m.from === 'n3' || m.to === 'n3';
  electNode(cluster, 'n1', { drop: cutN3 });
  cluster.campaign('n3');
  settle(cluster, { drop: cutN3 });
  electNode(cluster, 'n2', { drop: cutN3 });
  expect(cluster.ids.map((id) => cluster.raw(id).status().term)).toEqual([2, 2, 0]);
  expect(cluster.raw('n3').status().role).toBe('preCandidate');

  // The network recovers and n2, the leader, is cut off at once (as if it crashed).
  const cutN2 = (m: { from: string; to: string }): boolean => m.from === 'n2' || m.to === 'n2';
  cluster.campaign('n3');
  settle(cluster, { drop: cutN2 });
  cluster.campaign('n1');
  settle(cluster, { drop: cutN2 });

  const leader = cluster.leader();
  expect(leader === 'n1' || leader === 'n3').toBe(true);
  expect(cluster.raw('n3').status().term).toBe(cluster.raw('n1').status().term);
});
