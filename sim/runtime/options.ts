/**
 * Options of a runtime simulation run, validated and normalised at the entry
 * point so that everything inside works with fully resolved values. Bad
 * options throw `InvalidArgumentError` (the CLI maps it to exit code 2).
 */
import { InvalidArgumentError } from '../../src/errors.js';
import { FAULT_KINDS } from '../world/params.js';
import type { FaultKind, WorldParams } from '../world/params.js';
import { KvStateMachine } from '../world/kv-state-machine.js';
import type { SimPlugin, SimStateMachine, SimWorkload, SimWorkloadContext } from '../world/plugin.js';
import type { Scenario } from '../world/scenario.js';
import { TRACE_TAIL_DEFAULT } from '../world/trace.js';
import { PLANTED_BUG_NAMES } from './planted-bugs.js';
import type { PlantedBugName } from './planted-bugs.js';

/** Options of {@link runSeed} and {@link runSwarm}. */
export interface RunOptions {
  /** Simulated length of the fault phase, in milliseconds. @defaultValue 10000 */
  readonly durationMs?: number;
  /** Cluster size, 1 to 9. @defaultValue drawn per seed from 3, 5 and 7 */
  readonly nodes?: number;
  /** Fault kinds the run may use (each seed switches a random subset on), or `'all'`. @defaultValue `'all'` */
  readonly faults?: readonly FaultKind[] | 'all';
  /** Simulated clients, 0 to 16. @defaultValue drawn per seed from 1 to 4 */
  readonly clients?: number;
  /**
   * How long the liveness phase may take after healing, in simulated
   * milliseconds. @defaultValue 20 maximum election timeouts plus 3 request deadlines
   */
  readonly livenessBoundMs?: number;
  /** Trace events a finding carries. @defaultValue 200 */
  readonly traceTail?: number;
  /** Search steps per key of the linearizability check (deterministic budget). @defaultValue 2000000 */
  readonly linearizabilityStepsPerKey?: number;
  /**
   * Most world events the whole run may take (fault phase and liveness
   * phase); a run that needs more is stopped and reported as a `budget`
   * failure of its seed. See `sim/world/budget.ts`.
   * @defaultValue {@link defaultMaxEvents} of `durationMs`
   */
  readonly maxEvents?: number;
  /**
   * Most items the simulated world may hold at once (log entries on its
   * disks, timers and messages in flight, client operations recorded): the
   * run's memory budget, counted so that the verdict is the same on every
   * machine. A run that holds more is stopped and reported as a `budget`
   * failure. @defaultValue {@link defaultMaxHeldItems} of `durationMs`
   */
  readonly maxHeldItems?: number;
  /**
   * Adjusts the parameters each seed drew before the world is built: for
   * experiments (force lease reads on, slow the disk) and for the
   * simulator's own tests (a disk that lies about fsync must be caught).
   * Must be deterministic. Not part of the replay command: pass it again.
   */
  readonly adjustParams?: (params: WorldParams) => WorldParams;
  /**
   * Replaces the fault schedule the seed drew (and may keep fewer nodes and
   * clients): how a shrunk run is replayed. Checked against the world the
   * seed drew; see `sim/world/scenario.ts`. @defaultValue the drawn schedule
   */
  readonly scenario?: Scenario;
  /** Plants one of the simulator's own bugs (`sim/runtime/planted-bugs.ts`), to see the checkers catch it. */
  readonly plantedBug?: PlantedBugName;
  /**
   * Your own state machine, built fresh for every node incarnation, in place
   * of the key-value store. Needs a {@link RunOptions.workload} that speaks
   * to it. See `sim/world/plugin.ts` and docs/simulator.md.
   */
  readonly stateMachine?: () => SimStateMachine;
  /** Your own clients (and their history check), in place of the key-value clients. */
  readonly workload?: (context: SimWorkloadContext) => SimWorkload;
}

/** {@link RunOptions} with every default applied and every value checked. */
export interface ResolvedRunOptions {
  readonly durationMs: number;
  readonly nodes: number | undefined;
  readonly faults: readonly FaultKind[];
  readonly clients: number | undefined;
  readonly livenessBoundMs: number | undefined;
  readonly traceTail: number;
  readonly linearizabilityStepsPerKey: number;
  /** The event budget given, or undefined for the default of the duration. */
  readonly maxEvents: number | undefined;
  /** The held-items budget given, or undefined for the default of the duration. */
  readonly maxHeldItems: number | undefined;
  readonly adjustParams: (params: WorldParams) => WorldParams;
  readonly scenario: Scenario | undefined;
  readonly plantedBug: PlantedBugName | undefined;
  /** The user's state machine and workload, or undefined for the key-value store. */
  readonly plugin: SimPlugin | undefined;
}

