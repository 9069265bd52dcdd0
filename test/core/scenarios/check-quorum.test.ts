/**
 * CheckQuorum (Raft dissertation §6.2 and §9.6): a leader that has not heard
 * from a quorum within an election timeout steps down, and a follower that
 * heard from a leader within the election timeout ignores vote requests (the
 * leader lease), so partial connectivity cannot make leadership churn
 * (etcd#8499, the 2020 Cloudflare outage).
 */
import { describe, expect, test } from 'vitest';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { electNode, logOf, settle, tickUntil } from '../../support/scenario-cluster.js';

const ELECTION_TICKS = 10;

function tickFor(cluster: CoreCluster, count: number): void {
  for (let i = 0; i < count; i++) {
    cluster.tickAll();
    settle(cluster);
  }
}

describe('§6.2 CheckQuorum: a leader that loses its quorum steps down', () => {
  test('§6.2: an isolated leader becomes follower within two election timeouts', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: true, electionTicks: ELECTION_TICKS } });
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);

    const ticks = tickUntil(cluster, () => cluster.raw('n1').status().role !== 'leader', 3 * ELECTION_TICKS);

    // The check runs once per election timeout over the answers seen since the previous check;
    // the followers answered the no-op just before the partition, so the first check still passes.
    expect(ticks).toBeGreaterThan(ELECTION_TICKS);
    expect(ticks).toBeLessThanOrEqual(2 * ELECTION_TICKS);
    expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', term: 1, leader: null });
  });

  test('§6.2: a leader that still hears from a quorum stays leader', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: true, electionTicks: ELECTION_TICKS } });
    electNode(cluster, 'n1');
    cluster.isolate(['n3']);

    tickFor(cluster, 5 * ELECTION_TICKS);

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1 });
  });

  test('§6.2 (control): without CheckQuorum, the isolated leader stays leader indefinitely', () => {
    const cluster = new CoreCluster({ raft: { checkQuorum: false, electionTicks: ELECTION_TICKS } });
    electNode(cluster, 'n1');
    cluster.isolate(['n1']);

    tickFor(cluster, 5 * ELECTION_TICKS);

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1 });
  });
});

test('§9.6 leader lease: followers that hear from their leader ignore a disruptive candidate’s vote requests', () => {
  const cluster = new CoreCluster({ raft: { checkQuorum: true, preVote: false, electionTicks: ELECTION_TICKS } });
  electNode(cluster, 'n1');

  cluster.campaign('n3');
  settle(cluster);

  expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1 });
  expect(cluster.raw('n2').status()).toMatchObject({ term: 1, leader: 'n1' });
  expect(cluster.raw('n3').status()).toMatchObject({ role: 'candidate', term: 2 });
});

test('§9.6 CheckQuorum: a stuck candidate with a higher term is freed once it can talk to the leader again', () => {
  // etcd's TestFreeStuckCandidateWithCheckQuorum: without PreVote, an isolated node raises its term;
  // the lease makes everyone ignore its votes, so the leader must learn that term from it and step down.
  const cluster = new CoreCluster({ raft: { checkQuorum: true, preVote: false, electionTicks: ELECTION_TICKS } });
  electNode(cluster, 'n1');
  cluster.isolate(['n3']);
  cluster.campaign('n3');
  settle(cluster);
  cluster.campaign('n3');
  settle(cluster);
  expect(cluster.raw('n3').status()).toMatchObject({ role: 'candidate', term: 3 });

  cluster.heal();
  tickUntil(cluster, () => {
    const leader = cluster.leader();
    return leader !== null && cluster.ids.every((id) => cluster.raw(id).status().leader === leader);
  });

  const leader = cluster.leader()!;
  expect(cluster.raw(leader).status().term).toBeGreaterThanOrEqual(3);
  for (const id of cluster.ids) expect(cluster.raw(id).status().term).toBe(cluster.raw(leader).status().term);
  expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, leader));
});

test('§9.6: with PreVote and CheckQuorum, a node cut off from the leader only cannot cause leadership churn', () => {
  // Partial connectivity (etcd#8499): n3 cannot reach n1 but can reach n2.
  const cluster = new CoreCluster({ raft: { checkQuorum: true, preVote: true, electionTicks: ELECTION_TICKS } });
  electNode(cluster, 'n1');
  const cut = (m: { from: string; to: string }): boolean => (m.from === 'n1' && m.to === 'n3') || (m.from === 'n3' && m.to === 'n1');

  for (let i = 0; i < 10 * ELECTION_TICKS; i++) {
    cluster.tickAll();
    settle(cluster, { drop: cut });
  }

  expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1 });
  expect(cluster.raw('n2').status()).toMatchObject({ term: 1, leader: 'n1' });
  expect(cluster.raw('n3').status().term).toBe(1);
});
