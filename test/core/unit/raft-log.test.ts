import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { RaftLog } from '../../../src/core/raft-log.js';
import { entrySizeBytes } from '../../../src/core/types.js';
import type { Entry, Term } from '../../../src/core/types.js';
import { InvariantError } from '../../../src/errors.js';
import { MemoryStorage } from '../../../src/storage/memory.js';
import { entries, entry, storageWith, terms, termsOf } from '../../support/scenario-log-builder.js';

/** A RaftLog whose durable part holds `stored` (from index 1) and whose unstable tail holds `unstable` after it. */
function raftLog(stored: readonly Term[], options: { unstable?: readonly Term[]; commit?: number } = {}): RaftLog {
  const storage = storageWith({ log: stored, commit: options.commit ?? 0 });
  const log = new RaftLog(storage, options.commit ?? 0, 0);
  if (options.unstable !== undefined && options.unstable.length > 0) log.append(entries(options.unstable, stored.length + 1));
  return log;
}

/** A RaftLog compacted up to (snapshotIndex, snapshotTerm), followed by entries of `following` terms. */
function compactedLog(snapshotIndex: number, snapshotTerm: Term, following: readonly Term[]): RaftLog {
  const storage = new MemoryStorage();
  storage.saveSnapshotSync({ index: snapshotIndex, term: snapshotTerm, membership: { voters: ['n1'] } });
  storage.appendSync(entries(following, snapshotIndex + 1), { term: snapshotTerm, vote: null, commit: snapshotIndex });
  return new RaftLog(storage, snapshotIndex, snapshotIndex);
}

const all = (log: RaftLog): (Term | undefined)[] => termsOf(log, log.lastIndex(), log.firstIndex());

describe('RaftLog.findConflict', () => {
  // The log holds terms 1, 2, 3 at indexes 1..3.
  it.each<{ name: string; given: Entry[]; expected: number }>([
    { name: 'no entries', given: [], expected: 0 },
    { name: 'all present', given: entries(terms(1, 2, 3)), expected: 0 },
    { name: 'a present suffix', given: entries(terms(2, 3), 2), expected: 0 },
    { name: 'one present entry', given: entries(terms(3), 3), expected: 0 },
    { name: 'present then new', given: entries(terms(1, 2, 3, 4, 4)), expected: 4 },
    { name: 'a suffix then new', given: entries(terms(3, 4, 4), 3), expected: 4 },
    { name: 'only new', given: entries(terms(4, 4), 4), expected: 4 },
    { name: 'conflict at the first entry', given: entries(terms(4, 4)), expected: 1 },
    { name: 'conflict in the middle', given: entries(terms(1, 4, 4), 2), expected: 2 },
    { name: 'conflict at the last stored entry', given: entries(terms(1, 2, 4, 4), 3), expected: 3 },
  ])('$name → $expected', ({ given, expected }) => {
    const log = raftLog(terms(1, 2, 3));

    expect(log.findConflict(given)).toBe(expected);
  });
});

describe('RaftLog.findConflictByTerm: the largest index ≤ index whose term is ≤ term', () => {
  // Log terms 2, 2, 5, 5, 5 at indexes 1..5 (etcd's TestFindConflictByTerm).
  it.each([
    { index: 5, term: 6, expected: { index: 5, term: 5 } },
    { index: 5, term: 5, expected: { index: 5, term: 5 } },
    { index: 5, term: 4, expected: { index: 2, term: 2 } },
    { index: 5, term: 2, expected: { index: 2, term: 2 } },
    { index: 5, term: 1, expected: { index: 0, term: 0 } },
    { index: 1, term: 2, expected: { index: 1, term: 2 } },
    { index: 1, term: 1, expected: { index: 0, term: 0 } },
    { index: 0, term: 0, expected: { index: 0, term: 0 } },
    { index: 100, term: 2, expected: { index: 2, term: 2 } },
  ])('uncompacted log, ($index, $term) → $expected', ({ index, term, expected }) => {
    const log = raftLog(terms(2, 2, 5, 5, 5));

    expect(log.findConflictByTerm(index, term)).toEqual(expected);
  });

  // Snapshot at index 10 term 3, then terms 3, 3, 4, 4, 4 at indexes 11..15.
  it.each([
    { index: 14, term: 9, expected: { index: 14, term: 4 } },
    { index: 14, term: 4, expected: { index: 14, term: 4 } },
    { index: 14, term: 3, expected: { index: 12, term: 3 } },
    { index: 14, term: 2, expected: { index: 9, term: 0 } },
    { index: 11, term: 5, expected: { index: 11, term: 3 } },
    { index: 10, term: 5, expected: { index: 10, term: 3 } },
    { index: 12, term: 2, expected: { index: 9, term: 0 } },
    { index: 10, term: 2, expected: { index: 9, term: 0 } },
    { index: 9, term: 2, expected: { index: 9, term: 0 } },
  ])('compacted log, ($index, $term) → $expected (term 0: compacted, known to match)', ({ index, term, expected }) => {
    const log = compactedLog(10, 3, terms(3, 3, 4, 4, 4));

    expect(log.findConflictByTerm(index, term)).toEqual(expected);
  });
});

