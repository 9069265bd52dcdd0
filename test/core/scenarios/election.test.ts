/**
 * Leader election (§5.2 of the Raft paper) and the election restriction
 * (§5.4.1), without PreVote or CheckQuorum unless a scenario says otherwise:
 * those are covered in prevote.test.ts and check-quorum.test.ts.
 */
import { describe, expect, it, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { between, deliverWhere, processAll, scenarioCluster, settle, tickUntil } from '../../support/scenario-cluster.js';
import { entries, storageWith, terms } from '../../support/scenario-log-builder.js';
import type { StoredState } from '../../support/scenario-log-builder.js';
import {
  NodeHarness,
  appendEntries,
  appendResponse,
  heartbeat,
  heartbeatResponse,
  ofType,
  voteRequest,
  voteResponse,
} from '../../support/scenario-node.js';

const PAPER_RAFT = { preVote: false, checkQuorum: false } as const;

test('§5.2: nodes start as followers, with no leader, whether new or restarted', () => {
  const fresh = new CoreCluster();
  const restarted = new NodeHarness({ storage: storageWith({ log: terms(1, 2), term: 4, vote: 'n1' }) });

  for (const id of fresh.ids) expect(fresh.raw(id).status()).toMatchObject({ role: 'follower', term: 0, leader: null, vote: null });
  expect(restarted.raw.status()).toMatchObject({ role: 'follower', term: 4, leader: null, vote: 'n1' });
});

describe('§5.1: a node that sees a higher term in any message adopts it and becomes follower', () => {
  const higher = 3;
  const cases: { name: string; message: Message; leader: string | null }[] = [
    { name: 'appendEntries', message: appendEntries({ from: 'n2', to: 'n1', term: higher }), leader: 'n2' },
    { name: 'heartbeat', message: heartbeat({ from: 'n2', to: 'n1', term: higher }), leader: 'n2' },
    { name: 'appendEntriesResponse', message: appendResponse({ from: 'n2', to: 'n1', term: higher, success: false }), leader: null },
    { name: 'heartbeatResponse', message: heartbeatResponse({ from: 'n2', to: 'n1', term: higher }), leader: null },
    { name: 'requestVote', message: voteRequest({ from: 'n2', to: 'n1', term: higher, lastLogIndex: 0 }), leader: null },
    { name: 'requestVoteResponse (rejection)', message: voteResponse({ from: 'n2', to: 'n1', term: higher, granted: false }), leader: null },
    { name: 'readIndex', message: { type: 'readIndex', from: 'n2', to: 'n1', term: higher, requestId: 'r' }, leader: null },
    { name: 'readIndexResponse', message: { type: 'readIndexResponse', from: 'n2', to: 'n1', term: higher, requestId: 'r', index: 0 }, leader: null },
  ];

  /** n1 in each role at term 1 or 2 (below `higher`). */
  const roles = {
    follower: (): NodeHarness => new NodeHarness(PAPER_RAFT),
    candidate: (): NodeHarness => {
      const node = new NodeHarness(PAPER_RAFT);
      node.raw.campaign();
      return node;
    },
    leader: (): NodeHarness => {
      const node = new NodeHarness(PAPER_RAFT);
      node.becomeLeader();
      return node;
    },
  };

  for (const [role, make] of Object.entries(roles)) {
    it.each(cases)(`${role} receiving $name of a higher term`, ({ message, leader }) => {
      const node = make();
      expect(node.raw.status().role).toBe(role);

      node.step(message);

      expect(node.raw.status()).toMatchObject({ role: 'follower', term: higher, leader });
    });
  }

  it('except a pre-vote request: it asks about a future term and changes nothing', () => {
    // Without CheckQuorum there is no leader lease: the request is answered on its merits.
    const node = new NodeHarness({ id: 'n1', checkQuorum: false });
    node.step(heartbeat({ from: 'n2', to: 'n1', term: 1 }));

    node.step(voteRequest({ from: 'n3', to: 'n1', term: 2, preVote: true }));

    expect(node.raw.status()).toMatchObject({ term: 1, vote: null });
    expect(ofType(node.flush(), 'requestVoteResponse')).toEqual([expect.objectContaining({ preVote: true, granted: true, term: 2 })]);
  });

  it('except a granted pre-vote: it echoes the term the pre-candidate would campaign in', () => {
    const node = new NodeHarness({ id: 'n1' });
    node.raw.campaign();

    node.step(voteResponse({ from: 'n2', to: 'n1', term: 1, preVote: true, granted: true }));

    expect(node.raw.status()).toMatchObject({ role: 'candidate', term: 1, vote: 'n1' });
  });
});

describe('§5.1: messages of a stale term change nothing; requests are answered with the current term', () => {
  /** n1 following n2 in term 3. */
  function followerAtTerm3(options: { preVote: boolean; checkQuorum: boolean } = PAPER_RAFT): NodeHarness {
    const node = new NodeHarness({ ...options, storage: storageWith({ log: terms(1, 2, 3), term: 3 }) });
    node.step(heartbeat({ from: 'n2', to: 'n1', term: 3 }));
    node.flush();
    return node;
  }

  const staleResponses: Message[] = [
    voteResponse({ from: 'n3', to: 'n1', term: 2, granted: true }),
    appendResponse({ from: 'n3', to: 'n1', term: 2, index: 3 }),
    { type: 'readIndexResponse', from: 'n3', to: 'n1', term: 2, requestId: 'r', index: 3 },
  ];

  it.each(staleResponses.map((message) => ({ type: message.type, message })))('$type of term 2 at term 3 changes nothing and is not answered', ({ message }) => {
    const node = followerAtTerm3();
    const before = node.raw.status();

    node.step(message);

    expect(node.raw.status()).toEqual(before);
    expect(node.flush()).toEqual([]);
  });

  it.each([
    { sender: 'n3', where: 'a voter of our configuration' },
    { sender: 'n9', where: 'outside our configuration' },
  ])('a stale leader or candidate ($where) is answered with the current term and changes nothing', ({ sender }) => {
    // Figure 2: replies carry currentTerm. After a configuration change nodes may disagree on who votes, and a node's own
    // campaigns may be ignored as coming from outside the configuration: an answer is the one way its term reaches a stale leader.
    const node = followerAtTerm3();
    const before = node.raw.status();

    node.step(appendEntries({ from: sender, to: 'n1', term: 2, prevLogIndex: 3, prevLogTerm: 3, entries: [], leaderCommit: 3 }));
    node.step(heartbeat({ from: sender, to: 'n1', term: 2, commit: 3 }));
    node.step(voteRequest({ from: sender, to: 'n1', term: 2, lastLogIndex: 9, lastLogTerm: 9 }));

    expect(node.raw.status()).toEqual(before);
    expect(node.flush()).toEqual([
      expect.objectContaining({ type: 'appendEntriesResponse', to: sender, term: 3, success: false }),
      expect.objectContaining({ type: 'appendEntriesResponse', to: sender, term: 3, success: false }),
      expect.objectContaining({ type: 'requestVoteResponse', to: sender, term: 3, granted: false }),
    ]);
  });

  it('a node that never campaigns (a learner) answers a stale leader with its term: no campaign of its own would tell it', () => {
    // keel sim --core seeds 1943 and 3288 stalled until nodes that do not campaign answered stale leaders.
    const node = new NodeHarness({ ...PAPER_RAFT, voters: ['n2', 'n3'], learners: ['n1'], storage: storageWith({ log: terms(1, 2, 3), term: 3 }) });

    node.step(heartbeat({ from: 'n2', to: 'n1', term: 2 }));

    expect(node.flush()).toEqual([expect.objectContaining({ type: 'appendEntriesResponse', to: 'n2', term: 3, success: false })]);
  });

  it.each([
    { options: { preVote: false, checkQuorum: true } },
    { options: { preVote: true, checkQuorum: false } },
  ])('with $options, a stale leader’s AppendEntries or heartbeat is answered with the current term so that leader steps down', ({ options }) => {
    const node = followerAtTerm3(options);

    node.step(heartbeat({ from: 'n3', to: 'n1', term: 2 }));
    node.step(appendEntries({ from: 'n3', to: 'n1', term: 2 }));

    expect(node.raw.status()).toMatchObject({ term: 3, leader: 'n2', lastIndex: 3 });
    expect(ofType(node.flush(), 'appendEntriesResponse')).toEqual([
      expect.objectContaining({ to: 'n3', term: 3, success: false }),
      expect.objectContaining({ to: 'n3', term: 3, success: false }),
    ]);
  });

  it('a stale pre-vote is rejected with the current term, so the pre-candidate learns it (etcd#8243)', () => {
    const node = followerAtTerm3({ preVote: true, checkQuorum: false });

    node.step(voteRequest({ from: 'n3', to: 'n1', term: 2, preVote: true, lastLogIndex: 9, lastLogTerm: 9 }));

    expect(ofType(node.flush(), 'requestVoteResponse')).toEqual([expect.objectContaining({ to: 'n3', term: 3, preVote: true, granted: false })]);
  });

  it('a stale leader that receives the higher term steps down', () => {
    const oldLeader = new NodeHarness(PAPER_RAFT);
    oldLeader.becomeLeader();

    oldLeader.step(appendResponse({ from: 'n2', to: 'n1', term: 5, success: false }));

    expect(oldLeader.raw.status()).toMatchObject({ role: 'follower', term: 5, leader: null });
  });
});

describe('§5.2: an election in one round is won, lost or split', () => {
  test('§5.2: a candidate that gathers votes from a majority becomes leader', () => {
    const cluster = new CoreCluster({ raft: PAPER_RAFT });

    cluster.campaign('n1');
    settle(cluster);

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'leader', term: 1, leader: 'n1' });
    for (const id of ['n2', 'n3']) expect(cluster.raw(id).status()).toMatchObject({ role: 'follower', term: 1, vote: 'n1', leader: 'n1' });
  });

  test('§5.2: a candidate that a majority refuses returns to follower', () => {
    const stored: Record<string, StoredState> = {
      n1: { log: terms(1), term: 1 },
      n2: { log: terms(1, 1), term: 1 },
      n3: { log: terms(1, 1), term: 1 },
    };
    const cluster = scenarioCluster({ raft: PAPER_RAFT, stored });

    cluster.campaign('n1');
    settle(cluster);

    expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', term: 2, leader: null });
    expect(cluster.leader()).toBeNull();
  });

  test('§5.2: a split vote elects nobody in its term; a later election with fresh randomized timeouts does', () => {
    const cluster = new CoreCluster({ ids: ['n1', 'n2', 'n3', 'n4'], raft: PAPER_RAFT, seed: 3 });
    cluster.campaign('n1');
    cluster.campaign('n2');
    processAll(cluster);

    // n3 hears n1 first and n4 hears n2 first: each candidate holds 2 of 4 votes.
    deliverWhere(cluster, (m) => between('n1', 'n3')(m) || between('n2', 'n4')(m));
    settle(cluster);

    expect(cluster.leader()).toBeNull();
    for (const id of cluster.ids) expect(cluster.raw(id).status().term).toBe(1);
    tickUntil(cluster, () => cluster.leader() !== null);
    expect(cluster.raw(cluster.leader()!).status().term).toBeGreaterThanOrEqual(2);
  });
});

