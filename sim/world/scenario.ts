/**
 * A scenario: the part of a run that a shrink may change, given as data
 * instead of drawn from the seed. It replaces the seed's fault schedule and
 * can keep fewer of the drawn nodes and clients; everything else (timeouts,
 * link latencies, disk behaviour, which fault kinds are on) is still drawn
 * from the seed.
 *
 * A scenario must stay inside the world the seed drew, so that a shrunk run
 * only ever drops or weakens faults and never breaks an assumption the
 * runtime is entitled to (a restart sooner than the lease allows, a fault
 * kind the world switched off).
 */
import { InvalidArgumentError } from '../../src/errors.js';
import type { NodeId } from '../../src/core/types.js';
import { CHURN_OPS } from './faults.js';
import type { FaultAction, ScheduledFault } from './faults.js';
import { SCHEDULED_FAULTS } from './params.js';
import type { WorldParams } from './params.js';
import { PARTITION_SHAPES } from './partitions.js';

/** A fault schedule and the cluster and client counts it runs with. */
export interface Scenario {
  /** How many of the drawn nodes run: the first ones, `n1` to `n<nodes>`. */
  readonly nodes: number;
  /** How many simulated clients run. */
  readonly clients: number;
  /** Replaces the drawn schedule. Faults on nodes the scenario does not keep are skipped. */
  readonly faults: readonly ScheduledFault[];
}

/** The most clients a scenario may ask for. */
export const SCENARIO_CLIENTS_MAX = 16;

/** The scenario a seed drew: its whole cluster, its clients and its schedule. */
export function drawnScenario(params: WorldParams, schedule: readonly ScheduledFault[]): Scenario {
  return { nodes: params.ids.length, clients: params.clients, faults: schedule };
}

/** The world parameters with only the scenario's nodes and clients kept. */
export function scenarioParams(params: WorldParams, scenario: Scenario): WorldParams {
  if (scenario.nodes === params.ids.length && scenario.clients === params.clients) return params;
  return { ...params, ids: params.ids.slice(0, scenario.nodes), clients: scenario.clients };
}

/**
 * The faults of `scenario` that can strike in a cluster of `ids`: a fault on
 * a node that is not running is dropped, and a partition keeps the roles of
 * the nodes that remain (a partition of fewer than two nodes cuts nothing and
 * is dropped).
 */
export function restrictFaults(faults: readonly ScheduledFault[], ids: readonly NodeId[]): ScheduledFault[] {
  const kept: ScheduledFault[] = [];
  for (const fault of faults) {
    const action = restrictAction(fault.action, ids);
    if (action !== null) kept.push(action === fault.action ? fault : { atMs: fault.atMs, action });
  }
  return kept;
}

function restrictAction(action: FaultAction, ids: readonly NodeId[]): FaultAction | null {
  switch (action.kind) {
    case 'partition': {
      const order = action.order.filter((id) => ids.includes(id));
      if (order.length < 2) return null;
      return order.length === action.order.length ? action : { ...action, order };
    }
    case 'clog':
      return ids.includes(action.a) && ids.includes(action.b) ? action : null;
    case 'transfer':
      return ids.includes(action.target) ? action : null;
    default:
      return ids.includes(action.node) ? action : null;
  }
}

/**
 * Checks that `scenario` fits the world `params` describes (the drawn world,
 * before the scenario trims it). Throws `InvalidArgumentError` naming the
 * first problem.
 */
export function checkScenario(scenario: Scenario, params: WorldParams): void {
  const size = params.ids.length;
  if (!(Number.isSafeInteger(scenario.nodes) && scenario.nodes >= 1 && scenario.nodes <= size)) {
    throw new InvalidArgumentError(`scenario nodes must be an integer from 1 to the ${size} nodes this seed drew, got ${String(scenario.nodes)}`);
  }
  if (!(Number.isSafeInteger(scenario.clients) && scenario.clients >= 0 && scenario.clients <= SCENARIO_CLIENTS_MAX)) {
    throw new InvalidArgumentError(`scenario clients must be an integer from 0 to ${SCENARIO_CLIENTS_MAX}, got ${String(scenario.clients)}`);
  }
  if (!Array.isArray(scenario.faults)) throw new InvalidArgumentError('scenario faults must be a list');
  scenario.faults.forEach((fault, position) => {
    const problem = faultProblem(fault, params);
    if (problem !== null) throw new InvalidArgumentError(`scenario fault ${position + 1}: ${problem}`);
  });
}

function faultProblem(fault: ScheduledFault, params: WorldParams): string | null {
  if (!isTime(fault.atMs)) return `its time must be a non-negative number of milliseconds, got ${String(fault.atMs)}`;
  const action = fault.action;
  if (!SCHEDULED_FAULTS.includes(action.kind)) return `${String(action.kind)} is not a fault that strikes at a moment (${SCHEDULED_FAULTS.join(', ')})`;
  if (!params.faults.includes(action.kind)) return `${action.kind} is not switched on in this seed's world (on: ${params.faults.join(', ') || 'none'})`;
  const unknown = namedNodes(action).find((id) => !params.ids.includes(id));
  if (unknown !== undefined) return `no node ${String(unknown)} in this seed's world (${params.ids.join(', ')})`;
  switch (action.kind) {
    case 'partition':
      if (!PARTITION_SHAPES.includes(action.shape)) return `unknown partition shape ${String(action.shape)}`;
      if (new Set(action.order).size !== action.order.length) return 'a partition names a node twice';
      return isTime(action.durationMs) ? null : 'a partition needs a non-negative duration';
    case 'clog':
      if (action.a === action.b) return 'a clog needs two different nodes';
      return isTime(action.durationMs) ? null : 'a clog needs a non-negative duration';
    case 'pause':
      return isTime(action.durationMs) ? null : 'a pause needs a non-negative duration';
    case 'crash':
    case 'ioError':
      // With lease reads on, a node must stay down long enough not to vote inside a lease it once granted.
      if (!isTime(action.downMs) || action.downMs < params.downMsMin) return `a ${action.kind} must keep the node down at least ${params.downMsMin}ms in this world`;
      return action.kind === 'crash' && typeof action.duringWrite !== 'boolean' ? 'a crash needs duringWrite true or false' : null;
    case 'transfer':
      return null;
    case 'churn':
      if (!CHURN_OPS.includes(action.op)) return `unknown churn operation ${String(action.op)} (${CHURN_OPS.join(', ')})`;
      return typeof action.leader === 'boolean' ? null : 'a churn needs leader true or false';
  }
}

function namedNodes(action: FaultAction): readonly NodeId[] {
  switch (action.kind) {
    case 'partition':
      return Array.isArray(action.order) ? action.order : [];
    case 'clog':
      return [action.a, action.b];
    case 'transfer':
      return [action.target];
    default:
      return [action.node];
  }
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