describe('RaftLog.appendVerified', () => {
  it('a duplicate of entries already held changes nothing', () => {
    const log = raftLog(terms(1, 1, 2, 2));

    const lastVerified = log.appendVerified(0, entries(terms(1, 1)));

    expect(lastVerified).toBe(2);
    expect(all(log)).toEqual(terms(1, 1, 2, 2));
    expect(log.unstable.entriesToPersist()).toEqual([]);
  });

  it('a stale, reordered append that is a prefix of the log never truncates what follows', () => {
    const log = raftLog(terms(1, 1), { unstable: terms(2, 2, 2) });

    const lastVerified = log.appendVerified(2, entries(terms(2), 3));

    expect(lastVerified).toBe(3);
    expect(all(log)).toEqual(terms(1, 1, 2, 2, 2));
  });

  it('an empty append verifies its prevLogIndex only', () => {
    const log = raftLog(terms(1, 1, 2, 2));

    expect(log.appendVerified(2, [])).toBe(2);
    expect(log.lastIndex()).toBe(4);
  });

  it('appends new entries after the last', () => {
    const log = raftLog(terms(1, 1));

    expect(log.appendVerified(2, entries(terms(2, 2), 3))).toBe(4);

    expect(all(log)).toEqual(terms(1, 1, 2, 2));
  });

  it('truncates from the first real conflict only, keeping the matching entries before it', () => {
    const log = raftLog(terms(1, 1, 2, 2, 2));

    const lastVerified = log.appendVerified(1, entries(terms(1, 2, 3), 2));

    expect(lastVerified).toBe(4);
    expect(all(log)).toEqual(terms(1, 1, 2, 3));
    expect(log.unstable.entriesToPersist().map((e) => e.index)).toEqual([4]);
  });

  it('refuses to replace a committed entry (a broken invariant, not a protocol outcome)', () => {
    const log = raftLog(terms(1, 1, 2), { commit: 3 });

    expect(() => log.appendVerified(2, entries(terms(3), 3))).toThrow(InvariantError);
    expect(all(log)).toEqual(terms(1, 1, 2));
  });

  test('property: equals the naive "keep matching entries, truncate at the first conflict, append the rest"', () => {
    const scenario = fc
      .record({
        stored: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 8 }),
        unstable: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 4 }),
        prev: fc.nat({ max: 12 }),
        incoming: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 6 }),
      })
      .map(({ stored, unstable, prev, incoming }) => {
        const sortedStored = [...stored].sort((a, b) => a - b);
        const lastStored = sortedStored[sortedStored.length - 1] ?? 1;
        const unstableTerms = accumulate(lastStored, unstable);
        const existing = [...sortedStored, ...unstableTerms];
        const prevIndex = Math.min(prev, existing.length);
        const prevTerm = prevIndex === 0 ? 1 : existing[prevIndex - 1]!;
        return { stored: sortedStored, unstable: unstableTerms, existing, prevIndex, incoming: accumulate(prevTerm, incoming) };
      });
    fc.assert(
      fc.property(scenario, ({ stored, unstable, existing, prevIndex, incoming }) => {
        const log = raftLog(stored, { unstable });
        const naive = [...existing];
        incoming.forEach((term, i) => {
          const position = prevIndex + i;
          if (naive[position] !== term) {
            naive.length = position;
            naive.push(...incoming.slice(i));
          }
        });

        const lastVerified = log.appendVerified(prevIndex, entries(incoming, prevIndex + 1));

        expect(lastVerified).toBe(prevIndex + incoming.length);
        expect(all(log)).toEqual(naive);
      }),
    );
  });
});

