/**
 * The multi-group simulator's entry points: {@link runHostSeed} runs one
 * deterministic multi-group world (a fault phase with clients and per-group
 * safety checks after every event, a liveness phase over every group, then
 * a linearizability check of the client history per key, across shards);
 * {@link runHostSwarm} runs many seeds. A run is a pure function of its seed
 * and options; only `wallSeconds` depends on the machine.
 */
import { defaultMaxEvents, defaultMaxHeldItems } from '../runtime/options.js';
import { WorldOverBudget } from '../world/budget.js';
import type { BudgetFailure } from '../world/budget.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { checkLinearizability } from '../checker/linearizability.js';
import { summarizeSwarm } from '../runtime/report.js';
import type { RunReport, SwarmReport, Violation } from '../runtime/report.js';
import { describeError } from '../world/errors.js';
import { drawFaultSchedule } from '../world/faults.js';
import type { ScheduledFault } from '../world/faults.js';
import type { FaultKind } from '../world/params.js';
import { splitStreams } from '../world/streams.js';
import { TRACE_TAIL_DEFAULT } from '../world/trace.js';
import { WorldStopped } from '../world/world.js';
import { addHostCoverage, emptyHostCoverage } from './host-coverage.js';
import type { HostCoverage } from './host-coverage.js';
import { HostFaultInjector } from './host-faults.js';
import { hostElectionMsMax, runHostLivenessPhase } from './host-liveness.js';
import { drawHostParams, GROUPS_MAX, HOST_FAULT_KINDS } from './host-params.js';
import type { HostParamsRequest, HostWorldParams } from './host-params.js';
import { HostWorld } from './host-world.js';
import { REBALANCE_BUGS } from './sim-rebalance.js';
import type { RebalanceBug } from './sim-rebalance.js';

/** Options of {@link runHostSeed} and {@link runHostSwarm}. */
export interface HostRunOptions {
  /** Simulated length of the fault phase, in milliseconds. @defaultValue 10000 */
  readonly durationMs?: number;
  /** Hosts, 3 to 5. @defaultValue drawn per seed */
  readonly hosts?: number;
  /** Groups, 1 to 64. @defaultValue drawn per seed */
  readonly groups?: number;
  /** Fault kinds the run may use (transfer and churn are ignored), or `'all'`. @defaultValue `'all'` */
  readonly faults?: readonly FaultKind[] | 'all';
  /** How long the liveness phase may take after healing, in simulated milliseconds. @defaultValue 20 election timeouts plus 9 request deadlines */
  readonly livenessBoundMs?: number;
  /** Trace events a finding carries. @defaultValue 200 */
  readonly traceTail?: number;
  /** Search steps per key of the linearizability check. @defaultValue 2000000 */
  readonly linearizabilityStepsPerKey?: number;
  /**
   * Adjusts what each seed drew before the world is built: for experiments
   * and for the simulator's own tests (a disk that lies about fsync must be
   * caught). Must be deterministic. Not part of the replay command.
   */
  readonly adjustParams?: (params: HostWorldParams) => HostWorldParams;
  /**
   * Most world events the run may take; past it the run is a budget failure.
   * @defaultValue 10 × {@link defaultMaxEvents} of `durationMs` (one event here is a host's tick or round, serving all its groups)
   */
  readonly maxEvents?: number;
  /**
   * Most items (log entries on every group's disk, timers and messages in
   * flight, client operations) the world may hold at once.
   * @defaultValue {@link defaultMaxHeldItems} of `durationMs` per group of the world
   */
  readonly maxHeldItems?: number;
  /**
   * Whether the worlds run the sharded service's rebalancer while faults
   * strike (sim-rebalance.ts): true in every world, false in none.
   * @defaultValue drawn per seed (a quarter of the worlds)
   */
  readonly rebalance?: boolean;
  /** A bug planted in the rebalancer's adapter, for the simulator's own tests; not part of the replay command. */
  readonly rebalanceBug?: RebalanceBug;
}

/** {@link HostRunOptions} resolved. */
interface ResolvedHostRunOptions {
  readonly durationMs: number;
  readonly hosts: number | undefined;
  readonly groups: number | undefined;
  readonly faults: readonly FaultKind[];
  readonly livenessBoundMs: number | undefined;
  readonly traceTail: number;
  readonly linearizabilityStepsPerKey: number;
  readonly adjustParams: (params: HostWorldParams) => HostWorldParams;
  readonly maxEvents: number | undefined;
  readonly maxHeldItems: number | undefined;
  readonly rebalance: boolean | undefined;
  readonly rebalanceBug: RebalanceBug | undefined;
}

