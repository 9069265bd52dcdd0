/**
 * The tail cache against the naive answer: a map from index to entry, with
 * eviction done one entry at a time from the oldest.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { entrySizeBytes } from '../../src/core/types.js';
import { TailCache } from '../../src/storage/tail-cache.js';

type Step =
  | { kind: 'append'; back: number; sizes: number[] }
  | { kind: 'truncate'; back: number }
  | { kind: 'dropBefore'; ahead: number }
  | { kind: 'evict'; maxBytes: number; pinBack: number }
  | { kind: 'clear' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(5), sizes: fc.array(fc.nat(40), { minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.nat(8) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dropBefore' as const), ahead: fc.nat(8) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('evict' as const), maxBytes: fc.nat(600), pinBack: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

function entry(index: number, size: number): Entry {
  return { index, term: 1, type: 'normal', data: new Uint8Array(size) };
}

/** The model: resident entries by index, contiguous from `first` to `last`. */
class Model {
  readonly entries = new Map<number, Entry>();
  first = 1;
  last = 0;

  bytes(): number {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += entrySizeBytes(e);
    return bytes;
  }

  dropOldest(): void {
    this.entries.delete(this.first);
    this.first++;
  }
}

/** Checks every observable of `cache` against `model`. */
function expectSame(cache: TailCache, model: Model): void {
  expect(cache.size).toBe(model.entries.size);
  expect(cache.bytes).toBe(model.bytes());
  expect(cache.firstIndex()).toBe(model.entries.size === 0 ? undefined : model.first);
  for (let index = model.first - 3; index <= model.last + 3; index++) {
    const run = cache.residentAt(index);
    const expected = model.entries.get(index);
    if (expected === undefined) {
      expect(run).toBeUndefined();
      continue;
    }
    expect(run).toBeDefined();
    // Every entry the run hands out from `offset` on is the resident one at its index.
    for (let offset = run!.offset; offset < run!.entries.length; offset++) {
      const got = run!.entries[offset]!;
      expect(got).toBe(model.entries.get(got.index));
      expect(got.index).toBe(index + offset - run!.offset);
    }
  }
}

describe('TailCache', () => {
  it('holds exactly the entries a naive index→entry map holds, through appends, truncation, drops and eviction', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const cache = new TailCache();
        const model = new Model();
        let next = 1;
        for (const s of steps) {
          if (s.kind === 'append') {
            // A truncating append may reach back into (or before) the resident range.
            const start = Math.max(1, next - s.back);
            const entries = s.sizes.map((size, i) => entry(start + i, size));
            cache.append(entries);
            if (start <= model.first || model.entries.size === 0) {
              model.entries.clear();
              model.first = start;
            }
            for (let index = start; index <= model.last; index++) model.entries.delete(index);
            for (const e of entries) model.entries.set(e.index, e);
            model.last = start + entries.length - 1;
            next = model.last + 1;
          } else if (s.kind === 'truncate') {
            const index = Math.max(1, next - s.back);
            cache.truncateFrom(index);
            for (let i = index; i <= model.last; i++) model.entries.delete(i);
            model.last = Math.min(model.last, index - 1);
            if (model.entries.size === 0) model.first = model.last + 1;
            next = model.last + 1;
          } else if (s.kind === 'dropBefore') {
            const index = model.first + s.ahead;
            cache.dropBefore(index);
            while (model.entries.size > 0 && model.first < index) model.dropOldest();
            if (model.entries.size === 0) model.first = Math.max(model.first, model.last + 1);
          } else if (s.kind === 'evict') {
            const pinnedFrom = model.last + 1 - s.pinBack;
            cache.evict(s.maxBytes, pinnedFrom);
            while (model.entries.size > 0 && model.bytes() > s.maxBytes && model.first < pinnedFrom) model.dropOldest();
          } else {
            cache.clear();
            model.entries.clear();
            model.first = model.last + 1;
          }
          expectSame(cache, model);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its own copy of an appended array', () => {
    const cache = new TailCache();
    const entries = [entry(1, 4), entry(2, 4)];
    cache.append(entries);
    entries.length = 0;
    entries.push(entry(7, 1));

    expect(cache.size).toBe(2);
    expect(cache.residentAt(2)?.entries[1]?.index).toBe(2);
  });

  it('never evicts an entry at or after pinnedFrom, whatever the budget', () => {
    const cache = new TailCache();
    cache.append([entry(1, 10), entry(2, 10)]);
    cache.append([entry(3, 10)]);
    cache.evict(0, 2);

    expect(cache.firstIndex()).toBe(2);
    expect(cache.size).toBe(2);
  });

  it('finds entries across many one-entry segments', () => {
    const cache = new TailCache();
    for (let index = 1; index <= 1000; index++) cache.append([entry(index, 1)]);
    cache.evict(500 * entrySizeBytes(entry(0, 1)), Infinity);

    expect(cache.firstIndex()).toBe(501);
    for (const index of [501, 502, 750, 999, 1000, 600, 501]) {
      const run = cache.residentAt(index)!;
      expect(run.entries[run.offset]!.index).toBe(index);
    }
    expect(cache.residentAt(500)).toBeUndefined();
    expect(cache.residentAt(1001)).toBeUndefined();
  });
});
