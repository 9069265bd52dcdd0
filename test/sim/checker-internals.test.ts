/**
 * The checker's building blocks, each against a plain reference: the bitset
 * against a `Set`, the interned model against the specification on strings,
 * the event list against an array, the search's linearization against the
 * definition.
 */

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Bitset } from '../../sim/checker/bitset.js';
import { checkKey } from '../../sim/checker/check-key.js';
import { EventList, NIL } from '../../sim/checker/event-list.js';
import { buildHistory } from '../../sim/checker/generate-history.js';
import { applyKv, KvModel, type KvValue } from '../../sim/checker/kv-model.js';
import { isSelfContained } from '../../sim/checker/minimize.js';
import { REJECTED } from '../../sim/checker/model.js';
import { prepareKey } from '../../sim/checker/prepare-key.js';
import type { Operation } from '../../sim/history.js';
import { arbitraryHistory, historyPlan } from './arbitraries.js';
import { append, del, failed, get, history, put, unknown } from './history-builders.js';

const UNBOUNDED = { maxSteps: Number.MAX_SAFE_INTEGER, deadline: Infinity, now: () => 0 };

describe('Bitset', () => {
  // Toggles of bits in a 100-bit set, biased to low bits so long full runs
  // (the compact case) happen as well as ragged ones.
  const toggles = fc.array(fc.oneof(fc.nat({ max: 70 }), fc.nat({ max: 99 })), { maxLength: 300 });

  test('membership, count and snapshot comparisons agree with a Set', () => {
    fc.assert(
      fc.property(toggles, toggles, (first, second) => {
        const build = (bits: readonly number[]): [Bitset, Set<number>] => {
          const bitset = new Bitset(100);
          const reference = new Set<number>();
          for (const bit of bits) {
            if (reference.has(bit)) {
              bitset.clear(bit);
              reference.delete(bit);
            } else {
              bitset.set(bit);
              reference.add(bit);
            }
          }
          return [bitset, reference];
        };
        const [a, setA] = build(first);
        const [b, setB] = build(second);
        const subset = (x: Set<number>, y: Set<number>): boolean => [...x].every((bit) => y.has(bit));
        expect(a.count()).toBe(setA.size);
        for (let bit = 0; bit < 100; bit++) expect(a.has(bit)).toBe(setA.has(bit));
        expect(a.equalsSnapshot(b.snapshot())).toBe(subset(setA, setB) && subset(setB, setA));
        expect(a.includesSnapshot(b.snapshot())).toBe(subset(setB, setA));
        expect(a.isWithinSnapshot(b.snapshot())).toBe(subset(setA, setB));
        expect(a.equalsSnapshot(a.snapshot())).toBe(true);
        if (a.equalsSnapshot(b.snapshot())) expect(a.hash).toBe(b.hash);
      }),
      { numRuns: 300 },
    );
  });

  test('a long run of linearized operations costs a constant-size snapshot', () => {
    const bits = new Bitset(10_000);
    for (let bit = 0; bit < 9_000; bit++) bits.set(bit);
    bits.set(9_500);
    // 281 full words are implicit: the snapshot holds the count and 16 words of window.
    expect(bits.snapshot().length).toBe(1 + 2 * 16);
  });

  test('setting a member twice or clearing a non-member is a bug', () => {
    const bits = new Bitset(8);
    bits.set(3);
    expect(() => bits.set(3)).toThrow('already set');
    expect(() => bits.clear(4)).toThrow('not set');
    expect(() => bits.has(8)).toThrow('out of range');
  });
});

describe('KvModel', () => {
  test('interned states stand for exactly the values the specification computes', () => {
    fc.assert(
      fc.property(arbitraryHistory(12), (operations) => {
        const model = new KvModel();
        let state = model.initialState;
        let value: KvValue = null;
        for (const operation of operations.filter((candidate) => candidate.outcome !== 'fail')) {
          const expected = applyKv(value, operation);
          const actual = model.step(state, operation);
          expect(actual === REJECTED).toBe(expected === REJECTED);
          if (actual === REJECTED || expected === REJECTED) continue;
          expect(model.valueOf(actual)).toBe(expected);
          [state, value] = [actual, expected];
        }
      }),
      { numRuns: 500 },
    );
  });

  test('long append chains are interned by their last step, not rehashed', () => {
    const model = new KvModel();
    let state = model.initialState;
    for (let index = 0; index < 1_000; index++) {
      const next = model.step(state, { id: index, client: 'c', kind: 'append', key: 'k', value: `v${index},`, invokeTime: 0, completeTime: 1, outcome: 'ok' });
      if (next === REJECTED) throw new Error('an append is never rejected');
      state = next;
    }
    expect(model.valueOf(state)?.startsWith('v0,v1,v2,')).toBe(true);
    expect(model.valueOf(state)?.length).toBe(4_890);
  });
});

