/**
 * The CI swarm: 300 seeds × 20 simulated seconds, each seed its own world
 * (cluster size, timeouts, fault mix and rates), all faults allowed
 * (membership churn included). It must
 * find no violation and no liveness failure, except the known, reported bugs
 * of known-bugs.ts (printed, not hidden). Every failure prints its seed,
 * finding, trace tail and replay command.
 *
 * The seeds are split over four test files (swarm-1..4.test.ts) so that
 * vitest runs the quarters in parallel; each quarter must reach every
 * coverage mark on its own.
 */
import { describe, expect, test } from 'vitest';
import { formatRunReport, formatSwarmReport, runSwarm } from '../../../sim/runtime/run.js';
import type { CoverageMark } from '../../../sim/world/coverage.js';
import { knownBugOf } from './known-bugs.js';

/** First seed of the swarm; seeds run from here for {@link SWARM_SEEDS}. */
const FIRST_SEED = 1000;
export const SWARM_SEEDS = 300;
export const SWARM_QUARTERS = 4;
const DURATION_MS = 20_000;

/** Situations a healthy swarm of this size reaches; a swarm that stops reaching one has lost its teeth there. */
const MUST_REACH: readonly CoverageMark[] = [
  'leaderElected',
  'leaderChanged',
  'unsyncedWriteLost',
  'snapshotTaken',
  'snapshotTransferred',
  'readServedOnFollower',
  'proposalForwarded',
  'transferCompleted',
  'crash',
  'pause',
  'partition',
  'ioErrorStopped',
  'clientRetried',
  'nodeJoined',
  'learnerAdded',
  'voterAdded',
  'memberRemoved',
  'leaderRemoved',
  'memberReplaced',
  'leaderReplaced',
  'jointEntered',
  'jointLeft',
  'changeRefused',
];

/** Declares the test of quarter `quarter` (1-based) of the swarm. */
export function swarmQuarter(quarter: number): void {
  const size = SWARM_SEEDS / SWARM_QUARTERS;
  const SEEDS = Array.from({ length: size }, (_, i) => FIRST_SEED + (quarter - 1) * size + i);
  describe(`runtime simulator swarm, quarter ${quarter} of ${SWARM_QUARTERS}`, () => {
    test(`seeds ${SEEDS[0]}..${SEEDS[SEEDS.length - 1]} × ${DURATION_MS / 1000} simulated seconds with all faults: no violation, the core always recovers`, async () => {
      const unexpected: string[] = [];
      const swarm = await runSwarm(SEEDS, { durationMs: DURATION_MS }, (report) => {
        if (report.ok) return;
        const known = knownBugOf(report);
        if (known !== undefined) console.log(`seed ${report.seed} hit known bug ${known.id} (see test/sim/runtime/known-bugs.ts)`);
        else unexpected.push(formatRunReport(report));
      });
      console.log(formatSwarmReport(swarm));

      expect(unexpected, unexpected.join('\n\n')).toEqual([]);
      expect(swarm.undecided).toBe(0);
      for (const mark of MUST_REACH) expect(swarm.coverage[mark], `coverage mark ${mark}`).toBeGreaterThan(0);
    });
  });
}
