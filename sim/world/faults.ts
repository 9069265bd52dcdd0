/**
 * Fault schedules: when each fault strikes, on whom, and for how long. A
 * schedule is plain data drawn up front from the seed's `faults` stream, so
 * it can be printed, replayed, and (next increment) drawn by fast-check
 * arbitraries and shrunk to a minimal failing schedule.
 *
 * Every fault carries its own duration; the world undoes it when that runs
 * out (heals the partition, restarts the node, resumes it), unless a later
 * fault already replaced it.
 */
import type { NodeId } from '../../src/core/types.js';
import type { SeededRandom } from '../../src/util/random.js';
import type { FaultKind, WorldParams } from './params.js';
import { SCHEDULED_FAULTS } from './params.js';
import { PARTITION_SHAPES } from './partitions.js';
import type { PartitionShape } from './partitions.js';
import { chance, exponential, integerBetween, pick, shuffle, uniform } from './streams.js';

/** One fault. Node roles are fixed in the action, so a schedule replays without the random stream. */
export type FaultAction =
  | {
      /** Cut links between nodes. */
      readonly kind: 'partition';
      /** Which links the partition cuts. */
      readonly shape: PartitionShape;
      /** The nodes in the order the shape assigns their parts. */
      readonly order: readonly NodeId[];
      /** How long the partition lasts, in milliseconds. */
      readonly durationMs: number;
    }
  | {
      /** Delay every message between two nodes. */
      readonly kind: 'clog';
      /** One end of the clogged link. */
      readonly a: NodeId;
      /** The other end. */
      readonly b: NodeId;
      /** How long the clog lasts, in milliseconds. */
      readonly durationMs: number;
    }
  /** With `duringWrite`, the crash waits for the node's next disk write and strikes before it is durable. */
  | {
      /** Kill a node: it loses what its disk had not made durable, and restarts later. */
      readonly kind: 'crash';
      /** The node to crash. */
      readonly node: NodeId;
      /** How long it stays down, in milliseconds. */
      readonly downMs: number;
      /** Strike during the node's next disk write, before it is durable. */
      readonly duringWrite: boolean;
    }
  | {
      /** Freeze a node (its clock and timers stop), as a long GC pause or SIGSTOP would. */
      readonly kind: 'pause';
      /** The node to pause. */
      readonly node: NodeId;
      /** How long the pause lasts, in milliseconds. */
      readonly durationMs: number;
    }
  | {
      /** Make a node's disk fail its next write, which stops the node; it restarts later. */
      readonly kind: 'ioError';
      /** The node whose disk fails. */
      readonly node: NodeId;
      /** How long it stays down, in milliseconds. */
      readonly downMs: number;
    }
  | {
      /** Ask the leader to transfer leadership. */
      readonly kind: 'transfer';
      /** The node to hand leadership to. */
      readonly target: NodeId;
    }
  /**
   * A membership change asked of whichever node leads at that moment: `add`
   * creates a fresh node that joins as a voter; `remove` and `replace` (by a
   * fresh node) act on `node`, or on the leader itself when `leader` is set.
   */
  | {
      /** Change the membership. */
      readonly kind: 'churn';
      /** Add, remove or replace a voter. */
      readonly op: ChurnOp;
      /** The node to remove or replace (for `add`: unused). */
      readonly node: NodeId;
      /** Remove or replace the leader itself instead of `node`. */
      readonly leader: boolean;
    };

/** The membership changes churn makes. */
export type ChurnOp = 'add' | 'remove' | 'replace';

/** Every churn operation, in a fixed order. */
export const CHURN_OPS: readonly ChurnOp[] = ['add', 'remove', 'replace'];

/** A fault and the world time it strikes at. */
export interface ScheduledFault {
  /** The world time it strikes at, in simulated milliseconds. */
  readonly atMs: number;
  /** What strikes. */
  readonly action: FaultAction;
}

/** Draws the fault schedule of a fault phase lasting `durationMs`. */
export function drawFaultSchedule(random: SeededRandom, params: WorldParams, durationMs: number): ScheduledFault[] {
  const kinds = SCHEDULED_FAULTS.filter((kind) => params.faults.includes(kind));
  if (kinds.length === 0) return [];
  // Per-seed weights: one world is mostly crashes, another mostly partitions.
  const weights = kinds.map(() => integerBetween(random, 1, 5));
  const schedule: ScheduledFault[] = [];
  // A quiet start lets the first leader be elected before the faults begin, most of the time.
  let atMs = exponential(random, params.faultIntervalMsMean) + 2 * params.electionTicks * params.tickIntervalMs;
  while (atMs < durationMs && schedule.length < 10_000) {
    const kind = weightedPick(random, kinds, weights);
    schedule.push({ atMs, action: drawAction(random, kind, params) });
    atMs += exponential(random, params.faultIntervalMsMean);
  }
  return schedule;
}

function weightedPick(random: SeededRandom, kinds: readonly FaultKind[], weights: readonly number[]): FaultKind {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let draw = random.nextInt(total);
  for (let i = 0; i < kinds.length; i++) {
    draw -= weights[i]!;
    if (draw < 0) return kinds[i]!;
  }
  return kinds[kinds.length - 1]!;
}

function drawAction(random: SeededRandom, kind: FaultKind, params: WorldParams): FaultAction {
  const electionMs = 2 * params.electionTicks * params.tickIntervalMs;
  const node = pick(random, params.ids);
  const downMs = Math.max(params.downMsMin, uniform(random, 0, 5 * electionMs));
  switch (kind) {
    case 'partition':
      return { kind, shape: pick(random, PARTITION_SHAPES), order: shuffle(random, params.ids), durationMs: uniform(random, electionMs, 6 * electionMs) };
    case 'clog': {
      const [a, b] = shuffle(random, params.ids);
      return { kind, a: a!, b: b!, durationMs: uniform(random, params.tickIntervalMs, 3 * electionMs) };
    }
    case 'crash':
      return { kind, node, downMs, duringWrite: chance(random, 0.5) };
    case 'ioError':
      return { kind, node, downMs };
    case 'pause':
      return { kind, node, durationMs: uniform(random, params.tickIntervalMs, 3 * electionMs) };
    case 'transfer':
      return { kind, target: node };
    case 'churn':
      return { kind, op: pick(random, CHURN_OPS), node, leader: chance(random, 0.3) };
    default:
      throw new RangeError(`drawAction: ${kind} is not a scheduled fault`);
  }
}

/** A fault as one short line, for traces and reports. */
export function describeFault(action: FaultAction): string {
  switch (action.kind) {
    case 'partition':
      return `partition ${action.shape} [${action.order.join(',')}] for ${action.durationMs.toFixed(1)}ms`;
    case 'clog':
      return `clog ${action.a}<>${action.b} for ${action.durationMs.toFixed(1)}ms`;
    case 'crash':
      return `crash ${action.node}${action.duringWrite ? ' during its next write' : ''} down ${action.downMs.toFixed(1)}ms`;
    case 'pause':
      return `pause ${action.node} for ${action.durationMs.toFixed(1)}ms`;
    case 'ioError':
      return `ioError ${action.node} down ${action.downMs.toFixed(1)}ms`;
    case 'transfer':
      return `transfer to ${action.target}`;
    case 'churn':
      return action.op === 'add' ? 'churn add a new node' : `churn ${action.op} ${action.leader ? 'the leader' : action.node}`;
  }
}
