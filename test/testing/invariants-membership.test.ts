/**
 * The safety checker's configuration-change invariants catch what they are
 * meant to catch: each test feeds hand-made observations of a broken history.
 */
import { describe, expect, it } from 'vitest';
import type { Index, Membership, NodeId, Term } from '../../src/core/types.js';
import { SafetyChecker, SafetyViolation } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';

interface Shape {
  id: NodeId;
  role?: NodeObservation['role'];
  term: Term;
  vote?: NodeId | null;
  commit?: Index;
  /** Terms of the log from index 1. */
  log: Term[];
  membership: Membership;
  configIndexes?: Index[];
  match?: Record<NodeId, Index>;
}

function observation(shape: Shape): NodeObservation {
  const vote = shape.vote ?? null;
  return {
    id: shape.id,
    role: shape.role ?? 'follower',
    term: shape.term,
    vote,
    durableTerm: shape.term,
    durableVote: vote,
    commitIndex: shape.commit ?? 0,
    appliedIndex: 0,
    firstIndex: 1,
    lastIndex: shape.log.length,
    termAt: (index) => (index === 0 ? 0 : shape.log[index - 1]),
    matchIndex: new Map(Object.entries(shape.match ?? {})),
    membership: shape.membership,
    configIndexes: shape.configIndexes ?? [],
  };
}

const joint: Membership = { voters: ['c', 'd', 'e'], learners: [], outgoingVoters: ['a', 'b', 'c'], autoLeave: true };

