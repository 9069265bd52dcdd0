import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { InvariantError } from '../../src/errors.js';
import { Inflights } from '../../src/progress/inflights.js';

describe('Inflights', () => {
  it('is full once maxCount messages are in flight', () => {
    const inflights = new Inflights(3, 0);

    inflights.add(1, 10);
    inflights.add(2, 10);
    expect(inflights.full()).toBe(false);
    inflights.add(3, 10);

    expect(inflights.full()).toBe(true);
    expect(inflights.count()).toBe(3);
  });

  it('is full once the bytes in flight reach maxBytes, whatever the count', () => {
    const inflights = new Inflights(100, 100);

    inflights.add(1, 60);
    expect(inflights.full()).toBe(false);
    inflights.add(2, 40);

    expect(inflights.full()).toBe(true);
    expect(inflights.sizeBytes()).toBe(100);
  });

  it('lets one message overshoot the byte limit (a big entry must still be sendable)', () => {
    const inflights = new Inflights(100, 100);

    inflights.add(1, 10);
    inflights.add(2, 500);

    expect(inflights.sizeBytes()).toBe(510);
    expect(inflights.full()).toBe(true);
  });

  it('has no byte limit when maxBytes is 0', () => {
    const inflights = new Inflights(2, 0);

    inflights.add(1, 1_000_000_000);

    expect(inflights.full()).toBe(false);
  });

  it('freeLE frees every message whose last index is ≤ the acknowledged index, and their bytes', () => {
    const inflights = new Inflights(4, 0);
    inflights.add(3, 10);
    inflights.add(5, 20);
    inflights.add(9, 30);
    inflights.add(12, 40);

    inflights.freeLE(8);

    expect(inflights.count()).toBe(2);
    expect(inflights.sizeBytes()).toBe(70);
    expect(inflights.full()).toBe(false);
  });

  it('freeLE below the first message frees nothing; above the last frees everything', () => {
    const inflights = new Inflights(4, 0);
    inflights.add(5, 10);
    inflights.add(6, 10);

    inflights.freeLE(4);
    expect(inflights.count()).toBe(2);
    inflights.freeLE(100);

    expect(inflights.count()).toBe(0);
    expect(inflights.sizeBytes()).toBe(0);
  });

  it('freeFirst frees the oldest message only, acknowledged or not (for a window whose answers were all lost)', () => {
    const inflights = new Inflights(3, 0);
    inflights.add(4, 10);
    inflights.add(7, 20);
    inflights.add(9, 30);

    inflights.freeFirst();

    expect(inflights.count()).toBe(2);
    expect(inflights.sizeBytes()).toBe(50);
    expect(inflights.full()).toBe(false);
    inflights.freeFirst();
    inflights.freeFirst();
    inflights.freeFirst();
    expect(inflights.count()).toBe(0);
  });

  it('refuses an index that does not increase (messages are added in send order)', () => {
    const inflights = new Inflights(4, 0);
    inflights.add(5, 1);

    expect(() => inflights.add(5, 1)).toThrow(InvariantError);
    expect(() => inflights.add(4, 1)).toThrow(InvariantError);
    expect(inflights.count()).toBe(1);
  });

  it('refuses to add while full', () => {
    const inflights = new Inflights(1, 0);
    inflights.add(1, 1);

    expect(() => inflights.add(2, 1)).toThrow(InvariantError);
  });

  it('reset empties the window', () => {
    const inflights = new Inflights(2, 10);
    inflights.add(1, 5);
    inflights.add(2, 5);

    inflights.reset();

    expect(inflights.count()).toBe(0);
    expect(inflights.sizeBytes()).toBe(0);
    expect(inflights.full()).toBe(false);
    inflights.add(1, 1);
  });

  it.each([
    [0, 0],
    [1.5, 0],
    [1, -1],
  ])('rejects maxCount %d / maxBytes %d', (maxCount, maxBytes) => {
    expect(() => new Inflights(maxCount, maxBytes)).toThrow(InvariantError);
  });

  test('property: matches a naive list of (lastIndex, bytes) under any add/freeLE sequence', () => {
    type Op = { kind: 'add'; gap: number; bytes: number } | { kind: 'free'; back: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), gap: fc.integer({ min: 1, max: 3 }), bytes: fc.nat({ max: 50 }) }),
      fc.record({ kind: fc.constant('free' as const), back: fc.nat({ max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.nat({ max: 120 }), fc.array(op, { maxLength: 40 }), (maxCount, maxBytes, ops: Op[]) => {
        const inflights = new Inflights(maxCount, maxBytes);
        let naive: { index: number; bytes: number }[] = [];
        let lastIndex = 0;
        const naiveFull = (): boolean =>
          naive.length >= maxCount || (maxBytes > 0 && naive.reduce((sum, m) => sum + m.bytes, 0) >= maxBytes);
        for (const o of ops) {
          if (o.kind === 'add') {
            if (naiveFull()) continue;
            lastIndex += o.gap;
            inflights.add(lastIndex, o.bytes);
            naive.push({ index: lastIndex, bytes: o.bytes });
          } else {
            const acked = lastIndex - o.back;
            inflights.freeLE(acked);
            naive = naive.filter((m) => m.index > acked);
          }
          expect(inflights.count()).toBe(naive.length);
          expect(inflights.sizeBytes()).toBe(naive.reduce((sum, m) => sum + m.bytes, 0));
          expect(inflights.full()).toBe(naiveFull());
        }
      }),
    );
  });
});