test('§5.2: each node grants at most one vote per term, first come first served', () => {
  const voter = new NodeHarness({ id: 'n3', ...PAPER_RAFT });

  voter.step(voteRequest({ from: 'n1', to: 'n3', term: 1 }));
  voter.step(voteRequest({ from: 'n2', to: 'n3', term: 1 }));
  voter.step(voteRequest({ from: 'n1', to: 'n3', term: 1 }));

  expect(ofType(voter.flush(), 'requestVoteResponse').map((r) => [r.to, r.granted])).toEqual([
    ['n1', true],
    ['n2', false],
    ['n1', true],
  ]);
  expect(voter.raw.status()).toMatchObject({ term: 1, vote: 'n1' });
});

describe('§5.2: a candidate that hears from a leader of its term or a later one returns to follower', () => {
  it.each([
    { name: 'an AppendEntries of its own term', message: appendEntries({ from: 'n2', to: 'n1', term: 1 }), term: 1 },
    { name: 'a heartbeat of its own term', message: heartbeat({ from: 'n2', to: 'n1', term: 1 }), term: 1 },
    { name: 'an AppendEntries of a higher term', message: appendEntries({ from: 'n2', to: 'n1', term: 4 }), term: 4 },
  ])('$name', ({ message, term }) => {
    const candidate = new NodeHarness(PAPER_RAFT);
    candidate.raw.campaign();

    candidate.step(message);

    expect(candidate.raw.status()).toMatchObject({ role: 'follower', term, leader: 'n2' });
  });

  it('but not on an AppendEntries of a lower term', () => {
    const candidate = new NodeHarness({ ...PAPER_RAFT, storage: storageWith({ log: terms(1), term: 2 }) });
    candidate.raw.campaign();

    candidate.step(appendEntries({ from: 'n2', to: 'n1', term: 2 }));

    expect(candidate.raw.status()).toMatchObject({ role: 'candidate', term: 3 });
  });

  it('a pre-candidate also stands down for a leader of its term', () => {
    const preCandidate = new NodeHarness({ preVote: true });
    preCandidate.raw.campaign();
    expect(preCandidate.raw.status().role).toBe('preCandidate');

    preCandidate.step(heartbeat({ from: 'n2', to: 'n1', term: 0 }));

    expect(preCandidate.raw.status()).toMatchObject({ role: 'follower', term: 0, leader: 'n2' });
  });
});

