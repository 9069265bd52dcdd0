/**
 * A run's budgets (TigerBeetle's VOPR bounds every run the same way): how
 * many events it may take, and how much the simulated world may hold at
 * once. A run that spends either is stopped and reported as a failure of
 * its seed, so one runaway seed (a retry storm, a log that never stops
 * growing, a loop that never lets simulated time move) cannot hold up a
 * whole swarm without a verdict.
 *
 * Both measures are deterministic: they count what the world holds (log
 * entries on the simulated disks, timers and messages pending on the world
 * clock, client operations recorded), never the process heap. The verdict
 * for a seed is the same on every machine and replays from its command line;
 * a heap measure would depend on the machine, the Node version and when the
 * garbage collector last ran.
 */
import type { HistoryRecorder } from '../history.js';
import type { VirtualClock } from '../../src/util/clock.js';
import type { SimNode } from './sim-node.js';

/** What a run may spend. */
export interface WorldBudget {
  /** Most world events (clock callbacks, each followed by the safety checks) of the whole run. */
  readonly maxEvents: number;
  /** Most items the world may hold at once (see {@link HeldItems}). */
  readonly maxHeldItems: number;
}

/** No limit at all: what a world built without a budget runs with. */
export const UNLIMITED_BUDGET: WorldBudget = { maxEvents: Number.POSITIVE_INFINITY, maxHeldItems: Number.POSITIVE_INFINITY };

/** Which budget a run spent. `memory` is the held-items budget. */
export type BudgetKind = 'events' | 'memory';

/** A run stopped because it spent a budget. */
export interface BudgetFailure {
  /** Which budget was spent. */
  readonly budget: BudgetKind;
  /** The budget, in events or held items. */
  readonly limit: number;
  /** What the run had reached when it was stopped (at least `limit`). */
  readonly reached: number;
  /** What the world held or did, in one sentence. */
  readonly detail: string;
  /** World time it was stopped at, in milliseconds. */
  readonly atMs: number;
  /** The last trace events before it, oldest first. */
  readonly trace: readonly string[];
}

/** What a {@link BudgetMeter} reports; the world adds when and what happened last. */
export type SpentBudget = Omit<BudgetFailure, 'atMs' | 'trace'>;

/** Thrown out of the event loop when a run spends a budget. */
export class WorldOverBudget extends Error {
  constructor(readonly failure: BudgetFailure) {
    super(failure.detail);
    this.name = 'WorldOverBudget';
  }
}

/**
 * What the world holds, item by item. Each count stands for a bounded amount
 * of memory: an entry (a client command of a few bytes), a timer (a message
 * in flight, a node's tick, a client's think time, a disk write), an
 * operation of the client history.
 */
export interface HeldItems {
  /** Log entries on every simulated disk: what each incarnation sees and what is on the platter. */
  readonly entries: number;
  /** Callbacks pending on the world clock, every message in flight among them. */
  readonly timers: number;
  /** Client operations recorded in the history. */
  readonly operations: number;
  readonly total: number;
}

/** Counts what a world holds. Cheap: a few numbers per node, nothing copied. */
export function heldItems(world: { readonly nodes: readonly SimNode[]; readonly clock: VirtualClock; readonly recorder: HistoryRecorder }): HeldItems {
  let entries = 0;
  for (const node of world.nodes) entries += node.disk.heldEntries();
  const timers = world.clock.pending();
  const operations = world.recorder.length;
  return { entries, timers, operations, total: entries + timers + operations };
}

/**
 * Held items are counted every this many events, not after each one: an
 * event adds a bounded number of items, so the budget is overshot by little,
 * and the count stays out of the per-event cost. The events it is taken at
 * depend on the seed only, so the verdict does too.
 */
export const HELD_CHECK_EVERY_EVENTS = 256;

/** Tracks one run's spending against its budget. */
export class BudgetMeter {
  /** The most items the world held at any count so far. */
  peakHeldItems = 0;

  constructor(private readonly budget: WorldBudget) {
    if (!(budget.maxEvents >= 1 && budget.maxHeldItems >= 1)) {
      throw new RangeError(`BudgetMeter: budgets must be at least 1, got ${budget.maxEvents} events and ${budget.maxHeldItems} held items`);
    }
  }

  /**
   * Called once per event with the events run so far; returns what was
   * spent, or null while the run is within its event budget.
   */
  checkEvents(events: number): SpentBudget | null {
    if (events <= this.budget.maxEvents) return null;
    return { budget: 'events', limit: this.budget.maxEvents, reached: events, detail: `the run took more than ${this.budget.maxEvents} events` };
  }

  /**
   * Takes a count of what the world holds (every {@link HELD_CHECK_EVERY_EVENTS}
   * events, and once at the end of a run); returns what was spent, or null
   * while the world is within its held-items budget.
   */
  checkHeld(held: HeldItems): SpentBudget | null {
    if (held.total > this.peakHeldItems) this.peakHeldItems = held.total;
    if (held.total <= this.budget.maxHeldItems) return null;
    return {
      budget: 'memory',
      limit: this.budget.maxHeldItems,
      reached: held.total,
      detail: `the world held ${held.total} items, more than ${this.budget.maxHeldItems}: ${held.entries} log entries, ${held.timers} timers and messages in flight, ${held.operations} client operations`,
    };
  }
}
