/**
 * The SafetyChecker catches each broken invariant it claims to check, from
 * hand-built observations; and accepts the histories of a healthy cluster.
 * (The simulator and the core cluster rely on it after every event.)
 */
import { describe, expect, test } from 'vitest';
import type { Entry, Index, NodeId, Role, Term } from '../../src/core/types.js';
import { SafetyChecker, SafetyViolation } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';

interface NodeSpec {
  readonly id: NodeId;
  readonly role?: Role;
  readonly term?: Term;
  readonly vote?: NodeId | null;
  readonly durableTerm?: Term;
  readonly durableVote?: NodeId | null;
  readonly commit?: Index;
  readonly applied?: Index;
  /** Terms of the log from `firstIndex` on. */
  readonly log: readonly Term[];
  readonly firstIndex?: Index;
  readonly match?: Readonly<Record<NodeId, Index>>;
}

function node(spec: NodeSpec): NodeObservation {
  const first = spec.firstIndex ?? 1;
  const term = spec.term ?? Math.max(0, ...spec.log);
  return {
    id: spec.id,
    role: spec.role ?? 'follower',
    term,
    vote: spec.vote ?? null,
    durableTerm: spec.durableTerm ?? term,
    durableVote: spec.durableVote ?? spec.vote ?? null,
    commitIndex: spec.commit ?? 0,
    appliedIndex: spec.applied ?? 0,
    firstIndex: first,
    lastIndex: first + spec.log.length - 1,
    termAt: (index) => spec.log[index - first],
    matchIndex: new Map(Object.entries(spec.match ?? {})),
    membership: { voters: ['a', 'b', 'c'] },
    configIndexes: [],
  };
}

const entry = (index: Index, term: Term, byte = index): Entry => ({ index, term, type: 'normal', data: new Uint8Array([byte]) });

function violation(run: () => void): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SafetyViolation) return error.invariant;
    throw error;
  }
  return 'none';
}

