/**
 * madsim's determinism self-check: a run is a pure function of its seed and
 * options, so two runs of a seed produce the same event trace, whatever ran
 * before them in the process; different seeds produce different worlds.
 */
import { describe, expect, test } from 'vitest';
import { runSeed } from '../../../sim/runtime/run.js';

const options = { durationMs: 1500 } as const;

describe('runtime simulator determinism', () => {
  test('the same seed twice gives the same trace hash, event count and history, even with another seed run in between', async () => {
    const first = await runSeed(3, options);
    await runSeed(4, options);
    const again = await runSeed(3, options);

    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(again.operations).toEqual(first.operations);
    expect(again.coverage).toEqual(first.coverage);
  });

  test('different seeds give different traces', async () => {
    const hashes = new Set<string>();
    for (const seed of [10, 11, 12, 13]) hashes.add((await runSeed(seed, options)).traceHash);
    expect(hashes.size).toBe(4);
  });

  test('options are part of the run: a longer fault phase is a different run of the same seed', async () => {
    const short = await runSeed(5, options);
    const long = await runSeed(5, { durationMs: 1600 });
    expect(long.traceHash).not.toBe(short.traceHash);
  });
});