describe('EventList', () => {
  test('lifting nodes and putting them back in reverse order restores the list', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }).chain((size) => fc.tuple(fc.constant(size), fc.shuffledSubarray([...Array(size).keys()].map((node) => node + 1)))), ([size, lifted]) => {
        const order = [...Array(size).keys()].map((node) => node + 1);
        const list = new EventList(size, order);
        const contents = (): number[] => {
          const nodes: number[] = [];
          for (let node = list.first(); node !== NIL; node = list.after(node)) nodes.push(node);
          return nodes;
        };
        for (const node of lifted) list.lift(node);
        expect(contents()).toEqual(order.filter((node) => !lifted.includes(node)));
        for (const node of [...lifted].reverse()) list.unlift(node);
        expect(contents()).toEqual(order);
      }),
    );
  });
});

describe('prepareKey', () => {
  test('leaves out failed operations, unanswered reads and unknown writes nothing observed', () => {
    const operations = history(
      put('c1', 'x', 'a', [0, 1]),
      unknown(put('c2', 'x', 'lost', [2, 3])),
      unknown(get('c3', 'x', [2, 3], null)),
      failed(put('c4', 'x', 'rejected', [2, 3])),
      get('c1', 'x', [4, 5], 'a'),
    );
    const prepared = prepareKey(operations);
    expect(prepared.operations.map((operation) => operation.id)).toEqual([0, 4]);
    expect([prepared.failedCount, prepared.unansweredReadCount, prepared.unobservedWriteCount]).toEqual([1, 1, 1]);
  });

  test('keeps an unknown write whose value shows up, even inside a longer value', () => {
    const operations = history(unknown(append('c1', 'x', 'b', [0, 1])), get('c2', 'x', [2, 3], 'abc'));
    expect(prepareKey(operations).unobservedWriteCount).toBe(0);
  });

  test('ignores observations that completed before the unknown write was invoked', () => {
    const operations = history(get('c1', 'x', [0, 1], 'v'), unknown(put('c2', 'x', 'v', [2, 3])));
    expect(prepareKey(operations).unobservedWriteCount).toBe(1);
  });

  test('keeps an unknown delete if absence is observed later or an append could follow', () => {
    const observed = history(put('c1', 'x', 'a', [0, 1]), unknown(del('c2', 'x', [2, 3])), get('c1', 'x', [4, 5], null));
    const appended = history(put('c1', 'x', 'a', [0, 1]), unknown(del('c2', 'x', [2, 3])), append('c1', 'x', 'b', [4, 5]));
    const unobserved = history(put('c1', 'x', 'a', [0, 1]), unknown(del('c2', 'x', [2, 3])), get('c1', 'x', [4, 5], 'a'));
    expect(prepareKey(observed).unobservedWriteCount).toBe(0);
    expect(prepareKey(appended).unobservedWriteCount).toBe(0);
    expect(prepareKey(unobserved).unobservedWriteCount).toBe(1);
  });
});

describe('the search', () => {
  test('the linearization it returns respects real time and the specification', () => {
    fc.assert(
      fc.property(historyPlan(40), (plan) => {
        const operations = buildHistory(plan);
        for (const key of new Set(operations.map((operation) => operation.key))) {
          const { prepared, result } = checkKey(operations.filter((operation) => operation.key === key), UNBOUNDED);
          if (result.kind !== 'linearizable') throw new Error(`key ${key}: expected a linearization, got ${result.kind}`);
          const order = result.order.map((index) => prepared.operations[index]!);
          expectValidLinearization(order, prepared.operations);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('10,000 concurrent operations on one key do not overflow the stack', () => {
    // Everything overlaps everything: the search stack grows to the full depth.
    const operations = history(...Array.from({ length: 10_000 }, (_, index) => append(`c${index}`, 'x', 'a', [0, 1])));
    expect(checkKey(operations, UNBOUNDED).result.kind).toBe('linearizable');
  });
});

function expectValidLinearization(order: readonly Operation[], operations: readonly Operation[]): void {
  const required = operations.filter((operation) => operation.outcome === 'ok');
  expect(required.every((operation) => order.includes(operation))).toBe(true);
  let value: KvValue = null;
  order.forEach((operation, position) => {
    const after = applyKv(value, operation);
    expect(after, `#${operation.id} at position ${position}`).not.toBe(REJECTED);
    value = after as KvValue;
    // Nothing placed later may have completed before this one was invoked.
    for (const later of order.slice(position + 1)) {
      if (later.outcome === 'ok') expect(later.completeTime >= operation.invokeTime, `#${later.id} after #${operation.id}`).toBe(true);
    }
  });
}

describe('isSelfContained', () => {
  test('every observed value must be a put or cas value followed by appended values', () => {
    expect(isSelfContained(history(put('c', 'x', 'a', [0, 1]), append('c', 'x', 'b', [2, 3]), get('c', 'x', [4, 5], 'abb')))).toBe(true);
    expect(isSelfContained(history(append('c', 'x', 'b', [2, 3]), get('c', 'x', [4, 5], 'bb')))).toBe(true);
    expect(isSelfContained(history(get('c', 'x', [0, 1], null), get('c', 'x', [0, 1], '')))).toBe(true);
    expect(isSelfContained(history(put('c', 'x', 'a', [0, 1]), get('c', 'x', [4, 5], 'ab')))).toBe(false);
    expect(isSelfContained(history(get('c', 'x', [4, 5], 'z')))).toBe(false);
  });
});