/** What a multi-group run adds to a {@link RunReport}. */
export interface HostRunReport extends RunReport {
  /** What the multi-group world drew, and its own coverage marks. */
  readonly multiGroup: {
    /** Hosts in the world. */
    readonly hosts: number;
    /** Raft groups, three replicas each. */
    readonly groups: number;
    /** Keys the clients use, each owned by one group. */
    readonly keys: number;
    /** Whether idle groups quiesced. */
    readonly quiescence: boolean;
    /** Whether the world ran the rebalancer, and how many layout changes it drew. */
    readonly rebalance: {
      /** How many times the layout changed during the fault phase. */
      readonly layoutChanges: number;
    } | null;
    /** How often each multi-group mark was reached. */
    readonly coverage: HostCoverage;
  };
}

/** What a multi-group seed draws. */
export interface HostSeedDraw {
  /** The world's parameters, its groups' placement included. */
  readonly params: HostWorldParams;
  /** The faults it will strike, in time order. */
  readonly schedule: readonly ScheduledFault[];
}

/** What a multi-group swarm adds to a {@link SwarmReport}. */
export interface HostSwarmReport extends SwarmReport {
  readonly reports: readonly HostRunReport[];
  /** Multi-group marks summed over all runs. */
  readonly hostCoverage: HostCoverage;
  /** Groups over all runs, and the fewest and most of one run. */
  /** Groups over all runs. */
  readonly groups: {
    /** Groups in all worlds together. */
    readonly total: number;
    /** The fewest groups one world had. */
    readonly min: number;
    /** The most groups one world had. */
    readonly max: number;
  };
}

/** Runs the multi-group world of `seed`. Throws `InvalidArgumentError` for bad options only. */
export async function runHostSeed(seed: number, options: HostRunOptions = {}): Promise<HostRunReport> {
  checkSeed(seed);
  return runResolved(seed, resolveHostRunOptions(options));
}

/** Runs every seed in order; `onReport` sees each run as it finishes. */
export async function runHostSwarm(seeds: Iterable<number>, options: HostRunOptions = {}, onReport?: (report: HostRunReport) => void): Promise<HostSwarmReport> {
  const resolved = resolveHostRunOptions(options);
  const started = performance.now();
  const reports: HostRunReport[] = [];
  for (const seed of seeds) {
    checkSeed(seed);
    const report = await runResolved(seed, resolved);
    reports.push(report);
    onReport?.(report);
  }
  const swarm = summarizeSwarm(reports, (performance.now() - started) / 1000);
  const hostCoverage = emptyHostCoverage();
  for (const report of reports) addHostCoverage(hostCoverage, report.multiGroup.coverage);
  const groupCounts = reports.map((report) => report.multiGroup.groups);
  return {
    ...swarm,
    reports,
    hostCoverage,
    groups: { total: groupCounts.reduce((sum, count) => sum + count, 0), min: Math.min(...groupCounts), max: Math.max(...groupCounts) },
  };
}

/** Draws the world and fault schedule of `seed` without running it. */
export function drawHostSeed(seed: number, options: HostRunOptions = {}): HostSeedDraw {
  checkSeed(seed);
  const resolved = resolveHostRunOptions(options);
  const streams = splitStreams(seed);
  const params = resolved.adjustParams(drawHostParams(streams.params, drawRequest(resolved)));
  return { params, schedule: drawFaultSchedule(streams.faults, params.world, resolved.durationMs) };
}

async function runResolved(seed: number, options: ResolvedHostRunOptions): Promise<HostRunReport> {
  const wallStarted = performance.now();
  const streams = splitStreams(seed);
  const params = options.adjustParams(drawHostParams(streams.params, drawRequest(options)));
  const schedule = drawFaultSchedule(streams.faults, params.world, options.durationMs);
  const budget = {
    maxEvents: options.maxEvents ?? 10 * defaultMaxEvents(options.durationMs),
    maxHeldItems: options.maxHeldItems ?? defaultMaxHeldItems(options.durationMs) * Math.max(1, params.groups.length),
  };
  const world = new HostWorld({ params, streams, traceTail: options.traceTail, budget, rebalanceBug: options.rebalanceBug });
  let budgetFailure: BudgetFailure | null = null;
  let violation: Violation | null = null;
  let livenessFailure: RunReport['livenessFailure'] = null;
  let linearizability: RunReport['linearizability'] = 'not checked';
  try {
    const faults = new HostFaultInjector(world);
    world.start();
    faults.schedule(schedule);
    await world.runUntil(options.durationMs);
    const bound = options.livenessBoundMs ?? 20 * hostElectionMsMax(world) + 9 * params.world.requestTimeoutMs;
    const missing = await runHostLivenessPhase(world, faults, bound);
    if (missing !== null) livenessFailure = { detail: missing, trace: world.trace.last() };
    const checked = checkLinearizability(world.recorder.history(), { maxStepsPerKey: options.linearizabilityStepsPerKey });
    if (checked.ok === true) linearizability = 'ok';
    else if (checked.ok === 'unknown') linearizability = 'undecided';
    else {
      linearizability = 'violation';
      violation = { invariant: 'Linearizability', detail: checked.explanation, atMs: world.now(), trace: world.trace.last() };
    }
  } catch (error) {
    if (error instanceof WorldOverBudget) budgetFailure = error.failure;
    else violation = error instanceof WorldStopped ? error.finding : crashFinding(world, error);
  }
  world.noteQuiescence();
  const operations = world.recorder.history();
  const wp = params.world;
  return {
    seed,
    ok: violation === null && livenessFailure === null && budgetFailure === null && linearizability === 'ok',
    violation,
    livenessFailure: violation === null ? livenessFailure : null,
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
    world: { nodes: wp.ids.length, faults: wp.faults, tickIntervalMs: wp.tickIntervalMs, electionTicks: wp.electionTicks, clients: wp.clients, leaseReads: wp.leaseReads },
    replay: hostReplayCommand(seed, options),
    multiGroup: { hosts: wp.ids.length, groups: params.groups.length, keys: params.keys.length, quiescence: params.quiescence,
      rebalance: params.rebalance === null ? null : { layoutChanges: params.rebalance.changes.length },
      coverage: world.hostCoverage,
    },
  };
}

