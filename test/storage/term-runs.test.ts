/**
 * The run-length term table against the naive answer: a plain array holding
 * the term of every index.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TermRun } from '../../src/storage/level-records.js';
import { TermRuns } from '../../src/storage/term-runs.js';
import { log } from './log-builders.js';

type Step = { kind: 'append'; back: number; bumps: number[] } | { kind: 'compact'; ahead: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(6), bumps: fc.array(fc.nat(2), { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), ahead: fc.nat(6) }) },
);

/** Applies `steps` to both; returns the table, the naive terms (index → term) and the log bounds. */
function run(steps: readonly Step[]) {
  const runs = new TermRuns();
  const terms = new Map<number, number>();
  let first = 1;
  let last = 0;
  const changes: { removed: readonly number[]; added: readonly TermRun[] }[] = [];
  for (const s of steps) {
    if (s.kind === 'append') {
      const start = Math.max(first, last + 1 - s.back);
      let term = Math.max(1, terms.get(start - 1) ?? 1);
      const entries = log(start, s.bumps.map((bump) => (term += bump)));
      for (let index = start; index <= last; index++) terms.delete(index);
      for (const entry of entries) terms.set(entry.index, entry.term);
      last = start + entries.length - 1;
      changes.push(runs.append(entries));
    } else {
      first = Math.min(first + s.ahead, last + 1);
      for (const index of [...terms.keys()]) if (index < first) terms.delete(index);
      changes.push(runs.compactTo(first, last));
    }
  }
  return { runs, terms, first, last, changes };
}

describe('TermRuns', () => {
  it('answers the term of every stored index like a plain array', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { runs, terms, first, last } = run(steps);

        for (let index = first; index <= last; index++) expect(runs.termAt(index), `term(${index})`).toBe(terms.get(index));
      }),
    );
  });

  it('keeps one run per term change, starting at the first index', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { runs, terms, first, last } = run(steps);

        const expectedStarts = [...terms.keys()].sort((a, b) => a - b).filter((index) => index === first || terms.get(index) !== terms.get(index - 1));
        expect(runs.list().map((r) => r.start)).toEqual(last >= first ? expectedStarts : []);
      }),
    );
  });

  it('reports the disk changes that turn the old table into the new one', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const { runs, changes } = run(steps);

        // Replaying removals then additions, as the batch does, yields the table in memory.
        const onDisk = new Map<number, number>();
        for (const change of changes) {
          for (const start of change.removed) onDisk.delete(start);
          for (const added of change.added) onDisk.set(added.start, added.term);
        }
        expect([...onDisk.entries()].sort((a, b) => a[0] - b[0])).toEqual(runs.list().map((r) => [r.start, r.term]));
      }),
    );
  });
});
