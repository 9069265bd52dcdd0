/**
 * The Wing–Gong / Lowe (WGL) linearizability search over one object's
 * history, with a memo of visited configurations, as Porcupine does it.
 *
 * Required operations (those with a response) form a linked list of call and
 * return events in time order. From a configuration, the candidates to take
 * effect next are the required operations whose call comes before the first
 * remaining return event (any other order would break real time), then the
 * optional operations (unknown outcomes) invoked by then. The search asks the
 * model whether a candidate can take effect in the current state and, if so,
 * lifts its events out of the lists and starts again from the head. Meeting
 * the end of the candidates means the operation owning that first return had
 * to be linearized already: dead end, undo the last choice and try the next
 * candidate after it. The search state lives in an explicit stack of frames,
 * so 10,000 operations cannot overflow the call stack.
 *
 * Trying required candidates before optional ones changes nothing about
 * completeness; it makes the search find the natural linearization first, and
 * together with the dominance memo (see `visited-set.ts`) it keeps optional
 * operations that never took effect from multiplying the work.
 */

import { assert } from '../../src/util/assert.js';
import { Bitset } from './bitset.js';
import { EquivalenceClasses } from './equivalence-classes.js';
import { EventList, NIL } from './event-list.js';
import { REJECTED, type SequentialModel } from './model.js';
import { VisitedSet } from './visited-set.js';

/** One operation as the search sees it. */
export interface SearchOperation<O> {
  readonly operation: O;
  readonly invokeTime: number;
  /** The latest time it can take effect; `Infinity` exactly when it is optional. */
  readonly returnTime: number;
  /** False for an unknown outcome: it may take effect any time after its invoke, or never. */
  readonly required: boolean;
  /**
   * Optional operations with the same non-null class must have the same
   * effect in every state; the search then treats them as interchangeable
   * (see `equivalence-classes.ts`). Must be null for required operations.
   */
  readonly equivalenceClass: string | null;
}

/** Limits on one search. */
export interface SearchBudget {
  /** The search gives up after this many steps (one step: one candidate or list event visited). */
  readonly maxSteps: number;
  /** The search gives up once `now()` reaches this time. */
  readonly deadline: number;
  /** The clock `deadline` is measured on; read once every {@link DEADLINE_CHECK_STEPS} steps. */
  readonly now: () => number;
}

/** How the search ended. Prefixes and orders list indexes into the input operations, in linearization order. */
export type SearchResult =
  | { readonly kind: 'linearizable'; readonly order: readonly number[]; readonly steps: number }
  | { readonly kind: 'violation'; readonly longestPrefix: readonly number[]; readonly steps: number }
  | { readonly kind: 'exhausted'; readonly reason: 'steps' | 'deadline'; readonly longestPrefix: readonly number[]; readonly steps: number };

/** How often the search reads the clock: often enough to stop within milliseconds, rarely enough to cost nothing. */
export const DEADLINE_CHECK_STEPS = 1024;

/**
 * Searches for a linearization of `operations` against `model`.
 *
 * Every required operation must take effect between its invoke and return
 * times; optional ones may take effect at any time after their invoke, or not
 * at all. The search stops as soon as every required operation is placed:
 * the optional ones left over are taken never to have taken effect. Events at
 * equal times order calls before returns, so operations whose intervals touch
 * count as concurrent.
 */
export function searchLinearization<S, O>(
  model: SequentialModel<S, O>,
  operations: readonly SearchOperation<O>[],
  budget: SearchBudget,
): SearchResult {
  return new WglSearch(model, operations, budget).run();
}

/** A linearized operation: one frame of the explicit stack, linked to the frame below. */
interface Frame<S> {
  readonly index: number;
  readonly stateBefore: S;
  readonly parent: Frame<S> | null;
  readonly depth: number;
  /** For an optional operation: the time of the first pending return when it was chosen, to resume the scan after it. */
  readonly frontier: number;
}

// Required item r has call node 2r+1 and return node 2r+2 in the event list;
// optional item o (the o-th by invoke time) is node o+1 in its own list.
const callNode = (item: number): number => 2 * item + 1;
const returnNode = (item: number): number => 2 * item + 2;
const isCallNode = (node: number): boolean => node % 2 === 1;
const itemOfEventNode = (node: number): number => (node - 1) >>> 1;

