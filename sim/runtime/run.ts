/**
 * The runtime-level simulator's entry points: {@link runSeed} runs one
 * deterministic world (a fault phase with clients and safety checks after
 * every event, a liveness phase with a healed core, then a linearizability
 * check of the client history); {@link runSwarm} runs many seeds.
 *
 * A run is a pure function of its seed and options; only `wallSeconds`
 * depends on the machine. A crash inside the world is reported as a finding
 * of its seed, never thrown.
 */
import { InvalidArgumentError } from '../../src/errors.js';
import { checkLinearizability } from '../checker/linearizability.js';
import { drawFaultSchedule } from '../world/faults.js';
import type { ScheduledFault } from '../world/faults.js';
import { drawParams, driftTicksPerElection } from '../world/params.js';
import type { WorldParams } from '../world/params.js';
import { checkScenario, drawnScenario, restrictFaults, scenarioParams } from '../world/scenario.js';
import type { Scenario } from '../world/scenario.js';
import { splitStreams } from '../world/streams.js';
import type { WorldStreams } from '../world/streams.js';
import type { WorldTap } from '../world/tap.js';
import { FaultInjector } from '../world/world-faults.js';
import { describeError } from '../world/errors.js';
import { World, WorldStopped } from '../world/world.js';
import { WorldOverBudget } from '../world/budget.js';
import type { BudgetFailure } from '../world/budget.js';
import { electionMsMax, runLivenessPhase } from './liveness.js';
import { defaultMaxEvents, defaultMaxHeldItems, resolveRunOptions } from './options.js';
import { PLANTED_BUGS } from './planted-bugs.js';
import type { ResolvedRunOptions, RunOptions } from './options.js';
import { replayCommand, summarizeSwarm } from './report.js';
import type { RunReport, SwarmReport, Violation } from './report.js';

export type { RunOptions } from './options.js';
export type { RunReport, SwarmReport, Violation } from './report.js';
export { formatRunReport, formatSwarmReport } from './report.js';

/** Runs the world of `seed`. Throws `InvalidArgumentError` for bad options only. */
export async function runSeed(seed: number, options: RunOptions = {}): Promise<RunReport> {
  checkSeed(seed);
  const resolved = resolveRunOptions(options);
  return runResolved(seed, resolved);
}

/**
 * Runs the world of `seed` with a tap that sees every event and message
 * (the timeline of `keel sim --trace`). The run is the same as without it.
 */
export async function runSeedWithTap(seed: number, options: RunOptions, tap: WorldTap): Promise<RunReport> {
  checkSeed(seed);
  return runResolved(seed, resolveRunOptions(options), tap);
}

/**
 * Runs every seed in order and sums the reports. `onReport` sees each run as
 * it finishes (for progress output and printing failing seeds at once).
 */
export async function runSwarm(seeds: Iterable<number>, options: RunOptions = {}, onReport?: (report: RunReport) => void): Promise<SwarmReport> {
  const resolved = resolveRunOptions(options);
  const started = performance.now();
  const reports: RunReport[] = [];
  for (const seed of seeds) {
    checkSeed(seed);
    const report = await runResolved(seed, resolved);
    reports.push(report);
    onReport?.(report);
  }
  return summarizeSwarm(reports, (performance.now() - started) / 1000);
}

async function runResolved(seed: number, options: ResolvedRunOptions, tap?: WorldTap): Promise<RunReport> {
  // Wall time is only measured for the report; nothing inside the world reads it.
  const wallStarted = performance.now();
  const streams = splitStreams(seed);
  const { params, schedule } = drawRun(streams, options);
  const budget = { maxEvents: options.maxEvents ?? defaultMaxEvents(options.durationMs), maxHeldItems: options.maxHeldItems ?? defaultMaxHeldItems(options.durationMs) };
  const world = new World({ params, streams, traceTail: options.traceTail, tap, plugin: options.plugin, budget });
  let violation: Violation | null = null;
  let budgetFailure: BudgetFailure | null = null;
  let livenessFailure: RunReport['livenessFailure'] = null;
  let linearizability: RunReport['linearizability'] = 'not checked';
  try {
    const faults = new FaultInjector(world);
    await world.start();
    faults.schedule(schedule);
    await world.runUntil(options.durationMs);
    const missing = await runLivenessPhase(world, faults, livenessBound(world, options));
    if (missing !== null) livenessFailure = { detail: missing, trace: world.trace.last() };
    world.checkHeldBudget();
    const checked = checkHistory(world, options);
    linearizability = checked.verdict;
    violation = checked.violation ?? checkWorkload(world);
  } catch (error) {
    if (error instanceof WorldOverBudget) budgetFailure = error.failure;
    else violation = error instanceof WorldStopped ? error.finding : crashFinding(world, error);
  }
  const operations = world.recorder.history();
  return {
    seed,
    ok: violation === null && livenessFailure === null && budgetFailure === null && linearizability === 'ok',
    violation,
    livenessFailure: violation === null && budgetFailure === null ? livenessFailure : null,
    budgetFailure,
    linearizability,
    simulatedSeconds: Math.round(world.now()) / 1000,
    wallSeconds: Math.round(performance.now() - wallStarted) / 1000,
    events: world.events,
    peakHeldItems: world.peakHeldItems,
    traceHash: world.trace.hash,
    coverage: world.coverage,
    operations: {
      total: operations.length,
      ok: operations.filter((operation) => operation.outcome === 'ok').length,
      unknown: operations.filter((operation) => operation.outcome === 'unknown').length,
    },
    world: {
      nodes: params.ids.length,
      faults: params.faults,
      tickIntervalMs: params.tickIntervalMs,
      electionTicks: params.electionTicks,
      clients: params.clients,
      leaseReads: params.leaseReads,
    },
    replay: replayCommand(seed, options),
  };
}

