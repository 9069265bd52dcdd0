/**
 * The simulator has teeth: planted bugs are caught.
 * - A disk that acknowledges writes before they are durable (etcd#14370,
 *   nats-server#7564) lets a crash erase entries a leader already counted as
 *   replicated; the safety checker must report the committed entry that
 *   disappeared.
 * - Gets that read a node's local state without a read barrier return stale
 *   values from partitioned followers; the linearizability check of the
 *   client history must reject it.
 */
import { describe, expect, test } from 'vitest';
import { formatRunReport, runSeed } from '../../../sim/runtime/run.js';
import type { WorldParams } from '../../../sim/world/params.js';

const lyingDisk = (params: WorldParams): WorldParams => ({
  ...params,
  disk: { ...params.disk, acknowledgeBeforeSync: true, latencyMsMin: 2, latencyMsMax: 20 },
});

describe('planted bugs', () => {
  test.each([13, 21, 34])('seed %i: a disk that lies about fsync breaks a safety invariant, and the checker says which', async (seed) => {
    const report = await runSeed(seed, { durationMs: 5000, faults: ['crash'], adjustParams: lyingDisk, livenessBoundMs: 5000 });
    if (report.violation === null) console.log(formatRunReport(report, true));
    expect(report.violation?.invariant).toBe('Leader Completeness');
    expect(report.violation?.trace.length).toBeGreaterThan(0);
  });

  test.each([5, 6])('seed %i: reads without a read barrier are caught by the linearizability check', async (seed) => {
    const report = await runSeed(seed, { durationMs: 4000, faults: ['partition'], adjustParams: (params) => ({ ...params, unsafeReads: true }) });
    expect(report.linearizability).toBe('violation');
    expect(report.violation?.invariant).toBe('Linearizability');
    expect(report.violation?.detail).toContain('A minimal non-linearizable sub-history');
    expect((await runSeed(seed, { durationMs: 4000, faults: ['partition'] })).linearizability).toBe('ok');
  });

  test('the same seeds with an honest disk find nothing', async () => {
    for (const seed of [13, 21, 34]) {
      const report = await runSeed(seed, { durationMs: 5000, faults: ['crash'] });
      expect(report.violation, formatRunReport(report)).toBeNull();
    }
  });
});