class WglSearch<S, O> {
  private readonly requiredIds: number[] = [];
  private readonly optionalIds: number[] = [];
  private readonly itemOf: Int32Array;
  private readonly events: EventList;
  private readonly optionalCalls: EventList;
  private readonly requiredLinearized: Bitset;
  private readonly optionalLinearized: Bitset;
  private readonly classes: EquivalenceClasses;
  private readonly visited = new VisitedSet<S>();
  private state: S;
  private top: Frame<S> | null = null;
  private best: Frame<S> | null = null;
  private requiredCount = 0;
  private steps = 0;
  // The scan cursor: which list, which node, and (in the optional list) the
  // invoke time beyond which optional operations are not yet candidates.
  private phase: 'required' | 'optional' = 'required';
  private node = NIL;
  private frontier = -Infinity;

  constructor(
    private readonly model: SequentialModel<S, O>,
    private readonly operations: readonly SearchOperation<O>[],
    private readonly budget: SearchBudget,
  ) {
    this.itemOf = new Int32Array(operations.length);
    operations.forEach((operation, index) => {
      assert(operation.returnTime >= operation.invokeTime, () => `operation ${index} returns at ${operation.returnTime}, before its invoke at ${operation.invokeTime}`);
      assert(operation.required === (operation.returnTime !== Infinity), () => `operation ${index} must be required iff its return time is finite`);
      assert(operation.required ? operation.equivalenceClass === null : true, () => `required operation ${index} has an equivalence class`);
      (operation.required ? this.requiredIds : this.optionalIds).push(index);
    });
    // Required items in return order: the linearized set is then a run of
    // ones (everything that returned before the earliest pending return) and
    // a short window, which the memo stores compactly.
    this.requiredIds.sort((a, b) => operations[a]!.returnTime - operations[b]!.returnTime || a - b);
    this.requiredIds.forEach((index, item) => (this.itemOf[index] = item));
    this.optionalIds.sort((a, b) => operations[a]!.invokeTime - operations[b]!.invokeTime || a - b);
    this.optionalIds.forEach((index, item) => (this.itemOf[index] = item));
    this.events = new EventList(2 * this.requiredIds.length, this.sortedRequiredEvents());
    this.optionalCalls = new EventList(this.optionalIds.length, this.optionalIds.map((_, item) => item + 1));
    this.requiredLinearized = new Bitset(this.requiredIds.length);
    this.optionalLinearized = new Bitset(this.optionalIds.length);
    this.classes = new EquivalenceClasses(this.optionalIds.map((index) => operations[index]!.equivalenceClass));
    this.state = model.initialState;
  }

  run(): SearchResult {
    this.visited.add(this.requiredLinearized, this.state, this.optionalLinearized);
    this.restartScan();
    while (this.requiredCount < this.requiredIds.length) {
      const exhausted = this.budgetExhausted();
      if (exhausted !== null) return { kind: 'exhausted', reason: exhausted, longestPrefix: prefixOf(this.best), steps: this.steps };
      this.steps++;
      if (this.phase === 'required') {
        // A required operation is left, so its return event is still in the
        // list and the walk meets it before the end.
        assert(this.node !== NIL, () => `event list ended with ${this.requiredIds.length - this.requiredCount} required operations left`);
        if (isCallNode(this.node)) this.tryRequired();
        else this.startOptionalScan();
      } else if (this.node !== NIL && this.optionalAt(this.node).invokeTime <= this.frontier) {
        this.tryOptional();
      } else if (this.top === null) {
        return { kind: 'violation', longestPrefix: prefixOf(this.best), steps: this.steps };
      } else {
        this.backtrack();
      }
    }
    return { kind: 'linearizable', order: prefixOf(this.top), steps: this.steps };
  }

