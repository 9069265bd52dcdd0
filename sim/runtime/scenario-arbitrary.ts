/**
 * fast-check arbitraries for fault schedules and scenarios. They draw the
 * same shapes of fault as `drawFaultSchedule`, within the same bounds, so
 * they can both generate new scenarios for property tests and shrink a
 * scenario a seed drew: every value in their range can be shrunk without the
 * context fast-check keeps for values it generated itself, so a drawn
 * schedule passed as an example shrinks like a generated one.
 *
 * Shrinking goes towards fewer faults, earlier and shorter faults, the first
 * node ids, a shorter fault phase, fewer nodes and fewer clients. Bounds keep
 * every candidate inside the seed's world: downtimes never go below what the
 * lease assumption needs, and only the fault kinds switched on appear.
 */
import fc from 'fast-check';
import type { NodeId } from '../../src/core/types.js';
import { CHURN_OPS } from '../world/faults.js';
import type { FaultAction, ScheduledFault } from '../world/faults.js';
import { SCHEDULED_FAULTS } from '../world/params.js';
import type { FaultKind, WorldParams } from '../world/params.js';
import { PARTITION_SHAPES } from '../world/partitions.js';
import type { Scenario } from '../world/scenario.js';

/** The limits every generated value stays within. */
export interface ScenarioBounds {
  /** The nodes faults may name (the drawn cluster). */
  readonly ids: readonly NodeId[];
  /** The scheduled fault kinds switched on. */
  readonly kinds: readonly FaultKind[];
  /** Longest fault phase, in milliseconds (an integer). */
  readonly durationMsMax: number;
  /** Most simulated clients. */
  readonly clientsMax: number;
  /** Longest faults and downtimes, and the shortest downtime, in milliseconds. */
  readonly partitionMsMax: number;
  /** Longest clog of a link, in milliseconds. */
  readonly clogMsMax: number;
  /** Longest pause of a node, in milliseconds. */
  readonly pauseMsMax: number;
  /** Shortest downtime of a crashed node, in milliseconds. */
  readonly downMsMin: number;
  /** Longest downtime of a crashed node, in milliseconds. */
  readonly downMsMax: number;
  /** Most faults in one schedule. */
  readonly faultsMax: number;
  /**
   * Whole milliseconds only: a double takes dozens of shrink steps to reach a
   * round value, an integer about ten. Drawn schedules have fractional times,
   * so a shrink first tries the schedule rounded to whole milliseconds.
   */
  readonly wholeMilliseconds: boolean;
}

/** The bounds `drawFaultSchedule` draws within for a world of `params`, widened to contain `scenario`. */
export function boundsOf(params: WorldParams, durationMs: number, scenario?: Scenario, wholeMilliseconds = false): ScenarioBounds {
  const electionMs = 2 * params.electionTicks * params.tickIntervalMs;
  const longest = (kind: FaultAction['kind'], fallback: number, pick: (action: FaultAction) => number): number =>
    Math.max(fallback, ...(scenario?.faults ?? []).filter((fault) => fault.action.kind === kind).map((fault) => pick(fault.action)));
  const duration = (action: FaultAction): number => ('durationMs' in action ? action.durationMs : 0);
  const down = (action: FaultAction): number => ('downMs' in action ? action.downMs : 0);
  return {
    ids: params.ids,
    kinds: SCHEDULED_FAULTS.filter((kind) => params.faults.includes(kind)),
    durationMsMax: Math.ceil(durationMs),
    clientsMax: Math.max(params.clients, scenario?.clients ?? 0),
    partitionMsMax: longest('partition', 6 * electionMs, duration),
    clogMsMax: longest('clog', 3 * electionMs, duration),
    pauseMsMax: longest('pause', 3 * electionMs, duration),
    downMsMin: params.downMsMin,
    downMsMax: Math.max(longest('crash', Math.max(params.downMsMin, 5 * electionMs), down), longest('ioError', 0, down)),
    faultsMax: Math.max(64, scenario?.faults.length ?? 0),
    wholeMilliseconds,
  };
}

function milliseconds(bounds: ScenarioBounds, max: number, min = 0): fc.Arbitrary<number> {
  if (bounds.wholeMilliseconds) return fc.integer({ min: Math.ceil(min), max: Math.ceil(Math.max(min, max)) });
  return fc.double({ min, max: Math.max(min, max), noNaN: true, noDefaultInfinity: true });
}

/** `scenario` with every time and duration rounded up to a whole millisecond (never below what the bounds allow). */
export function inWholeMilliseconds(scenario: Scenario): Scenario {
  const faults = scenario.faults.map((fault): ScheduledFault => {
    const action = fault.action;
    const rounded: FaultAction =
      'durationMs' in action ? { ...action, durationMs: Math.ceil(action.durationMs) } : 'downMs' in action ? { ...action, downMs: Math.ceil(action.downMs) } : action;
    return { atMs: Math.ceil(fault.atMs), action: rounded };
  });
  return { ...scenario, faults };
}

