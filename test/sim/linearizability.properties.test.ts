/**
 * Properties of the checker. fast-check prints the seed and the shrunk
 * counterexample of any failure; replay it with `{ seed, path }` in the
 * property's parameters.
 */

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { buildHistory } from '../../sim/checker/generate-history.js';
import { checkLinearizability } from '../../sim/checker/linearizability.js';
import { unproducibleObservers } from '../../sim/checker/minimize.js';
import type { CasResult, Operation } from '../../sim/history.js';
import { arbitraryHistory, historyPlan, perturbResponse } from './arbitraries.js';
import { naiveIsLinearizable } from './naive-checker.js';

/** A verdict as a string, with the explanation when it is not `ok`, so a failing assertion shows it. */
function describeVerdict(history: readonly Operation[]): string {
  const result = checkLinearizability(history);
  return result.ok === true ? 'ok' : result.ok === false ? `violation:\n${result.explanation}` : `unknown: ${result.reason}`;
}

describe('checkLinearizability: properties', () => {
  test('(a) histories generated from a sequential store with real linearization points are accepted', () => {
    fc.assert(
      fc.property(historyPlan(60), (plan) => {
        expect(describeVerdict(buildHistory(plan))).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  test('(b) a completed read of a value no write could produce is rejected, on its key', () => {
    fc.assert(
      fc.property(historyPlan(40), fc.nat(), (plan, choice) => {
        const history = buildHistory(plan);
        const reads = history.filter((operation) => operation.kind === 'get' && operation.outcome === 'ok');
        fc.pre(reads.length > 0);
        const victim = reads[choice % reads.length]!;
        const corrupted = history.map((operation) => (operation === victim ? { ...operation, result: 'never-written' } : operation));
        const result = checkLinearizability(corrupted);
        expect(result).toMatchObject({ ok: false, key: victim.key });
      }),
      { numRuns: 200 },
    );
  });

  const smallHistory = fc.oneof(
    arbitraryHistory(8),
    fc
      .tuple(historyPlan(7), fc.nat(), fc.constantFrom<string | null>(null, 'a', 'b', 'ab'), fc.constantFrom<CasResult>({ status: 'swapped' }, { status: 'mismatch', actual: 'a' }), fc.boolean())
      .map(([plan, choice, read, casResult, perturb]) => {
        const history = buildHistory(plan);
        return perturb ? perturbResponse(history, choice, read, casResult) : history;
      }),
  );

  test('(c) agrees with a brute-force checker on small histories', () => {
    fc.assert(
      fc.property(smallHistory, (history) => {
        expect(checkLinearizability(history).ok).toBe(naiveIsLinearizable(history));
      }),
      { numRuns: 4_000 },
    );
  });

  test('(d) a minimal sub-history is a subset of the bad key, non-linearizable and 1-minimal', () => {
    fc.assert(
      fc.property(smallHistory, (history) => {
        const result = checkLinearizability(history);
        fc.pre(result.ok === false);
        if (result.ok !== false || result.minimalOps === undefined) throw new Error('a violation must carry minimal ops');
        const minimal = result.minimalOps;
        expect(minimal.every((operation) => history.includes(operation) && operation.key === result.key)).toBe(true);
        expect(naiveIsLinearizable(minimal)).toBe(false);
        // Dropping any one operation makes it linearizable, or leaves a read
        // of a value that only the dropped operation could have written.
        const exempt = new Set(unproducibleObservers(history.filter((operation) => operation.key === result.key)));
        for (const dropped of minimal) {
          const smaller = minimal.filter((operation) => operation !== dropped);
          const loses = unproducibleObservers(smaller).some((operation) => !exempt.has(operation));
          expect(naiveIsLinearizable(smaller) || loses, `#${dropped.id} could also be dropped`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('(e) the verdict does not depend on the order of the history or on the ids', () => {
    fc.assert(
      fc.property(
        historyPlan(30).chain((plan) => {
          const history = buildHistory(plan);
          return fc.tuple(fc.constant(history), fc.shuffledSubarray(history, { minLength: history.length, maxLength: history.length }));
        }),
        fc.boolean(),
        ([history, shuffled], corrupt) => {
          const reads = history.filter((operation) => operation.kind === 'get' && operation.outcome === 'ok');
          const victim = corrupt ? reads[0] : undefined;
          const prepare = (operations: readonly Operation[]): Operation[] =>
            operations.map((operation, index) => ({ ...operation, id: 1_000 - index, ...(operation === victim ? { result: 'corrupt' } : {}) }) as Operation);
          const original = checkLinearizability(prepare(history), { minimize: false });
          const reordered = checkLinearizability(prepare(shuffled), { minimize: false });
          expect(reordered.ok).toBe(original.ok);
          expect(reordered.ok === false && reordered.key).toBe(original.ok === false && original.key);
        },
      ),
      { numRuns: 200 },
    );
  });
});
