import { describe, expect, it } from 'vitest';
import { Unstable } from '../../../src/core/unstable.js';
import type { Term } from '../../../src/core/types.js';
import { InvariantError } from '../../../src/errors.js';
import { entries, terms } from '../../support/scenario-log-builder.js';

/** An Unstable at `offset` holding entries of `held` terms. */
function unstable(offset: number, held: readonly Term[]): Unstable {
  const u = new Unstable(offset);
  u.truncateAndAppend(entries(held, offset));
  return u;
}

const indexTerms = (u: Unstable): [number, number][] => u.entries.map((e) => [e.index, e.term]);

describe('Unstable.truncateAndAppend', () => {
  it('appends right after the last entry', () => {
    const u = unstable(5, terms(1, 1));

    u.truncateAndAppend(entries(terms(2), 7));

    expect(indexTerms(u)).toEqual([
      [5, 1],
      [6, 1],
      [7, 2],
    ]);
  });

  it('replaces the whole tail when the new entries start at or before the offset', () => {
    const u = unstable(5, terms(1, 1));

    u.truncateAndAppend(entries(terms(3, 3), 4));

    expect(u.offset).toBe(4);
    expect(indexTerms(u)).toEqual([
      [4, 3],
      [5, 3],
    ]);
  });

  it('truncates in the middle', () => {
    const u = unstable(5, terms(1, 1, 1));

    u.truncateAndAppend(entries(terms(2), 6));

    expect(indexTerms(u)).toEqual([
      [5, 1],
      [6, 2],
    ]);
  });

  it('refuses a gap', () => {
    const u = unstable(5, terms(1));

    expect(() => u.truncateAndAppend(entries(terms(1), 8))).toThrow(InvariantError);
  });

  it('a replaced entry is handed out again even if an earlier Ready carried it', () => {
    const u = unstable(5, terms(1, 1, 1));
    u.acceptInProgress();
    expect(u.entriesToPersist()).toEqual([]);

    u.truncateAndAppend(entries(terms(2), 6));

    expect(u.entriesToPersist().map((e) => [e.index, e.term])).toEqual([[6, 2]]);
  });
});

describe('Unstable.stableTo', () => {
  it('drops the entries made durable', () => {
    const u = unstable(5, terms(1, 1, 2));
    u.acceptInProgress();

    u.stableTo(6, 1);

    expect(u.offset).toBe(7);
    expect(indexTerms(u)).toEqual([[7, 2]]);
  });

  it('ignores an acknowledgement for an entry that was replaced since it was handed out', () => {
    const u = unstable(5, terms(1, 1, 1));
    u.acceptInProgress();
    u.truncateAndAppend(entries(terms(2), 6));

    u.stableTo(7, 1);

    expect(u.offset).toBe(5);
    expect(indexTerms(u)).toEqual([
      [5, 1],
      [6, 2],
    ]);
    expect(u.entriesToPersist().map((e) => e.index)).toEqual([6]);
  });

  it('ignores an acknowledgement below the offset', () => {
    const u = unstable(5, terms(1, 1));

    u.stableTo(3, 1);

    expect(u.offset).toBe(5);
    expect(u.entries).toHaveLength(2);
  });
});

describe('Unstable.restore', () => {
  it('replaces everything with a snapshot and reports its position', () => {
    const u = unstable(5, terms(1, 1));
    u.acceptInProgress();

    u.restore({ index: 20, term: 4, membership: { voters: ['n1'] } });

    expect(u.offset).toBe(21);
    expect(u.entries).toEqual([]);
    expect(u.maybeFirstIndex()).toBe(21);
    expect(u.maybeLastIndex()).toBe(20);
    expect(u.maybeTerm(20)).toBe(4);
    expect(u.maybeTerm(5)).toBeUndefined();
    expect(u.snapshotInProgress).toBe(false);
  });

  it('stableSnapshotTo clears only the snapshot that was made durable', () => {
    const u = new Unstable(1);
    u.restore({ index: 20, term: 4, membership: { voters: ['n1'] } });
    u.acceptInProgress();

    u.stableSnapshotTo(19);
    expect(u.snapshot).not.toBeNull();
    u.stableSnapshotTo(20);

    expect(u.snapshot).toBeNull();
    expect(u.snapshotInProgress).toBe(false);
  });
});