describe('§5.4.1: a vote is denied to a candidate whose log is less up to date', () => {
  // The voter's log ends with index 3, term 2.
  it.each([
    { lastLogIndex: 3, lastLogTerm: 2, granted: true, why: 'same last entry' },
    { lastLogIndex: 4, lastLogTerm: 2, granted: true, why: 'same last term, longer' },
    { lastLogIndex: 1, lastLogTerm: 3, granted: true, why: 'higher last term, shorter' },
    { lastLogIndex: 2, lastLogTerm: 2, granted: false, why: 'same last term, shorter' },
    { lastLogIndex: 9, lastLogTerm: 1, granted: false, why: 'lower last term, longer' },
    { lastLogIndex: 0, lastLogTerm: 0, granted: false, why: 'empty log' },
  ])('candidate log ending ($lastLogIndex, $lastLogTerm): granted $granted ($why)', ({ lastLogIndex, lastLogTerm, granted }) => {
    const voter = new NodeHarness({ id: 'n3', ...PAPER_RAFT, storage: storageWith({ log: terms(1, 1, 2), term: 2 }) });

    voter.step(voteRequest({ from: 'n1', to: 'n3', term: 3, lastLogIndex, lastLogTerm }));

    expect(ofType(voter.flush(), 'requestVoteResponse')).toEqual([expect.objectContaining({ granted, term: 3 })]);
    expect(voter.raw.status().vote).toBe(granted ? 'n1' : null);
  });

  test('§5.4.1: in a cluster, only a node with an up-to-date log can be elected', () => {
    const stored: Record<string, StoredState> = {
      n1: { log: terms(1, 1), term: 1 },
      n2: { log: terms(1, 1, 1), term: 1 },
      n3: { log: terms(1, 1, 1), term: 1 },
    };
    const cluster = scenarioCluster({ raft: PAPER_RAFT, stored });

    cluster.campaign('n1');
    settle(cluster);
    expect(cluster.leader()).toBeNull();
    cluster.campaign('n2');
    settle(cluster);

    expect(cluster.leader()).toBe('n2');
  });
});

test('§5.3: a follower that accepted entries from a leader does not vote for another candidate in that term', () => {
  const follower = new NodeHarness({ id: 'n3', ...PAPER_RAFT });
  follower.step(appendEntries({ from: 'n1', to: 'n3', term: 1, entries: entries(terms(1)) }));

  follower.step(voteRequest({ from: 'n2', to: 'n3', term: 1, lastLogIndex: 5, lastLogTerm: 1 }));

  expect(ofType(follower.flush(), 'requestVoteResponse')).toEqual([expect.objectContaining({ granted: false })]);
});
