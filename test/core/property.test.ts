/**
 * Randomized schedules against 3–5 cores on a simulated network. After every
 * single step the SafetyChecker asserts the invariants of section 2 of the
 * Raft notes (election safety, leader append-only, log matching, leader
 * completeness, state machine safety, monotonic term/commit/applied, durable
 * votes, monotonic matchIndex, and for configuration changes: at most one
 * uncommitted config entry, none before the leader committed in its term,
 * elections and commits by a majority of both halves of a joint
 * configuration). Membership churn adds, promotes and removes nodes — the
 * leader included — one at a time or through joint configurations; each
 * cluster has one spare machine outside its initial configuration to add.
 * Then the network heals, nodes outside the final configuration are shut
 * down, and the cluster must re-elect and converge. A failure shrinks to a minimal schedule and
 * fast-check prints the seed and path that replay it:
 *   KEEL_PROPERTY_SEED=<seed> KEEL_PROPERTY_PATH=<path> npx vitest run test/core/property.test.ts
 * KEEL_PROPERTY_STEPS sets the number of schedule steps (default 150,000; the
 * foundation issue asks for at least 60,000 per CI run).
 * KEEL_PROPERTY_SEED=random explores new schedules.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { emptyStats, applyStep, healAndConverge } from '../../sim/core-schedule.js';
import type { ScheduleStats, ScheduleStep } from '../../sim/core-schedule.js';
import { CoreCluster } from '../../src/testing/core-cluster.js';
import { scheduleStep } from '../support/core-schedule.js';

/** Schedules are up to this long; the length is drawn uniformly so that it shrinks to short schedules. */
const MAX_STEPS = 2000;
const TARGET_STEPS = Number(process.env['KEEL_PROPERTY_STEPS'] ?? 150_000);
/** Enough schedules to pass the target with a margin; the last test asserts the count actually reached. */
const NUM_RUNS = Math.ceil((TARGET_STEPS / (MAX_STEPS / 2)) * 1.3);
/** Fixed by default so CI is reproducible. */
const DEFAULT_SEED = 20261123;
const ELECTION_TICKS = 5;
/**
 * Schedules tried while shrinking a failure, at most. Shrinking a schedule of
 * 2000 steps tries thousands of candidates of about 0.1 s each: a bug that
 * breaks most schedules (truncating unconditionally after prevLogIndex, bug 6
 * of the Raft notes, livelocks every one of them) kept this test busy for
 * hours, and a synchronous property cannot be stopped by the test timeout.
 * Past the budget every candidate passes untried, so fast-check reports the
 * smallest failure found so far (its seed and path replay it). Counted, not
 * timed, so a run stays deterministic.
 */
const SHRINK_ATTEMPTS_MAX = 100;

const totals: ScheduleStats = emptyStats();
/** Once a schedule failed, every later call of the property is a shrinking attempt. */
const shrinking = { failureSeen: false, attempts: 0 };
let invariantChecks = 0;

describe('randomized schedules keep every safety invariant after every step', () => {
  test(`${NUM_RUNS} schedules of up to ${MAX_STEPS} steps: drops, duplicates, reordering, partitions, crashes, compaction, membership churn`, () => {
    const seedOption = process.env['KEEL_PROPERTY_SEED'];
    const seed = seedOption === undefined ? DEFAULT_SEED : seedOption === 'random' ? Date.now() % 2_147_483_647 : Number(seedOption);
    const path = process.env['KEEL_PROPERTY_PATH'];
    console.log(`property seed ${seed} (replay: KEEL_PROPERTY_SEED=${seed} npx vitest run test/core/property.test.ts)`);
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        // A fixed-length schedule and an unbiased prefix length: long runs when generating, short ones when shrinking.
        fc.array(scheduleStep, { minLength: MAX_STEPS, maxLength: MAX_STEPS }),
        fc.noBias(fc.integer({ min: 1, max: MAX_STEPS })),
        (size, clusterSeed, preVote, fullSchedule, length) => {
          if (shrinking.failureSeen && ++shrinking.attempts > SHRINK_ATTEMPTS_MAX) return;
          try {
            runSchedule(size, clusterSeed, preVote, fullSchedule.slice(0, length));
          } catch (error) {
            shrinking.failureSeen = true;
            throw error;
          }
        },
      ),
      { numRuns: NUM_RUNS, seed, ...(path === undefined ? {} : { path }), endOnFailure: false },
    );
  });

  /** One schedule, then healing: every step checks the invariants; throws on a violation or if the cluster does not converge. */
  function runSchedule(size: number, clusterSeed: number, preVote: boolean, schedule: readonly ScheduleStep[]): void {
    const ids = Array.from({ length: size + 1 }, (_, i) => `n${i + 1}`);
    const cluster = new CoreCluster({
      ids,
      voters: ids.slice(0, size),
      seed: clusterSeed,
      raft: { electionTicks: ELECTION_TICKS, heartbeatTicks: 1, preVote, checkQuorum: preVote, maxInflightMsgs: 4, maxMsgBytes: 64 },
    });
    const stats = emptyStats();
    const run = { next: 0, lastLeader: null };
    for (const step of schedule) applyStep(cluster, step, run, stats);
    const ticks = healAndConverge(cluster, 40 * ELECTION_TICKS);
    expect(ticks, 'ticks to re-elect and converge after healing').not.toBeNull();
    invariantChecks += cluster.checker?.steps ?? 0;
    for (const key of Object.keys(totals) as (keyof ScheduleStats)[]) totals[key] += stats[key];
  }

  afterAll(() => {
    console.log(`property: ${invariantChecks} invariant checks in all; ${JSON.stringify(totals)}`);
  });

  test('the schedules reached the situations they are meant to test', () => {
    expect(totals.steps).toBeGreaterThanOrEqual(TARGET_STEPS);
    expect(totals.leaderChanges).toBeGreaterThan(NUM_RUNS);
    expect(totals.proposals).toBeGreaterThan(NUM_RUNS * 3);
    expect(totals.crashes).toBeGreaterThan(NUM_RUNS);
    expect(totals.snapshotsSent).toBeGreaterThan(10);
    expect(totals.reads).toBeGreaterThan(NUM_RUNS);
    expect(totals.transfers).toBeGreaterThan(NUM_RUNS / 2);
    expect(totals.confChanges).toBeGreaterThan(NUM_RUNS / 2);
    expect(totals.jointChanges).toBeGreaterThan(NUM_RUNS / 20);
    expect(totals.leaderRemovals).toBeGreaterThan(NUM_RUNS / 20);
  });
});