  private tryRequired(): void {
    const item = itemOfEventNode(this.node);
    const index = this.requiredIds[item]!;
    const after = this.model.step(this.state, this.operations[index]!.operation);
    if (after !== REJECTED) {
      this.requiredLinearized.set(item);
      if (this.visited.add(this.requiredLinearized, after, this.optionalLinearized)) {
        this.push(index, after, this.frontier);
        this.requiredCount++;
        this.events.lift(callNode(item));
        this.events.lift(returnNode(item));
        this.restartScan();
        return;
      }
      this.requiredLinearized.clear(item);
    }
    this.node = this.events.after(this.node);
  }

  private tryOptional(): void {
    const item = this.node - 1;
    const index = this.optionalIds[item]!;
    const after = this.classes.allows(item) ? this.model.step(this.state, this.operations[index]!.operation) : REJECTED;
    // A step that leaves the state unchanged is dominated by the current
    // configuration itself: skip it without touching the memo.
    if (after !== REJECTED && after !== this.state) {
      this.optionalLinearized.set(item);
      if (this.visited.add(this.requiredLinearized, after, this.optionalLinearized)) {
        this.push(index, after, this.frontier);
        this.classes.advance(item);
        this.optionalCalls.lift(this.node);
        this.restartScan();
        return;
      }
      this.optionalLinearized.clear(item);
    }
    this.node = this.optionalCalls.after(this.node);
  }

  /** Undoes the most recent choice and moves the cursor to the candidate after it. */
  private backtrack(): void {
    const frame = this.top;
    assert(frame !== null, 'backtrack with an empty stack');
    this.top = frame.parent;
    this.state = frame.stateBefore;
    const item = this.itemOf[frame.index]!;
    if (this.operations[frame.index]!.required) {
      this.requiredLinearized.clear(item);
      this.requiredCount--;
      this.events.unlift(returnNode(item));
      this.events.unlift(callNode(item));
      this.phase = 'required';
      this.node = this.events.after(callNode(item));
    } else {
      this.optionalLinearized.clear(item);
      this.classes.retreat(item);
      this.optionalCalls.unlift(item + 1);
      this.phase = 'optional';
      this.frontier = frame.frontier;
      this.node = this.optionalCalls.after(item + 1);
    }
  }

  private push(index: number, after: S, frontier: number): void {
    this.top = { index, stateBefore: this.state, parent: this.top, depth: (this.top?.depth ?? 0) + 1, frontier };
    if (this.top.depth > (this.best?.depth ?? 0)) this.best = this.top;
    this.state = after;
  }

  private restartScan(): void {
    this.phase = 'required';
    this.node = this.events.first();
  }

  /** The required candidates end at the first return event; optional operations invoked by then are candidates too. */
  private startOptionalScan(): void {
    this.frontier = this.operations[this.requiredIds[itemOfEventNode(this.node)]!]!.returnTime;
    this.phase = 'optional';
    this.node = this.optionalCalls.first();
  }

  private optionalAt(node: number): SearchOperation<O> {
    return this.operations[this.optionalIds[node - 1]!]!;
  }

  private budgetExhausted(): 'steps' | 'deadline' | null {
    if (this.steps >= this.budget.maxSteps) return 'steps';
    if (this.steps % DEADLINE_CHECK_STEPS === 0 && this.budget.now() >= this.budget.deadline) return 'deadline';
    return null;
  }

  /** Call and return nodes of the required operations by time, calls before returns at equal times, then by item. */
  private sortedRequiredEvents(): number[] {
    const timeOfNode = new Float64Array(2 * this.requiredIds.length + 1);
    this.requiredIds.forEach((index, item) => {
      timeOfNode[callNode(item)] = this.operations[index]!.invokeTime;
      timeOfNode[returnNode(item)] = this.operations[index]!.returnTime;
    });
    const nodes = this.requiredIds.flatMap((_, item) => [callNode(item), returnNode(item)]);
    return nodes.sort((a, b) => timeOfNode[a]! - timeOfNode[b]! || Number(isCallNode(b)) - Number(isCallNode(a)) || a - b);
  }
}

function prefixOf<S>(frame: Frame<S> | null): number[] {
  const prefix: number[] = [];
  for (let current = frame; current !== null; current = current.parent) prefix.push(current.index);
  return prefix.reverse();
}