describe('SafetyChecker: configuration changes', () => {
  it('rejects a leader elected by a majority of the new voters only, while joint', () => {
    const checker = new SafetyChecker({ checkElectionVotes: true });
    // d and e voted for c in term 2: a majority of {c, d, e}, but only c of {a, b, c}.
    checker.observe(['d', 'e'].map((id) => observation({ id, term: 2, vote: 'c', log: [1], membership: joint })));

    expect(() => checker.observe([observation({ id: 'c', role: 'leader', term: 2, vote: 'c', log: [1, 2], membership: joint })])).toThrow(/Joint quorum/);
  });

  it('accepts a leader elected by a majority of both halves', () => {
    const checker = new SafetyChecker({ checkElectionVotes: true });
    checker.observe(['b', 'd'].map((id) => observation({ id, term: 2, vote: 'c', log: [1], membership: joint })));

    expect(() => checker.observe([observation({ id: 'c', role: 'leader', term: 2, vote: 'c', log: [1, 2], membership: joint })])).not.toThrow();
  });

  it('counts a voter whose vote was superseded by a later term before it became durable as a possible grant', () => {
    // keel sim --core --seed 543: n3 granted its term-5 vote, then adopted term 6 before persisting; the answer left after
    // (6, no vote) was durable, which is safe — n3 can never vote in term 5 again — so the vote is never seen durable.
    const plain: Membership = { voters: ['a', 'b', 'c'] };
    const checker = new SafetyChecker({ checkElectionVotes: true });
    checker.observe([observation({ id: 'b', term: 3, log: [1], membership: plain })]);

    expect(() => checker.observe([observation({ id: 'a', role: 'leader', term: 2, vote: 'a', log: [1, 2], membership: plain })])).not.toThrow();
  });

  it('forgets a leadership whose term never became durable when its node restarts (keel sim --core --seed 1914)', () => {
    const single: Membership = { voters: ['a'] };
    const checker = new SafetyChecker();
    // a, the only voter, won term 4 at once; the crash came before term 4 was durable.
    checker.observe([{ ...observation({ id: 'a', role: 'leader', term: 4, vote: 'a', log: [3, 4], membership: single }), durableTerm: 3, durableVote: 'a' }]);
    checker.recordRestart('a');

    const other = observation({ id: 'b', role: 'leader', term: 4, vote: 'b', log: [3, 4], membership: { voters: ['b'] } });

    expect(() => checker.observe([other])).not.toThrow();
    expect(() => checker.observe([{ ...other, id: 'c' }])).toThrow(/Election Safety/);
  });

  it("rejects two uncommitted config entries in a leader's log", () => {
    const checker = new SafetyChecker();
    const leader = observation({ id: 'a', role: 'leader', term: 1, vote: 'a', commit: 1, log: [1, 1, 1], membership: { voters: ['a'] }, configIndexes: [2, 3] });

    expect(() => checker.observe([leader])).toThrow(SafetyViolation);
    expect(() => checker.observe([leader])).toThrow(/2 uncommitted config entries/);
  });

  it('rejects a config entry appended before the leader committed an entry of its term (Ongaro 2015)', () => {
    const checker = new SafetyChecker();
    // Commit 1 is of term 1; the leader of term 2 appended a config entry at 3 without committing its no-op at 2.
    const leader = observation({ id: 'a', role: 'leader', term: 2, vote: 'a', commit: 1, log: [1, 2, 2], membership: { voters: ['a'] }, configIndexes: [3] });

    expect(() => checker.observe([leader])).toThrow(/before committing an entry of its term/);
  });

  it('rejects a commit advance that a majority of the outgoing half does not hold', () => {
    const checker = new SafetyChecker({ checkElectionVotes: true });
    const base = { id: 'c', role: 'leader' as const, term: 1, vote: 'c', log: [1, 1, 1], membership: joint };
    checker.observe(['b', 'd', 'e'].map((id) => observation({ id, term: 1, vote: 'c', log: [1], membership: joint })));
    checker.observe([observation({ ...base, commit: 1, match: { a: 1, b: 1, c: 1, d: 1, e: 1 } })]);

    const advanced = observation({ ...base, commit: 3, match: { a: 1, b: 1, c: 3, d: 3, e: 3 } });

    expect(() => checker.observe([advanced])).toThrow(/committed 3 held by only 1 of \[a,b,c\]/);
  });

  it('accepts a commit justified by the previous configuration when the next config entry was appended in the same event (keel sim --seed 1019 --faults partition,crash,churn)', () => {
    // The runtime proposes the promotion of d as soon as d's learner entry (3) commits: one observation shows
    // commit 3 (held by a, b of [a,b,c]) and the config entry 4 adding d (where 2 of [a,b,c,d] is no majority).
    const before: Membership = { voters: ['a', 'b', 'c'], learners: ['d'] };
    const after: Membership = { voters: ['a', 'b', 'c', 'd'] };
    const checker = new SafetyChecker();
    const base = { id: 'a', role: 'leader' as const, term: 1, vote: 'a' };
    checker.observe([observation({ ...base, commit: 2, log: [1, 1, 1], membership: before, configIndexes: [3], match: { a: 3, b: 2, c: 2, d: 0 } })]);

    const advanced = observation({ ...base, commit: 3, log: [1, 1, 1, 1], membership: after, configIndexes: [3, 4], match: { a: 4, b: 3, c: 2, d: 0 } });

    expect(() => checker.observe([advanced])).not.toThrow();
  });

  it('still rejects a commit that neither the previous nor the newly appended configuration justifies', () => {
    const before: Membership = { voters: ['a', 'b', 'c'], learners: ['d'] };
    const after: Membership = { voters: ['a', 'b', 'c', 'd'] };
    const checker = new SafetyChecker();
    const base = { id: 'a', role: 'leader' as const, term: 1, vote: 'a' };
    checker.observe([observation({ ...base, commit: 2, log: [1, 1, 1], membership: before, configIndexes: [3], match: { a: 3, b: 2, c: 2, d: 0 } })]);

    const advanced = observation({ ...base, commit: 3, log: [1, 1, 1, 1], membership: after, configIndexes: [3, 4], match: { a: 4, b: 2, c: 2, d: 0 } });

    expect(() => checker.observe([advanced])).toThrow(/committed 3 held by only 1 of \[a,b,c,d\]/);
  });
});