/** Non-decreasing terms from `start` by the given steps (a valid run of entry terms). */
function accumulate(start: Term, steps: readonly number[]): Term[] {
  let term = start;
  return steps.map((step) => (term += step));
}

describe('RaftLog.commitTo', () => {
  it('raises the commit index up to lastIndex', () => {
    const log = raftLog(terms(1, 1, 2));

    log.commitTo(3);

    expect(log.committed).toBe(3);
  });

  it('never lowers it', () => {
    const log = raftLog(terms(1, 1, 2), { commit: 2 });

    log.commitTo(1);

    expect(log.committed).toBe(2);
  });

  it('throws when asked to commit past lastIndex', () => {
    const log = raftLog(terms(1, 1, 2));

    expect(() => log.commitTo(4)).toThrow(InvariantError);
    expect(log.committed).toBe(0);
  });
});

describe('RaftLog.isUpToDate (§5.4.1)', () => {
  // Our log ends at index 3 with term 2.
  it.each([
    { lastIndex: 3, lastTerm: 2, expected: true, why: 'same last entry' },
    { lastIndex: 5, lastTerm: 2, expected: true, why: 'same last term, longer' },
    { lastIndex: 2, lastTerm: 2, expected: false, why: 'same last term, shorter' },
    { lastIndex: 1, lastTerm: 3, expected: true, why: 'higher last term, even if shorter' },
    { lastIndex: 9, lastTerm: 1, expected: false, why: 'lower last term, even if longer' },
  ])('($lastIndex, $lastTerm) → $expected: $why', ({ lastIndex, lastTerm, expected }) => {
    const log = raftLog(terms(1, 1, 2));

    expect(log.isUpToDate(lastIndex, lastTerm)).toBe(expected);
  });
});

describe('RaftLog.slice', () => {
  const size = entrySizeBytes(entry(1, 1));

  it('reads across the durable part and the unstable tail', () => {
    const log = raftLog(terms(1, 1, 1, 2, 2), { unstable: terms(3, 3, 3) });

    const result = log.slice(3, 8, 1 << 20);

    expect(result.kind === 'ok' && result.entries.map((e) => [e.index, e.term])).toEqual([
      [3, 1],
      [4, 2],
      [5, 2],
      [6, 3],
      [7, 3],
    ]);
  });

  it.each([
    { low: 2, high: 9, maxBytes: 2 * size, expected: [2, 3] },
    { low: 4, high: 9, maxBytes: 3 * size, expected: [4, 5, 6] },
    { low: 6, high: 9, maxBytes: 2 * size + 1, expected: [6, 7] },
    { low: 4, high: 9, maxBytes: 1, expected: [4] },
    { low: 7, high: 9, maxBytes: 0, expected: [7] },
  ])('[$low, $high) within $maxBytes bytes → $expected (always at least one entry)', ({ low, high, maxBytes, expected }) => {
    const log = raftLog(terms(1, 1, 1, 2, 2), { unstable: terms(3, 3, 3) });

    const result = log.slice(low, high, maxBytes);

    expect(result.kind === 'ok' && result.entries.map((e) => e.index)).toEqual(expected);
  });

  it('a range ending below the unstable tail reads from storage only', () => {
    const log = raftLog(terms(1, 1, 1, 2, 2), { unstable: terms(3, 3, 3) });

    const result = log.slice(2, 4, 1 << 20);

    expect(result.kind === 'ok' && result.entries.map((e) => e.index)).toEqual([2, 3]);
  });

  test('property: equals the naive "longest prefix of [low, high) within maxBytes, at least one entry"', () => {
    const scenario = fc.record({
      stored: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
      sizes: fc.array(fc.nat({ max: 40 }), { minLength: 20, maxLength: 20 }),
      rewriteAt: fc.nat({ max: 10 }),
      rewriteCount: fc.nat({ max: 4 }),
      low: fc.nat({ max: 14 }),
      span: fc.nat({ max: 14 }),
      maxBytes: fc.nat({ max: 200 }),
    });
    fc.assert(
      fc.property(scenario, ({ stored, sizes, rewriteAt, rewriteCount, low, span, maxBytes }) => {
        // Entries of varied sizes in storage, then an unstable tail that may replace part of it.
        const storage = new MemoryStorage();
        storage.appendSync(stored.map((_, i) => entry(i + 1, 1, sizes[i]!)));
        const log = new RaftLog(storage, 0, 0);
        const prev = Math.min(rewriteAt, log.lastIndex());
        log.appendVerified(prev, Array.from({ length: rewriteCount }, (_, i) => entry(prev + 1 + i, 2, sizes[10 + i]!)));
        const last = log.lastIndex();
        const from = Math.max(1, Math.min(low, last));
        const to = Math.min(from + span, last + 1);
        const everything = log.slice(1, last + 1, Number.MAX_SAFE_INTEGER);
        if (everything.kind !== 'ok') throw new Error('whole log unreadable');
        const naive: Entry[] = [];
        let bytes = 0;
        for (const e of everything.entries.filter((x) => x.index >= from && x.index < to)) {
          bytes += entrySizeBytes(e);
          if (naive.length > 0 && bytes > maxBytes) break;
          naive.push(e);
        }

        const result = log.slice(from, to, maxBytes);

        expect(result.kind).toBe('ok');
        expect(result.kind === 'ok' && result.entries.map((e) => [e.index, e.term])).toEqual(naive.map((e) => [e.index, e.term]));
      }),
    );
  });

  it('an empty range is empty', () => {
    expect(raftLog(terms(1, 1)).slice(2, 2, 100)).toEqual({ kind: 'ok', entries: [] });
  });

  it('reports a range below the first index as compacted', () => {
    const log = compactedLog(10, 3, terms(3, 4));

    expect(log.slice(10, 12, 100)).toEqual({ kind: 'compacted' });
    expect(log.slice(11, 13, 1 << 20).kind).toBe('ok');
  });

  it('does not read stored entries that the unstable tail has replaced', () => {
    const log = raftLog(terms(1, 1, 1, 1));
    log.appendVerified(2, entries(terms(2), 3));

    const result = log.slice(1, log.lastIndex() + 1, 1 << 20);

    expect(result.kind === 'ok' && result.entries.map((e) => e.term)).toEqual(terms(1, 1, 2));
  });
});