/** The command that replays `seed` with `options`. */
function hostReplayCommand(seed: number, options: ResolvedHostRunOptions): string {
  const parts = [`npx keel sim --hosts --seed ${seed}`, `--duration ${options.durationMs / 1000}`];
  if (options.hosts !== undefined) parts.push(`--nodes ${options.hosts}`);
  if (options.groups !== undefined) parts.push(`--groups ${options.groups}`);
  if (options.faults.length !== HOST_FAULT_KINDS.length) parts.push(`--faults ${options.faults.join(',') || 'none'}`);
  if (options.rebalance === true) parts.push('--rebalance');
  if (options.rebalance === false) parts.push('--no-rebalance');
  return parts.join(' ');
}

/** Validates {@link HostRunOptions}; throws `InvalidArgumentError` naming the first bad option. */
export function resolveHostRunOptions(options: HostRunOptions = {}): ResolvedHostRunOptions {
  const durationMs = options.durationMs ?? 10_000;
  if (options.adjustParams !== undefined && typeof options.adjustParams !== 'function') throw new InvalidArgumentError('adjustParams must be a function');
  if (options.rebalance !== undefined && typeof options.rebalance !== 'boolean') throw new InvalidArgumentError('rebalance must be true or false');
  if (options.rebalanceBug !== undefined && !REBALANCE_BUGS.includes(options.rebalanceBug)) throw new InvalidArgumentError(`rebalanceBug must be one of ${REBALANCE_BUGS.join(', ')}`);
  if (!(Number.isFinite(durationMs) && durationMs >= 0)) throw new InvalidArgumentError(`durationMs must be a non-negative number, got ${String(durationMs)}`);
  const livenessBoundMs = options.livenessBoundMs;
  if (livenessBoundMs !== undefined && !(Number.isFinite(livenessBoundMs) && livenessBoundMs > 0)) {
    throw new InvalidArgumentError(`livenessBoundMs must be a positive number, got ${String(livenessBoundMs)}`);
  }
  const faults = options.faults ?? 'all';
  if (faults !== 'all' && (!Array.isArray(faults) || faults.some((kind) => !HOST_FAULT_KINDS.includes(kind)))) {
    throw new InvalidArgumentError(`faults must be 'all' or a list of ${HOST_FAULT_KINDS.join(', ')}`);
  }
  return {
    durationMs,
    hosts: optionalInteger('hosts', options.hosts, 3, 5),
    groups: optionalInteger('groups', options.groups, 1, GROUPS_MAX),
    faults: faults === 'all' ? HOST_FAULT_KINDS : HOST_FAULT_KINDS.filter((kind) => faults.includes(kind)),
    livenessBoundMs,
    traceTail: optionalInteger('traceTail', options.traceTail, 1, 100_000) ?? TRACE_TAIL_DEFAULT,
    linearizabilityStepsPerKey: optionalInteger('linearizabilityStepsPerKey', options.linearizabilityStepsPerKey, 1, 1e12) ?? 2_000_000,
    adjustParams: options.adjustParams ?? ((params) => params),
    maxEvents: optionalInteger('maxEvents', options.maxEvents, 1, 1e15),
    maxHeldItems: optionalInteger('maxHeldItems', options.maxHeldItems, 1, 1e15),
    rebalance: options.rebalance,
    rebalanceBug: options.rebalanceBug,
  };
}

/** What a seed's world draw is asked to keep fixed. */
function drawRequest(options: ResolvedHostRunOptions): HostParamsRequest {
  return { hosts: options.hosts, groups: options.groups, faults: options.faults, rebalance: options.rebalance, durationMs: options.durationMs };
}

function optionalInteger(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return value;
}

function crashFinding(world: HostWorld, error: unknown): Violation {
  const stack = error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : '';
  return { invariant: 'World crash', detail: `${describeError(error)}${stack}`, atMs: world.now(), trace: world.trace.last() };
}

function checkSeed(seed: number): void {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed <= 0xffff_ffff)) throw new InvalidArgumentError(`seed must be an integer from 0 to 2^32-1, got ${String(seed)}`);
}