/** What a run of `seed` with `options` is made of: its world and its fault schedule. */
export interface DrawnRun {
  /** The parameters the world runs with (planted bug, adjustments and scenario applied). */
  readonly params: WorldParams;
  /** The faults that strike, in order. */
  readonly schedule: readonly ScheduledFault[];
  /** The scenario of this run: the one given in the options, or the one the seed drew. */
  readonly scenario: Scenario;
  /** The parameters before a scenario trimmed them: what a scenario for this seed must fit. */
  readonly drawnParams: WorldParams;
}

/** Draws the world and schedule of `seed` without running it (the shrinker starts from these). */
export function drawSeed(seed: number, options: RunOptions = {}): DrawnRun {
  checkSeed(seed);
  return drawRun(splitStreams(seed), resolveRunOptions(options));
}

/**
 * Draws in the same order whether or not a scenario replaces the schedule,
 * so the streams stand at the same place afterwards: a seed's own drawn
 * scenario replays to exactly the run of the seed.
 */
function drawRun(streams: WorldStreams, options: ResolvedRunOptions): DrawnRun {
  const drawn = drawParams(streams.params, { nodes: options.nodes, faults: options.faults, clients: options.clients });
  const planted = options.plantedBug === undefined ? drawn : PLANTED_BUGS[options.plantedBug].plant(drawn);
  const drawnParams = options.adjustParams(planted);
  checkClockAssumption(drawnParams);
  const drawnSchedule = drawFaultSchedule(streams.faults, drawnParams, options.durationMs);
  const scenario = options.scenario ?? drawnScenario(drawnParams, drawnSchedule);
  if (options.scenario === undefined) return { params: drawnParams, schedule: drawnSchedule, scenario, drawnParams };
  checkScenario(scenario, drawnParams);
  const params = scenarioParams(drawnParams, scenario);
  return { params, schedule: restrictFaults(scenario.faults, params.ids), scenario, drawnParams };
}

/** Lease reads are only sound if the clocks drift apart by less than the allowance the nodes are configured with. */
function checkClockAssumption(params: WorldParams): void {
  if (params.leaseReads && driftTicksPerElection(params) >= params.maxClockDriftTicks) {
    throw new InvalidArgumentError(
      `adjusted parameters break the lease's clock assumption: clocks may drift ${driftTicksPerElection(params).toFixed(3)} ticks apart per election timeout, the allowance is ${params.maxClockDriftTicks}`,
    );
  }
}

function livenessBound(world: World, options: ResolvedRunOptions): number {
  return options.livenessBoundMs ?? 20 * electionMsMax(world) + 3 * 3 * world.params.requestTimeoutMs;
}

/** Linearizability of the whole client history, with a deterministic step budget. */
function checkHistory(world: World, options: ResolvedRunOptions): { verdict: RunReport['linearizability']; violation: Violation | null } {
  const result = checkLinearizability(world.recorder.history(), { maxStepsPerKey: options.linearizabilityStepsPerKey });
  if (result.ok === true) return { verdict: 'ok', violation: null };
  if (result.ok === 'unknown') {
    world.record(`linearizability undecided: ${result.reason}`);
    return { verdict: 'undecided', violation: null };
  }
  const violation = { invariant: 'Linearizability', detail: result.explanation, atMs: world.now(), trace: world.trace.last() };
  return { verdict: 'violation', violation };
}

/** The plugged-in workload's own check of its history, if it has one. */
function checkWorkload(world: World): Violation | null {
  const found = world.workload.check?.() ?? null;
  if (found === null) return null;
  world.record(`FINDING ${found.invariant}: ${found.detail}`);
  return { invariant: found.invariant, detail: found.detail, atMs: world.now(), trace: world.trace.last() };
}

/** An exception that escaped the world: a finding of this seed, with the stack to debug it. */
function crashFinding(world: World, error: unknown): Violation {
  const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : '';
  return { invariant: 'World crash', detail: `${describeError(error)}${stack}`, atMs: world.now(), trace: world.trace.last() };
}

function checkSeed(seed: number): void {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed <= 0xffff_ffff)) {
    throw new InvalidArgumentError(`seed must be an integer from 0 to 2^32-1, got ${String(seed)}`);
  }
}