describe('SafetyChecker', () => {
  test('accepts a healthy cluster step after step', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', log: [1], commit: 0 }), node({ id: 'b', log: [] }), node({ id: 'c', log: [] })]);
    checker.observe([node({ id: 'a', role: 'leader', log: [1, 1], match: { a: 2, b: 1 } }), node({ id: 'b', log: [1] }), node({ id: 'c', log: [] })]);
    checker.recordApplied('a', entry(1, 1));
    checker.observe([node({ id: 'a', role: 'leader', log: [1, 1], commit: 1, applied: 1, match: { a: 2, b: 2 } }), node({ id: 'b', log: [1, 1], commit: 1 }), node({ id: 'c', log: [1] })]);
    expect(checker.steps).toBe(3);
  });

  test('an observation passed again is taken as unchanged: its log is not read again, and the checks still run against it', () => {
    const checker = new SafetyChecker();
    let reads = 0;
    const counted = (spec: NodeSpec): NodeObservation => {
      const base = node(spec);
      return { ...base, termAt: (index) => (reads++, base.termAt(index)) };
    };
    const a = counted({ id: 'a', log: [1, 1] });
    const b = counted({ id: 'b', log: [1, 1] });
    checker.observe([a, b]);
    expect(reads).toBe(4);
    checker.observe([a, b]);
    expect(reads).toBe(4);
    // A new object for b is read afresh, and checked against the remembered log of a.
    const divergent = counted({ id: 'b', log: [2, 1] });
    expect(violation(() => checker.observe([a, divergent]))).toBe('Log Matching');
    expect(reads).toBe(6);
  });

  test('Election Safety: two leaders in one term', () => {
    const checker = new SafetyChecker();
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 2, log: [1] }), node({ id: 'b', role: 'leader', term: 2, log: [1] })]))).toBe('Election Safety');
  });

  test('Election Safety holds across observations: a second leader of a past term is caught later', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', term: 2, log: [2] })]);
    expect(violation(() => checker.observe([node({ id: 'b', role: 'leader', term: 2, log: [2] })]))).toBe('Election Safety');
  });

  test('Log Matching: same term at an index, different below it', () => {
    const checker = new SafetyChecker();
    expect(violation(() => checker.observe([node({ id: 'a', log: [1, 1, 3] }), node({ id: 'b', log: [1, 2, 3] })]))).toBe('Log Matching');
  });

  test('Log Matching is checked only above both logs\u2019 first indexes', () => {
    const checker = new SafetyChecker();
    const compacted = { ...node({ id: 'a', log: [2, 3], firstIndex: 3 }), termAt: (index: Index) => (index < 3 ? 9 : [2, 3][index - 3]) };
    checker.observe([compacted, node({ id: 'b', log: [1, 1, 2, 3] })]);
    expect(checker.steps).toBe(1);
  });

  test('Log Matching: two different entries recorded at one (index, term)', () => {
    const checker = new SafetyChecker();
    checker.recordEntry(entry(4, 2, 7));
    expect(violation(() => checker.recordEntry(entry(4, 2, 8)))).toBe('Log Matching');
  });

  test('Leader Append-Only: a leader rewrites an entry of its log', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [1, 3, 3] })]);
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [1, 2, 3] })]))).toBe('Leader Append-Only');
  });

  test('Leader Append-Only: a leader\u2019s log shrinks', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [1, 3, 3] })]);
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [1, 3] })]))).toBe('Leader Append-Only');
  });

  test('Leader Append-Only tolerates compaction of the prefix', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [1, 3, 3] })]);
    checker.observe([node({ id: 'a', role: 'leader', term: 3, log: [3, 3, 3], firstIndex: 2 })]);
    expect(checker.steps).toBe(2);
  });

  test('Leader Completeness: a leader lacks a committed entry of an earlier term', () => {
    const checker = new SafetyChecker();
    checker.recordApplied('b', entry(2, 1));
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 2, log: [1] })]))).toBe('Leader Completeness');
  });

  test('Leader Completeness: an entry committed in term 3 must be in the log of a leader of term 4', () => {
    const checker = new SafetyChecker();
    // b, leader of term 3, commits index 2 (term 1).
    checker.observe([node({ id: 'b', role: 'leader', term: 3, log: [1, 1, 3], commit: 3, applied: 0 })]);
    checker.recordApplied('b', entry(2, 1));
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 4, log: [1, 4] })]))).toBe('Leader Completeness');
  });

  test('Leader Completeness: a stale leader of an earlier term need not hold an entry committed in a later term (seed 1581)', () => {
    // a still leads term 2 (its log is 1, 2) when c, leader of term 3, commits index 2 of term 1: a legal overlap of two leaders.
    const checker = new SafetyChecker();
    const staleLeader = node({ id: 'a', role: 'leader', term: 2, log: [1, 2] });
    checker.observe([staleLeader, node({ id: 'c', role: 'leader', term: 3, log: [1, 1, 3], commit: 3 })]);
    checker.recordApplied('c', entry(2, 1));
    expect(violation(() => checker.observe([staleLeader, node({ id: 'c', role: 'leader', term: 3, log: [1, 1, 3], commit: 3 })]))).toBe('none');
  });

  test('Committed entries: a node holds another term at a committed index', () => {
    const checker = new SafetyChecker();
    checker.recordApplied('b', entry(1, 1));
    expect(violation(() => checker.observe([node({ id: 'a', term: 2, log: [2], commit: 1 })]))).toBe('Committed entries');
  });

  test('State Machine Safety: two nodes apply different entries at one index', () => {
    const checker = new SafetyChecker();
    checker.recordApplied('a', entry(1, 1, 5));
    expect(violation(() => checker.recordApplied('b', entry(1, 1, 6)))).toBe('State Machine Safety');
  });

  test('Monotonicity: commit beyond the log, term or commit going back, a changed vote', () => {
    expect(violation(() => new SafetyChecker().observe([node({ id: 'a', log: [1], commit: 2 })]))).toBe('Monotonicity');
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', term: 3, vote: 'b', log: [1, 1], commit: 2 })]);
    expect(violation(() => checker.observe([node({ id: 'a', term: 3, vote: 'b', log: [1, 1], commit: 1 })]))).toBe('Monotonicity');
    const votes = new SafetyChecker();
    votes.observe([node({ id: 'a', term: 3, vote: 'b', log: [1] })]);
    expect(violation(() => votes.observe([node({ id: 'a', term: 3, vote: 'c', durableVote: 'b', log: [1] })]))).toBe('Monotonicity');
  });

  test('a restart may lower volatile commit, not the durable term', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', term: 3, log: [1, 1], commit: 2 })]);
    checker.recordRestart('a');
    checker.observe([node({ id: 'a', term: 3, log: [1, 1], commit: 0 })]);
    expect(violation(() => checker.observe([node({ id: 'a', term: 3, durableTerm: 2, log: [1, 1] })]))).toBe('Monotonicity');
  });

  test('One vote per term: a durable vote changes or disappears within its term', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', term: 4, durableVote: 'b', log: [] })]);
    checker.recordRestart('a');
    expect(violation(() => checker.observe([node({ id: 'a', term: 4, durableVote: 'c', log: [] })]))).toBe('One vote per term');
    const lost = new SafetyChecker();
    lost.observe([node({ id: 'a', term: 4, durableVote: 'b', log: [] })]);
    lost.recordRestart('a');
    expect(violation(() => lost.observe([node({ id: 'a', term: 4, durableVote: null, log: [] })]))).toBe('One vote per term');
  });

  test('matchIndex monotonic: a leader\u2019s match for a follower goes back within its term', () => {
    const checker = new SafetyChecker();
    checker.observe([node({ id: 'a', role: 'leader', term: 2, log: [2, 2], match: { b: 2 } })]);
    expect(violation(() => checker.observe([node({ id: 'a', role: 'leader', term: 2, log: [2, 2], match: { b: 1 } })]))).toBe('matchIndex monotonic');
  });
});
