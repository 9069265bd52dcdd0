import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { checkLinearizability, type LinearizabilityResult, type ViolationResult } from '../../sim/checker/linearizability.js';
import type { Operation } from '../../sim/history.js';
import { append, cas, del, failed, get, history, neverAnswered, put, unknown } from './history-builders.js';

function expectViolation(result: LinearizabilityResult, key: string): ViolationResult {
  if (result.ok !== false) throw new Error(`expected a violation on ${JSON.stringify(key)}, got ${JSON.stringify(result)}`);
  expect(result.key).toBe(key);
  return result;
}

describe('checkLinearizability: linearizable histories', () => {
  test('an empty history is linearizable', () => {
    expect(checkLinearizability([])).toEqual({ ok: true });
  });

  test('a sequential history that follows the key-value semantics', () => {
    const operations = history(
      get('c1', 'x', [0, 1], null),
      put('c1', 'x', '1', [2, 3]),
      get('c1', 'x', [4, 5], '1'),
      append('c1', 'x', '2', [6, 7]),
      get('c1', 'x', [8, 9], '12'),
      del('c1', 'x', [10, 11]),
      get('c1', 'x', [12, 13], null),
      append('c1', 'x', 'a', [14, 15]),
      get('c1', 'x', [16, 17], 'a'),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('a read concurrent with a write may see the old or the new value', () => {
    for (const seen of ['0', '1']) {
      const operations = history(put('c1', 'x', '0', [0, 1]), put('c1', 'x', '1', [10, 20]), get('c2', 'x', [12, 18], seen));
      expect(checkLinearizability(operations), `read sees ${seen}`).toEqual({ ok: true });
    }
  });

  test('concurrent writes may take effect in either order, as long as every reader agrees', () => {
    const operations = history(
      put('c1', 'x', '1', [0, 10]),
      put('c2', 'x', '2', [0, 10]),
      // The readers saw 2 and then 1: so 2 took effect first.
      get('c3', 'x', [1, 4], '2'),
      get('c4', 'x', [5, 9], '1'),
      get('c3', 'x', [11, 12], '1'),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('an unknown write that took effect, observed after the client gave up', () => {
    const operations = history(
      put('c1', 'x', '0', [0, 1]),
      unknown(put('c1', 'x', '1', [2, 5])),
      get('c2', 'x', [6, 7], '0'),
      // It took effect late, after the client's timeout at 5: that is allowed.
      get('c2', 'x', [8, 9], '1'),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('an unknown write that never took effect', () => {
    const operations = history(put('c1', 'x', '0', [0, 1]), unknown(put('c1', 'x', '1', [2, 5])), get('c2', 'x', [6, 7], '0'), get('c2', 'x', [8, 9], '0'));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('operations that were never answered may have taken effect, or not', () => {
    const applied = history(neverAnswered(append('c1', 'x', 'a', [0, 1])), get('c2', 'x', [5, 6], 'a'));
    const lost = history(neverAnswered(append('c1', 'x', 'a', [0, 1])), get('c2', 'x', [5, 6], null));
    expect(checkLinearizability(applied)).toEqual({ ok: true });
    expect(checkLinearizability(lost)).toEqual({ ok: true });
  });

  test('an unknown delete and an unknown cas that took effect', () => {
    const operations = history(
      put('c1', 'x', 'a', [0, 1]),
      unknown(cas('c1', 'x', 'a', 'b', [2, 3], 'swapped')),
      get('c2', 'x', [4, 5], 'b'),
      unknown(del('c2', 'x', [6, 7])),
      get('c3', 'x', [8, 9], null),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('an unknown delete that took effect, seen only through an append after it', () => {
    // No read ever sees the key absent, yet the delete must have happened:
    // otherwise the append would have produced "oldnew".
    const operations = history(put('c1', 'x', 'old', [0, 1]), unknown(del('c2', 'x', [2, 3])), append('c1', 'x', 'new', [4, 5]), get('c1', 'x', [6, 7], 'new'));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('unknown operations may take effect in another order than they were invoked', () => {
    const operations = history(unknown(append('c1', 'x', 'b', [0, 3])), neverAnswered(put('c2', 'x', 'a', [1, 2])), get('c3', 'x', [0, 1], 'ab'));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('two identical unknown appends may both take effect', () => {
    const operations = history(unknown(append('c1', 'x', 'a', [0, 1])), unknown(append('c2', 'x', 'a', [0, 1])), get('c3', 'x', [5, 6], 'aa'));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('failed operations are ignored', () => {
    const operations = history(put('c1', 'x', '0', [0, 1]), failed(put('c2', 'x', '1', [2, 3])), get('c1', 'x', [4, 5], '0'), failed(get('c1', 'x', [6, 7], 'nonsense')));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('cas swaps when the value matches and reports the actual value when it does not', () => {
    const operations = history(
      cas('c1', 'x', null, 'a', [0, 1], 'swapped'),
      cas('c1', 'x', null, 'b', [2, 3], { actual: 'a' }),
      cas('c2', 'x', 'a', 'c', [4, 5], 'swapped'),
      cas('c2', 'x', 'a', 'd', [6, 7], { actual: 'c' }),
      get('c1', 'x', [8, 9], 'c'),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('two concurrent cas on the same expected value: exactly one swaps', () => {
    const operations = history(
      put('c0', 'x', 'a', [0, 1]),
      cas('c1', 'x', 'a', 'b', [2, 10], { actual: 'c' }),
      cas('c2', 'x', 'a', 'c', [2, 10], 'swapped'),
      get('c0', 'x', [11, 12], 'c'),
    );
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('concurrent appends may land in either order', () => {
    for (const seen of ['ab', 'ba']) {
      const operations = history(append('c1', 'x', 'a', [0, 10]), append('c2', 'x', 'b', [0, 10]), get('c3', 'x', [11, 12], seen));
      expect(checkLinearizability(operations), `read sees ${seen}`).toEqual({ ok: true });
    }
  });

  test('intervals are closed: operations whose intervals touch count as concurrent', () => {
    // The read starts at 10, the instant the second put returns: it may still precede it.
    const operations = history(put('c1', 'x', '1', [0, 5]), put('c1', 'x', '2', [6, 10]), get('c2', 'x', [10, 12], '1'));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });

  test('keys are independent: each one only has to be consistent with itself', () => {
    const operations = history(put('c1', 'x', '1', [0, 10]), put('c1', 'y', '1', [0, 10]), get('c2', 'x', [11, 12], '1'), get('c2', 'y', [11, 12], '1'), get('c2', 'z', [11, 12], null));
    expect(checkLinearizability(operations)).toEqual({ ok: true });
  });
});

describe('checkLinearizability: non-linearizable histories', () => {
  test('a stale read after a completed write', () => {
    const operations = history(put('c1', 'x', '1', [0, 10]), put('c2', 'x', '2', [12, 20]), get('c3', 'x', [25, 30], '1'));
    const violation = expectViolation(checkLinearizability(operations), 'x');
    expect(violation.minimalOps?.map((operation) => operation.id)).toEqual([0, 1, 2]);
  });

  test('a read of a value that was never written', () => {
    const operations = history(put('c1', 'x', '1', [0, 10]), get('c2', 'x', [5, 15], '7'));
    const violation = expectViolation(checkLinearizability(operations), 'x');
    expect(violation.explanation).toContain('read "7" but the value was');
    // The read alone is the whole story: no write could have produced "7".
    expect(violation.minimalOps?.map((operation) => operation.id)).toEqual([1]);
  });

  test('two readers that see concurrent writes in contradicting orders', () => {
    const operations = history(
      put('w1', 'x', '1', [0, 100]),
      put('w2', 'x', '2', [0, 100]),
      get('r1', 'x', [10, 20], '1'),
      get('r1', 'x', [30, 40], '2'),
      get('r2', 'x', [10, 20], '2'),
      get('r2', 'x', [30, 40], '1'),
    );
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('a cas that reported a swap although the value differed', () => {
    const operations = history(put('c1', 'x', 'a', [0, 1]), cas('c2', 'x', 'b', 'c', [2, 3], 'swapped'));
    const violation = expectViolation(checkLinearizability(operations), 'x');
    expect(violation.explanation).toContain('swapped, but the value was "a", not the expected "b"');
  });

  test('a cas mismatch that reports a wrong actual value', () => {
    const operations = history(put('c1', 'x', 'a', [0, 1]), cas('c2', 'x', 'b', 'c', [2, 3], { actual: 'z' }));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('a lost acknowledged append', () => {
    const operations = history(append('c1', 'x', 'a', [0, 5]), append('c2', 'x', 'b', [6, 10]), get('c3', 'x', [11, 12], 'b'));
    const violation = expectViolation(checkLinearizability(operations), 'x');
    expect(violation.minimalOps?.map((operation) => operation.id)).toEqual([0, 1, 2]);
  });

  test('a read that sees a failed write', () => {
    const operations = history(put('c1', 'x', '0', [0, 1]), failed(put('c2', 'x', '1', [2, 3])), get('c1', 'x', [4, 5], '1'));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('a read that sees an unknown write before it was invoked', () => {
    const operations = history(get('c1', 'x', [0, 5], '1'), unknown(put('c2', 'x', '1', [6, 7])));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('a deleted value read after the delete completed', () => {
    const operations = history(put('c1', 'x', '1', [0, 1]), del('c1', 'x', [2, 3]), get('c2', 'x', [4, 5], '1'));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('the value goes back in time: a reader sees the old value after another saw the new one', () => {
    const operations = history(put('c1', 'x', '1', [0, 1]), put('c1', 'x', '2', [2, 20]), get('c2', 'x', [5, 6], '2'), get('c3', 'x', [7, 8], '1'));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('strictly separated intervals are ordered in real time', () => {
    const operations = history(put('c1', 'x', '1', [0, 5]), put('c1', 'x', '2', [6, 10]), get('c2', 'x', [11, 12], '1'));
    expectViolation(checkLinearizability(operations), 'x');
  });

  test('the bad key is named among good ones, and the first bad key in sorted order wins', () => {
    const good = (key: string): Operation[] => history(put('c1', key, '1', [0, 1]), get('c2', key, [2, 3], '1'));
    const bad = (key: string): Operation[] => history(put('c1', key, '1', [0, 1]), get('c2', key, [2, 3], '2'));
    const operations = [...good('a'), ...bad('m'), ...good('q'), ...bad('d')].map((operation, id) => ({ ...operation, id }));
    expectViolation(checkLinearizability(operations), 'd');
  });
});

describe('checkLinearizability: the failure report', () => {
  const operations = history(put('alice', 'x', '1', [0, 10]), put('bob', 'x', '2', [12, 20]), get('carol', 'x', [25, 30], '1'), get('dave', 'y', [0, 1], null));

  test('names the key, the operations with their clients and times, the prefix and where the search got stuck', () => {
    const violation = expectViolation(checkLinearizability(operations), 'x');
    const text = violation.explanation;
    expect(text).toContain('Key "x" is not linearizable');
    expect(text).toContain('#0 alice put("1") [0, 10]');
    expect(text).toContain('#1 bob put("2") [12, 20]');
    expect(text).toContain('Longest linearizable prefix found (2 operations)');
    expect(text).toContain('Stuck with the value "2": #2 carol get → "1" [25, 30] had to take effect by 30');
    expect(text).toContain('read "1" but the value was "2"');
    expect(text).toContain('A minimal non-linearizable sub-history (3 operations');
    expect(violation.longestPrefix.map((operation) => operation.id)).toEqual([0, 1]);
  });

  test('minimisation can be switched off', () => {
    const violation = expectViolation(checkLinearizability(operations, { minimize: false }), 'x');
    expect(violation.minimalOps).toBeUndefined();
    expect(violation.explanation).not.toContain('minimal');
  });

  test('a minimal sub-history keeps the writes that produced the values it reads', () => {
    // Without that rule, "get → 1" alone would be a smaller, misleading witness.
    const noisy = history(
      put('c1', 'x', '1', [0, 10]),
      get('c4', 'x', [11, 12], '1'),
      append('c4', 'x', '!', [13, 14]),
      put('c2', 'x', '2', [15, 20]),
      get('c4', 'x', [21, 22], '2'),
      get('c3', 'x', [25, 30], '1!'),
    );
    const violation = expectViolation(checkLinearizability(noisy), 'x');
    expect(violation.minimalOps?.map((operation) => operation.id)).toEqual([0, 2, 3, 5]);
  });
});

describe('checkLinearizability: budgets', () => {
  const busy = history(
    put('c1', 'x', '1', [0, 10]),
    put('c2', 'x', '2', [0, 10]),
    put('c3', 'x', '3', [0, 10]),
    get('c4', 'x', [11, 12], '1'),
    get('c1', 'y', [0, 1], null),
  );

  test('an exhausted step budget gives an undecided result naming the keys', () => {
    const result = checkLinearizability(busy, { maxStepsPerKey: 3 });
    expect(result).toEqual({ ok: 'unknown', reason: expect.stringContaining('step budget of 3 per key ran out for "x"'), undecidedKeys: ['x'] });
  });

  test('an expired timeout gives an undecided result', () => {
    let clock = 0;
    const result = checkLinearizability(busy, { timeoutMs: 5, now: () => (clock += 10) });
    expect(result).toMatchObject({ ok: 'unknown', undecidedKeys: ['x', 'y'] });
    expect(result.ok === 'unknown' && result.reason).toContain('5 ms timeout ran out');
  });

  test('a violation wins over an undecided key', () => {
    const operations = [...busy, ...history(get('c1', 'z', [0, 1], 'never written'))].map((operation, id) => ({ ...operation, id }));
    expectViolation(checkLinearizability(operations, { maxStepsPerKey: 3 }), 'z');
  });
});

describe('checkLinearizability: input validation', () => {
  const base = put('c1', 'x', '1', [0, 1]);

  test.each([
    ['a duplicate id', [{ ...base, id: 1 }, { ...base, id: 1 }], 'appears twice'],
    ['completion before invocation', [{ ...base, id: 0, completeTime: -1 }], 'before invokeTime'],
    ['an ok outcome without a completion time', [{ ...base, id: 0, completeTime: null }], 'needs a completeTime'],
    ['a non-finite time', [{ ...base, id: 0, invokeTime: Number.NaN }], 'invokeTime must be finite'],
    ['an unknown kind', [{ ...base, id: 0, kind: 'increment' }], 'unknown kind'],
    ['a cas without a result', [{ ...cas('c1', 'x', null, 'a', [0, 1], 'swapped'), id: 0, result: undefined }], 'needs a result'],
    ['a get whose result is not a string', [{ ...get('c1', 'x', [0, 1], null), id: 0, result: 7 }], 'string or null'],
  ])('rejects %s with a typed error', (_name, operations, message) => {
    const check = (): unknown => checkLinearizability(operations as unknown as Operation[]);
    expect(check).toThrow(InvalidArgumentError);
    expect(check).toThrow(message);
  });

  test('rejects malformed options', () => {
    expect(() => checkLinearizability([], { timeoutMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => checkLinearizability([], { maxStepsPerKey: 0 })).toThrow(InvalidArgumentError);
  });
});
