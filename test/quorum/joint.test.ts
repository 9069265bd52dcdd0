import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { JointConfig } from '../../src/quorum/joint.js';
import type { VoteResult } from '../../src/quorum/majority.js';

/** The naive definition: the largest index that a majority of each non-empty half has acknowledged. */
function naiveJointCommitted(incoming: readonly string[], outgoing: readonly string[], acked: (id: string) => number): number {
  const halves = [incoming, outgoing].filter((half) => half.length > 0);
  const candidates = [0, ...[...incoming, ...outgoing].map(acked)];
  let best = 0;
  for (const candidate of candidates) {
    const ok = halves.every((half) => half.filter((id) => acked(id) >= candidate).length > half.length / 2);
    if (ok && candidate > best) best = candidate;
  }
  return best;
}

/** The naive outcome: won when every non-empty half has a majority of grants, lost when some half can no longer reach one. */
function naiveJointVote(incoming: readonly string[], outgoing: readonly string[], vote: (id: string) => boolean | undefined): VoteResult {
  const halves = [incoming, outgoing].filter((half) => half.length > 0);
  const results = halves.map((half) => {
    const granted = half.filter((id) => vote(id) === true).length;
    const open = half.filter((id) => vote(id) === undefined).length;
    if (granted > half.length / 2) return 'won';
    return granted + open > half.length / 2 ? 'pending' : 'lost';
  });
  if (results.every((result) => result === 'won')) return 'won';
  return results.includes('lost') ? 'lost' : 'pending';
}

const pool = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const half = fc.subarray(pool, { minLength: 0, maxLength: 5 });

describe('JointConfig', () => {
  it('without an outgoing half it is its incoming majority', () => {
    const config = new JointConfig(['a', 'b', 'c']);

    expect(config.isJoint()).toBe(false);
    expect(config.committedIndex((id) => ({ a: 5, b: 3, c: 1 })[id] ?? 0)).toBe(3);
    expect(config.voteResult((id) => (id === 'a' ? true : id === 'b' ? true : undefined))).toBe('won');
  });

  it('while joint, a majority of the new voters alone commits nothing the old majority lacks', () => {
    const config = new JointConfig(['c', 'd', 'e'], ['a', 'b', 'c']);
    const acked: Record<string, number> = { a: 1, b: 1, c: 9, d: 9, e: 9 };

    expect(config.isJoint()).toBe(true);
    expect(config.voters()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(config.committedIndex((id) => acked[id] ?? 0)).toBe(1);
  });

  it('while joint, an election is lost as soon as either half is lost', () => {
    const config = new JointConfig(['c', 'd', 'e'], ['a', 'b', 'c']);
    const votes: Record<string, boolean> = { c: true, d: true, e: true, a: false, b: false };

    expect(config.voteResult((id) => votes[id])).toBe('lost');
  });

  it('knows when one node alone is a quorum', () => {
    expect(new JointConfig(['a']).isSoleQuorum('a')).toBe(true);
    expect(new JointConfig(['a'], ['a', 'b']).isSoleQuorum('a')).toBe(false);
    expect(new JointConfig(['a', 'b']).isSoleQuorum('a')).toBe(false);
  });

  test('committedIndex agrees with the naive definition', () => {
    fc.assert(
      fc.property(half, half, fc.array(fc.nat({ max: 20 }), { minLength: pool.length, maxLength: pool.length }), (incoming, outgoing, indexes) => {
        fc.pre(incoming.length > 0);
        const acked = (id: string): number => indexes[pool.indexOf(id)] ?? 0;
        expect(new JointConfig(incoming, outgoing).committedIndex(acked)).toBe(naiveJointCommitted(incoming, outgoing, acked));
      }),
      { seed: 8, numRuns: 500 },
    );
  });

  test('voteResult agrees with the naive definition', () => {
    const answer = fc.constantFrom<boolean | undefined>(true, false, undefined);
    fc.assert(
      fc.property(half, half, fc.array(answer, { minLength: pool.length, maxLength: pool.length }), (incoming, outgoing, answers) => {
        fc.pre(incoming.length > 0);
        const vote = (id: string): boolean | undefined => answers[pool.indexOf(id)];
        expect(new JointConfig(incoming, outgoing).voteResult(vote)).toBe(naiveJointVote(incoming, outgoing, vote));
      }),
      { seed: 8, numRuns: 500 },
    );
  });
});
