/**
 * Builds key-value histories that are linearizable by construction, for
 * testing and benchmarking the checker: every operation gets a real
 * linearization point inside its interval, the operations are applied to a
 * sequential store in that order, and the responses are what the store
 * answered.
 *
 * A history is described by a {@link HistoryPlan} (plain numbers, so that
 * fast-check can generate and shrink it) and built with {@link buildHistory};
 * {@link randomPlan} draws a plan from a seeded {@link Random} for benchmarks.
 */

import type { Random } from '../../src/util/random.js';
import { HistoryRecorder, type CasResult, type Invocation, type Operation, type OperationKind, type PendingOperation } from '../history.js';

/**
 * What happens to a planned operation: it takes effect and is answered
 * (`ok`), is rejected (`fail`), or the client gives up and it either took
 * effect anyway (`unknown-applied`, possibly after the give-up) or not.
 */
export type PlannedFate = 'ok' | 'fail' | 'unknown-applied' | 'unknown-lost';

/** One operation of a plan. Times are relative, so any non-negative numbers make a valid plan. */
export interface PlannedOperation {
  readonly client: number;
  readonly key: number;
  readonly kind: OperationKind;
  readonly fate: PlannedFate;
  /** Picks the value in a small alphabet; ignored with unique values. */
  readonly valueChoice: number;
  /** A cas expects the value current at its linearization point (so it swaps), or a different one. */
  readonly casExpectsCurrent: boolean;
  /** Think time after the client's previous operation. */
  readonly gapBefore: number;
  /** From invoke to the linearization point. */
  readonly toEffect: number;
  /** From the linearization point to the response; for unknown fates, from invoke to when the client gives up. */
  readonly toResponse: number;
  /** For `unknown-applied`: extra delay of the effect, which may land after the client gave up. */
  readonly lateBy: number;
  /** For unknown fates: whether the client recorded when it gave up (else `completeTime` is null). */
  readonly gaveUpRecorded: boolean;
}

/** A whole plan. Each client runs its operations one after another, in plan order. */
export interface HistoryPlan {
  readonly operations: readonly PlannedOperation[];
  /** `unique`: every written value is distinct; `small`: values come from a three-letter alphabet, so they collide. */
  readonly values: 'unique' | 'small';
}

const SMALL_ALPHABET = ['a', 'b', 'c'] as const;

/** Builds the linearizable history that `plan` describes. Deterministic: the same plan gives the same history. */
export function buildHistory(plan: HistoryPlan): Operation[] {
  const timed = scheduleOperations(plan);
  const responses = applyInLinearizationOrder(plan, timed);
  const recorder = new HistoryRecorder();
  const pending = timed.map((timing, index) => recorder.invoke(`c${plan.operations[index]!.client}`, responses[index]!.invocation, timing.invokeTime));
  timed.forEach((timing, index) => complete(recorder, pending[index]!, plan.operations[index]!, timing, responses[index]!.result));
  return recorder.history();
}

interface Timing {
  readonly invokeTime: number;
  readonly effectTime: number;
  readonly completeTime: number;
}

/** Lays each client's operations one after another on its own timeline. */
function scheduleOperations(plan: HistoryPlan): Timing[] {
  const clientClock = new Map<number, number>();
  return plan.operations.map((planned) => {
    const invokeTime = (clientClock.get(planned.client) ?? 0) + planned.gapBefore;
    const unknown = planned.fate === 'unknown-applied' || planned.fate === 'unknown-lost';
    const effectTime = invokeTime + planned.toEffect + (planned.fate === 'unknown-applied' ? planned.lateBy : 0);
    const completeTime = unknown ? invokeTime + planned.toResponse : effectTime + planned.toResponse;
    clientClock.set(planned.client, completeTime);
    return { invokeTime, effectTime, completeTime };
  });
}

interface Response {
  readonly invocation: Invocation;
  /** The get or cas result for an applied operation; undefined otherwise. */
  readonly result: string | null | CasResult | undefined;
}

/** Applies the operations that take effect in linearization order to a sequential store, and records what each answered. */
function applyInLinearizationOrder(plan: HistoryPlan, timed: readonly Timing[]): Response[] {
  const store = new Map<string, string>();
  const responses: Response[] = plan.operations.map((planned, index) => ({ invocation: invocationFor(plan, planned, index, null), result: undefined }));
  const applied = plan.operations.map((_, index) => index).filter((index) => appliesEffect(plan.operations[index]!.fate));
  applied.sort((a, b) => timed[a]!.effectTime - timed[b]!.effectTime || a - b);
  for (const index of applied) {
    const planned = plan.operations[index]!;
    const key = `k${planned.key}`;
    const current = store.get(key) ?? null;
    const invocation = invocationFor(plan, planned, index, current);
    const { next, result } = applyOne(invocation, current);
    if (next === null) store.delete(key);
    else store.set(key, next);
    responses[index] = { invocation, result };
  }
  return responses;
}

