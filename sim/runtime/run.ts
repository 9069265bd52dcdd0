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
import { drawParams } from '../world/params.js';
import { splitStreams } from '../world/streams.js';
import { FaultInjector } from '../world/world-faults.js';
import { describeError } from '../world/errors.js';
import { World, WorldStopped } from '../world/world.js';
import { electionMsMax, runLivenessPhase } from './liveness.js';
import { resolveRunOptions } from './options.js';
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

async function runResolved(seed: number, options: ResolvedRunOptions): Promise<RunReport> {
  // Wall time is only measured for the report; nothing inside the world reads it.
  const wallStarted = performance.now();
  const streams = splitStreams(seed);
  const params = options.adjustParams(drawParams(streams.params, { nodes: options.nodes, faults: options.faults, clients: options.clients }));
  const world = new World({ params, streams, traceTail: options.traceTail });
  let violation: Violation | null = null;
  let livenessFailure: RunReport['livenessFailure'] = null;
  let linearizability: RunReport['linearizability'] = 'not checked';
  try {
    const faults = new FaultInjector(world);
    await world.start();
    faults.schedule(drawFaultSchedule(streams.faults, params, options.durationMs));
    await world.runUntil(options.durationMs);
    const missing = await runLivenessPhase(world, faults, livenessBound(world, options));
    if (missing !== null) livenessFailure = { detail: missing, trace: world.trace.last() };
    const checked = checkHistory(world, options);
    linearizability = checked.verdict;
    violation = checked.violation;
  } catch (error) {
    violation = error instanceof WorldStopped ? error.finding : crashFinding(world, error);
  }
  const operations = world.recorder.history();
  return {
    seed,
    ok: violation === null && livenessFailure === null && linearizability === 'ok',
    violation,
    livenessFailure: violation === null ? livenessFailure : null,
    linearizability,
    simulatedSeconds: Math.round(world.now()) / 1000,
    wallSeconds: Math.round(performance.now() - wallStarted) / 1000,
    events: world.events,
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