/** One fault action of a kind switched on in `bounds`. */
export function faultActionArbitrary(bounds: ScenarioBounds): fc.Arbitrary<FaultAction> {
  const node = fc.constantFrom(...bounds.ids);
  const down = milliseconds(bounds, bounds.downMsMax, bounds.downMsMin);
  const byKind: Partial<Record<FaultKind, fc.Arbitrary<FaultAction>>> = {
    partition: fc.record({
      kind: fc.constant('partition' as const),
      shape: fc.constantFrom(...PARTITION_SHAPES),
      order: fc.shuffledSubarray([...bounds.ids], { minLength: bounds.ids.length, maxLength: bounds.ids.length }),
      durationMs: milliseconds(bounds, bounds.partitionMsMax),
    }),
    clog: clogArbitrary(bounds),
    crash: fc.record({ kind: fc.constant('crash' as const), node, downMs: down, duringWrite: fc.boolean() }),
    pause: fc.record({ kind: fc.constant('pause' as const), node, durationMs: milliseconds(bounds, bounds.pauseMsMax) }),
    ioError: fc.record({ kind: fc.constant('ioError' as const), node, downMs: down }),
    transfer: fc.record({ kind: fc.constant('transfer' as const), target: node }),
    churn: fc.record({ kind: fc.constant('churn' as const), op: fc.constantFrom(...CHURN_OPS), node, leader: fc.boolean() }),
  };
  const arbitraries = bounds.kinds.map((kind) => byKind[kind]).filter((arbitrary) => arbitrary !== undefined);
  if (arbitraries.length === 0) throw new RangeError('faultActionArbitrary: no scheduled fault kind is switched on');
  return fc.oneof(...arbitraries);
}

/**
 * Clogs of two different nodes. A record of two independent node choices
 * can name one node twice, so such candidates are filtered out; the filter
 * keeps the arbitrary shrinkable without context, unlike `chain`.
 */
function clogArbitrary(bounds: ScenarioBounds): fc.Arbitrary<FaultAction> {
  const node = fc.constantFrom(...bounds.ids);
  return fc
    .record({ kind: fc.constant('clog' as const), a: node, b: node, durationMs: milliseconds(bounds, bounds.clogMsMax) })
    .filter((action) => action.a !== action.b);
}

/** One fault at a time within the fault phase. */
export function scheduledFaultArbitrary(bounds: ScenarioBounds): fc.Arbitrary<ScheduledFault> {
  return fc.record({ atMs: milliseconds(bounds, bounds.durationMsMax), action: faultActionArbitrary(bounds) });
}

/** A shrinkable run: the fault phase's length and the scenario it runs. */
export interface ScenarioRun {
  /** The fault phase, in whole milliseconds. */
  readonly durationMs: number;
  /** The fault schedule and client count to replay. */
  readonly scenario: Scenario;
}

/** Scenarios and fault-phase lengths within `bounds`; the fault phase's length is shrunk last. */
export function scenarioRunArbitrary(bounds: ScenarioBounds): fc.Arbitrary<ScenarioRun> {
  const faults = bounds.kinds.length === 0 ? fc.constant<ScheduledFault[]>([]) : fc.array(scheduledFaultArbitrary(bounds), { maxLength: bounds.faultsMax });
  // fast-check retries the earlier fields after every successful shrink of a later one, so the cheap,
  // rarely-shrinkable counts come after the faults.
  const scenario = fc.record({
    faults,
    nodes: fc.integer({ min: 1, max: bounds.ids.length }),
    clients: fc.integer({ min: 0, max: bounds.clientsMax }),
  });
  return fc.record({ scenario, durationMs: fc.integer({ min: 0, max: bounds.durationMsMax }) });
}

/**
 * Scenarios made of a subset of `scenario`'s own faults, unchanged. Shrinking
 * in this space drops irrelevant faults in a few runs per fault (fast-check's
 * subarray shrinker removes any item, not only a prefix); the full
 * {@link scenarioRunArbitrary} then shrinks the faults that remain.
 */
export function faultSubsetArbitrary(bounds: ScenarioBounds, scenario: Scenario): fc.Arbitrary<ScenarioRun> {
  return fc.record({
    scenario: fc.record({
      faults: fc.subarray([...scenario.faults]),
      nodes: fc.integer({ min: 1, max: bounds.ids.length }),
      clients: fc.integer({ min: 0, max: bounds.clientsMax }),
    }),
    durationMs: fc.integer({ min: 0, max: bounds.durationMsMax }),
  });
}