function appliesEffect(fate: PlannedFate): boolean {
  return fate === 'ok' || fate === 'unknown-applied';
}

function applyOne(invocation: Invocation, current: string | null): { next: string | null; result: Response['result'] } {
  switch (invocation.kind) {
    case 'get':
      return { next: current, result: current };
    case 'put':
      return { next: invocation.value, result: undefined };
    case 'delete':
      return { next: null, result: undefined };
    case 'append':
      return { next: (current ?? '') + invocation.value, result: undefined };
    case 'cas':
      if (invocation.expect === current) return { next: invocation.value, result: { status: 'swapped' } };
      return { next: current, result: { status: 'mismatch', actual: current } };
  }
}

/** The invocation of planned operation `index`; `current` is the value at its linearization point (null if absent or not applied). */
function invocationFor(plan: HistoryPlan, planned: PlannedOperation, index: number, current: string | null): Invocation {
  const key = `k${planned.key}`;
  // Unique values are delimited ("v12.") so that one never occurs inside another by accident.
  const value = plan.values === 'unique' ? `v${index}.` : SMALL_ALPHABET[planned.valueChoice % SMALL_ALPHABET.length]!;
  switch (planned.kind) {
    case 'get':
    case 'delete':
      return { kind: planned.kind, key };
    case 'put':
    case 'append':
      return { kind: planned.kind, key, value };
    case 'cas':
      return { kind: 'cas', key, expect: planned.casExpectsCurrent ? current : otherThan(current, planned.valueChoice), value };
  }
}

/** A value different from `current`, to plan a cas mismatch. */
function otherThan(current: string | null, choice: number): string | null {
  const options: (string | null)[] = [null, ...SMALL_ALPHABET, 'never-written'];
  const pick = options[choice % options.length]!;
  return pick === current ? 'never-written' : pick;
}

function complete(recorder: HistoryRecorder, pending: PendingOperation, planned: PlannedOperation, timing: Timing, result: Response['result']): void {
  switch (planned.fate) {
    case 'ok':
      if (pending.kind === 'get') recorder.ok(pending as PendingOperation<'get'>, timing.completeTime, result as string | null);
      else if (pending.kind === 'cas') recorder.ok(pending as PendingOperation<'cas'>, timing.completeTime, result as CasResult);
      else recorder.ok(pending as PendingOperation<'put' | 'delete' | 'append'>, timing.completeTime);
      return;
    case 'fail':
      recorder.fail(pending, timing.completeTime);
      return;
    case 'unknown-applied':
    case 'unknown-lost':
      recorder.unknown(pending, planned.gaveUpRecorded ? timing.completeTime : null);
  }
}

/** Shape of a {@link randomPlan}. */
export interface RandomPlanOptions {
  readonly operations: number;
  readonly clients: number;
  readonly keys: number;
  /** Fraction of operations whose outcome is unknown; half of them take effect. */
  readonly unknownRate: number;
  /** Fraction of operations that fail. */
  readonly failRate: number;
  readonly values: 'unique' | 'small';
}

/** Relative weights of the kinds in a random plan: a read-heavy mix. */
const KIND_WEIGHTS: readonly [OperationKind, number][] = [
  ['get', 40],
  ['put', 20],
  ['append', 15],
  ['cas', 15],
  ['delete', 10],
];

/** Draws a plan from `random`: clients take turns at random, with overlapping intervals of up to ~20 time units. */
export function randomPlan(random: Random, options: RandomPlanOptions): HistoryPlan {
  const fraction = (): number => random.nextInt(1_000_000) / 1_000_000;
  const operations: PlannedOperation[] = [];
  for (let index = 0; index < options.operations; index++) {
    const fateDraw = fraction();
    const fate: PlannedFate =
      fateDraw < options.unknownRate / 2 ? 'unknown-applied'
      : fateDraw < options.unknownRate ? 'unknown-lost'
      : fateDraw < options.unknownRate + options.failRate ? 'fail'
      : 'ok';
    operations.push({
      client: random.nextInt(options.clients),
      key: random.nextInt(options.keys),
      kind: weightedKind(random.nextInt(100)),
      fate,
      valueChoice: random.nextInt(1000),
      casExpectsCurrent: random.nextInt(3) !== 0,
      gapBefore: random.nextInt(6),
      toEffect: random.nextInt(11),
      toResponse: random.nextInt(11),
      lateBy: random.nextInt(4) === 0 ? random.nextInt(60) : 0,
      gaveUpRecorded: random.nextInt(4) !== 0,
    });
  }
  return { operations, values: options.values };
}

function weightedKind(draw: number): OperationKind {
  let remaining = draw;
  for (const [kind, weight] of KIND_WEIGHTS) {
    if (remaining < weight) return kind;
    remaining -= weight;
  }
  return 'get';
}
