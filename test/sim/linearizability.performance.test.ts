/**
 * The checker on a realistic 10,000-operation history. Only the verdicts are
 * asserted; the elapsed times are logged for reading, and tracked properly
 * by `bench/linearizability.ts` (`keel bench --only linearizability`).
 */

import { describe, expect, test } from 'vitest';
import { buildHistory, randomPlan } from '../../sim/checker/generate-history.js';
import { checkLinearizability } from '../../sim/checker/linearizability.js';
import type { Operation } from '../../sim/history.js';
import { SeededRandom } from '../../src/util/random.js';

const SEED = 20_240_501;

describe('checkLinearizability: a 10,000-operation history', () => {
  // 5 clients, 10 keys, intervals of up to ~20 time units overlapping across
  // clients, 3 % unknown outcomes (half took effect, some after the client
  // gave up) and 2 % failures.
  const history = buildHistory(randomPlan(new SeededRandom(SEED), { operations: 10_000, clients: 5, keys: 10, unknownRate: 0.03, failRate: 0.02, values: 'unique' }));

  test('is accepted', () => {
    const startMs = performance.now();
    const result = checkLinearizability(history);
    console.log(`linearizability: 10,000 operations (seed ${SEED}) accepted in ${(performance.now() - startMs).toFixed(0)} ms`);
    expect(result).toEqual({ ok: true });
  });

  test('with one read corrupted, is rejected on the right key and shrunk to that read', () => {
    const reads = history.filter((operation) => operation.kind === 'get' && operation.outcome === 'ok');
    const victim = reads[Math.floor(reads.length / 2)]!;
    const corrupted = history.map((operation): Operation => (operation === victim ? { ...operation, result: 'never written' } : operation));
    const startMs = performance.now();
    const result = checkLinearizability(corrupted);
    console.log(`linearizability: 10,000 operations with one corrupted read rejected in ${(performance.now() - startMs).toFixed(0)} ms`);
    expect(result).toMatchObject({ ok: false, key: victim.key, minimalOps: [{ id: victim.id }] });
  });
});