describe('RaftLog persistence and applying', () => {
  it('persistedIndex stops below the unstable tail', () => {
    const log = raftLog(terms(1, 1), { unstable: terms(2, 2) });

    expect(log.persistedIndex()).toBe(2);
  });

  it('hands out committed entries only once they are durable', () => {
    const log = raftLog(terms(1, 1), { unstable: terms(2, 2) });
    log.commitTo(4);

    expect(log.nextCommittedEntries(1 << 20)?.map((e) => e.index)).toEqual([1, 2]);
    (log.storage as MemoryStorage).appendSync(log.unstable.entriesToPersist());
    log.unstable.acceptInProgress();
    log.unstable.stableTo(4, 2);
    expect(log.nextCommittedEntries(1 << 20)?.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  it('a truncation into the durable part lowers persistedIndex', () => {
    const log = raftLog(terms(1, 1, 1, 1));

    log.appendVerified(1, entries(terms(2), 2));

    expect(log.persistedIndex()).toBe(1);
  });

  it('applying and applied never pass commit', () => {
    const log = raftLog(terms(1, 1, 1), { commit: 2 });

    expect(() => log.acceptApplying(3)).toThrow(InvariantError);
    log.acceptApplying(2);
    expect(() => log.appliedTo(3)).toThrow(InvariantError);
    log.appliedTo(2);
    expect(log.applied).toBe(2);
  });
});

describe('RaftLog.restore', () => {
  it('replaces the log with a snapshot: commit jumps to it and older entries are gone', () => {
    const log = raftLog(terms(1, 1, 2), { commit: 1 });

    log.restore({ index: 10, term: 4, membership: { voters: ['n1', 'n2', 'n3'] } });

    expect(log.committed).toBe(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
    expect(log.term(10)).toBe(4);
    expect(log.term(2)).toBeUndefined();
    expect(log.lastTerm()).toBe(4);
  });

  it('refuses a snapshot at or below commit', () => {
    const log = raftLog(terms(1, 1, 2), { commit: 3 });

    expect(() => log.restore({ index: 3, term: 2, membership: { voters: ['n1'] } })).toThrow(InvariantError);
  });

  it('after the snapshot is durable, applied and applying move to it', () => {
    const log = raftLog(terms(1), { commit: 1 });
    log.restore({ index: 10, term: 4, membership: { voters: ['n1'] } });
    log.unstable.acceptInProgress();

    log.snapshotApplied(10);

    expect(log.applied).toBe(10);
    expect(log.applying).toBe(10);
    expect(log.unstable.snapshot).toBeNull();
  });
});
