/**
 * A recorded run replays exactly. The hashes below were recorded from these
 * seeds; they change whenever the runtime, the simulator or the seed's
 * meaning changes on purpose (a new random draw, a new trace line, a
 * behaviour change in src/). When that happens, check that the change was
 * intended, then record the new hash printed by the failure.
 */
import { describe, expect, test } from 'vitest';
import { formatRunReport, runSeed } from '../../../sim/runtime/run.js';

const RECORDED = [
  { seed: 7, options: { durationMs: 2000 }, traceHash: 'fa420affd1f0a5fd' },
  { seed: 42, options: { durationMs: 2000 }, traceHash: '9a67eb705dd1be5a' },
] as const;

describe('replaying a recorded seed', () => {
  test.each(RECORDED.map((run) => [run.seed, run] as const))('seed %i replays to its recorded trace hash', async (_seed, run) => {
    const report = await runSeed(run.seed, run.options);
    if (report.traceHash !== run.traceHash) console.log(`seed ${run.seed} now hashes to ${report.traceHash}\n${formatRunReport(report, true)}`);
    expect(report.ok).toBe(true);
    expect(report.traceHash).toBe(run.traceHash);
  });
});