/** Validates {@link RunOptions}; throws `InvalidArgumentError` naming the first bad option. */
export function resolveRunOptions(options: RunOptions = {}): ResolvedRunOptions {
  const durationMs = options.durationMs ?? 10_000;
  if (!(Number.isFinite(durationMs) && durationMs >= 0)) throw new InvalidArgumentError(`durationMs must be a non-negative number, got ${String(durationMs)}`);
  const nodes = optionalInteger('nodes', options.nodes, 1, 9);
  const clients = optionalInteger('clients', options.clients, 0, 16);
  if (options.adjustParams !== undefined && typeof options.adjustParams !== 'function') throw new InvalidArgumentError('adjustParams must be a function');
  const livenessBoundMs = options.livenessBoundMs;
  if (livenessBoundMs !== undefined && !(Number.isFinite(livenessBoundMs) && livenessBoundMs > 0)) {
    throw new InvalidArgumentError(`livenessBoundMs must be a positive number, got ${String(livenessBoundMs)}`);
  }
  return {
    durationMs,
    nodes,
    faults: resolveFaults(options.faults ?? 'all'),
    clients,
    livenessBoundMs,
    traceTail: optionalInteger('traceTail', options.traceTail, 1, 100_000) ?? TRACE_TAIL_DEFAULT,
    linearizabilityStepsPerKey: optionalInteger('linearizabilityStepsPerKey', options.linearizabilityStepsPerKey, 1, 1e12) ?? 2_000_000,
    maxEvents: optionalInteger('maxEvents', options.maxEvents, 1, 1e15),
    maxHeldItems: optionalInteger('maxHeldItems', options.maxHeldItems, 1, 1e15),
    adjustParams: options.adjustParams ?? ((params) => params),
    scenario: options.scenario,
    plantedBug: resolvePlantedBug(options.plantedBug),
    plugin: resolvePlugin(options.stateMachine, options.workload),
  };
}

/**
 * The default event budget of a run whose fault phase lasts `durationMs`: a
 * fixed allowance (the liveness phase, a slow world) plus a rate per
 * simulated second of faults. The clean swarm's busiest run takes less than
 * a seventh of it (docs/simulator.md has the figures); a runaway run spends
 * it in seconds.
 */
export function defaultMaxEvents(durationMs: number): number {
  return 1_000_000 + Math.ceil(durationMs / 1000) * 50_000;
}

/**
 * The default held-items budget of a run whose fault phase lasts
 * `durationMs`: a fixed allowance plus room for a client history that grows
 * with the duration (the rest is bounded by snapshots and timeouts). The
 * clean swarm's fullest world holds less than a twentieth of it.
 */
export function defaultMaxHeldItems(durationMs: number): number {
  return 50_000 + Math.ceil(durationMs / 1000) * 2_000;
}

/** Parses a fault list: `'all'`, or known kinds without repeats. */
export function resolveFaults(faults: readonly string[] | 'all'): FaultKind[] {
  if (faults === 'all') return [...FAULT_KINDS];
  if (!Array.isArray(faults)) throw new InvalidArgumentError(`faults must be 'all' or a list of ${FAULT_KINDS.join(', ')}`);
  const seen = new Set<string>();
  for (const fault of faults) {
    if (!(FAULT_KINDS as readonly string[]).includes(fault)) {
      throw new InvalidArgumentError(`unknown fault kind '${String(fault)}'; known kinds: ${FAULT_KINDS.join(', ')}`);
    }
    if (seen.has(fault)) throw new InvalidArgumentError(`fault kind '${fault}' is listed twice`);
    seen.add(fault);
  }
  // Keep the canonical order, so two spellings of one set draw the same worlds.
  return FAULT_KINDS.filter((kind) => seen.has(kind));
}

function resolvePlugin(stateMachine: RunOptions['stateMachine'], workload: RunOptions['workload']): SimPlugin | undefined {
  if (stateMachine !== undefined && typeof stateMachine !== 'function') throw new InvalidArgumentError('stateMachine must be a function that builds a state machine');
  if (workload !== undefined && typeof workload !== 'function') throw new InvalidArgumentError('workload must be a function that builds a workload');
  if (workload === undefined) {
    if (stateMachine !== undefined) throw new InvalidArgumentError('a custom stateMachine needs a workload: the built-in clients only speak to the key-value store');
    return undefined;
  }
  return { stateMachine: stateMachine ?? (() => new KvStateMachine()), workload };
}

function resolvePlantedBug(name: string | undefined): PlantedBugName | undefined {
  if (name === undefined) return undefined;
  if (!(PLANTED_BUG_NAMES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(`unknown planted bug '${String(name)}'; known: ${PLANTED_BUG_NAMES.join(', ')}`);
  }
  return name as PlantedBugName;
}

function optionalInteger(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
