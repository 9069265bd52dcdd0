import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { MajorityConfig } from '../../src/quorum/majority.js';
import type { VoteResult } from '../../src/quorum/majority.js';

/** The naive definition: the largest i such that at least ⌊n/2⌋+1 voters acknowledged an index ≥ i. */
function naiveCommittedIndex(acked: readonly number[]): number {
  const quorum = Math.floor(acked.length / 2) + 1;
  let best = 0;
  for (const candidate of acked) {
    const count = acked.filter((index) => index >= candidate).length;
    if (count >= quorum && candidate > best) best = candidate;
  }
  return best;
}

/** The naive election outcome: count grants, and whether the missing answers could still make a quorum. */
function naiveVoteResult(votes: readonly (boolean | undefined)[]): VoteResult {
  const quorum = Math.floor(votes.length / 2) + 1;
  const granted = votes.filter((vote) => vote === true).length;
  const missing = votes.filter((vote) => vote === undefined).length;
  if (granted >= quorum) return 'won';
  return granted + missing >= quorum ? 'pending' : 'lost';
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);

describe('MajorityConfig.quorumSize', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 2],
    [4, 3],
    [5, 3],
    [6, 4],
    [7, 4],
  ])('%i voters need %i', (n, expected) => {
    const config = new MajorityConfig(ids(n));

    expect(config.quorumSize()).toBe(expected);
  });

  it.each([2, 4, 6])('n/2 of %i voters is never a quorum: two halves could each decide', (n) => {
    const config = new MajorityConfig(ids(n));
    const half = new Set(ids(n).slice(0, n / 2));

    expect(config.voteResult((id) => half.has(id))).toBe('lost');
    expect(config.isQuorumActive((id) => half.has(id))).toBe(false);
  });

  it('ignores duplicate ids', () => {
    expect(new MajorityConfig(['a', 'b', 'a', 'c']).voters).toEqual(['a', 'b', 'c']);
  });
});

describe('MajorityConfig.committedIndex', () => {
  it.each([
    { acked: [5], expected: 5 },
    { acked: [5, 3], expected: 3 },
    { acked: [5, 3, 1], expected: 3 },
    { acked: [0, 0, 9], expected: 0 },
    { acked: [7, 7, 7, 2, 2], expected: 7 },
    { acked: [9, 8, 2, 1, 0], expected: 2 },
  ])('$acked → $expected', ({ acked, expected }) => {
    const names = ids(acked.length);
    const config = new MajorityConfig(names);

    expect(config.committedIndex((id) => acked[names.indexOf(id)]!)).toBe(expected);
  });

  it('counts a voter it knows nothing of as 0', () => {
    const config = new MajorityConfig(ids(3));

    expect(config.committedIndex((id) => (id === 'n1' ? 10 : 0))).toBe(0);
  });

  it('an empty configuration acknowledges everything (identity for joint quorums)', () => {
    expect(new MajorityConfig([]).committedIndex(() => 0)).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('property: equals the naive "largest index acknowledged by ⌊n/2⌋+1 voters"', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 9 }), (acked) => {
        const names = ids(acked.length);
        const config = new MajorityConfig(names);

        expect(config.committedIndex((id) => acked[names.indexOf(id)]!)).toBe(naiveCommittedIndex(acked));
      }),
    );
  });
});

describe('MajorityConfig.voteResult', () => {
  it.each<{ votes: (boolean | undefined)[]; expected: VoteResult }>([
    { votes: [true], expected: 'won' },
    { votes: [false], expected: 'lost' },
    { votes: [undefined], expected: 'pending' },
    { votes: [true, undefined, undefined], expected: 'pending' },
    { votes: [true, true, undefined], expected: 'won' },
    { votes: [true, false, undefined], expected: 'pending' },
    { votes: [true, false, false], expected: 'lost' },
    { votes: [true, true, false, false], expected: 'lost' },
    { votes: [true, true, undefined, false], expected: 'pending' },
  ])('$votes → $expected', ({ votes, expected }) => {
    const names = ids(votes.length);
    const config = new MajorityConfig(names);

    expect(config.voteResult((id) => votes[names.indexOf(id)])).toBe(expected);
  });

  it('an empty configuration wins (identity for joint quorums)', () => {
    expect(new MajorityConfig([]).voteResult(() => undefined)).toBe('won');
  });

  test('property: equals the naive count', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(true, false, undefined), { minLength: 1, maxLength: 9 }), (votes) => {
        const names = ids(votes.length);
        const config = new MajorityConfig(names);

        expect(config.voteResult((id) => votes[names.indexOf(id)])).toBe(naiveVoteResult(votes));
      }),
    );
  });

  test('property: isQuorumActive is "a quorum of voters is active"', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 9 }), (active) => {
        const names = ids(active.length);
        const config = new MajorityConfig(names);
        const expected = active.filter(Boolean).length >= Math.floor(active.length / 2) + 1;

        expect(config.isQuorumActive((id) => active[names.indexOf(id)]!)).toBe(expected);
      }),
    );
  });
});
