/**
 * Shrinks a non-linearizable key history to a small sub-history that is
 * still non-linearizable on its own, so a failure report can show the three
 * operations that matter instead of three thousand.
 */

import type { Operation } from '../history.js';
import { checkKey } from './check-key.js';

/**
 * Limits on minimisation; it is an aid to reading, so it stops early rather
 * than delay the verdict. A re-check that runs out of budget counts as "not
 * shown to fail", and the operations it tried to remove stay.
 */
export interface MinimizeBudget {
  /** At most this many re-checks of candidate sub-histories. */
  readonly checksMax: number;
  /** At most this many search steps over all re-checks. */
  readonly stepsMax: number;
  /** No re-check starts, or continues, once `now()` reaches this time. */
  readonly deadline: number;
  readonly now: () => number;
}

/**
 * Returns a sub-history of `operations` (one key, known to be
 * non-linearizable) that is still non-linearizable and from which no single
 * operation can be removed (when the budget allows finishing), in invoke order.
 *
 * Removal is in chunks, halving the chunk size, as in delta debugging. A
 * candidate is only accepted if every value it observes can still be
 * produced by its own writes (see {@link isSelfContained}), unless the full
 * history could not produce it either; otherwise the minimiser would happily
 * drop a write and keep a read of it, and "read a value never written" would
 * replace the real story (a stale read, say).
 */
export function minimizeViolation(operations: readonly Operation[], budget: MinimizeBudget): Operation[] {
  let current = [...operations].sort((a, b) => a.invokeTime - b.invokeTime || a.id - b.id);
  // A read of a value nobody wrote is the violation itself, not a lost write:
  // it is exempt, so that it can shrink to the read alone.
  const exempt = new Set(unproducibleObservers(operations));
  let checksLeft = budget.checksMax;
  let stepsLeft = budget.stepsMax;
  const stillFails = (candidate: readonly Operation[]): boolean => {
    if (checksLeft <= 0 || unproducibleObservers(candidate).some((operation) => !exempt.has(operation))) return false;
    checksLeft--;
    const { result } = checkKey(candidate, { maxSteps: stepsLeft, deadline: budget.deadline, now: budget.now });
    stepsLeft -= result.steps;
    // Out of budget: stop trying rather than spend the rest on instant failures.
    if (result.kind === 'exhausted' || stepsLeft <= 0) checksLeft = 0;
    return result.kind === 'violation';
  };
  let chunk = Math.max(1, Math.floor(current.length / 2));
  for (;;) {
    const before = current.length;
    current = removeChunks(current, chunk, stillFails);
    if (checksLeft <= 0) return current;
    if (chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2));
    // At chunk size 1, repeat until a full pass removes nothing: removing one
    // operation can make another removable.
    else if (current.length === before) return current;
  }
}

/** One pass: tries to remove each chunk, latest first (later operations are more often irrelevant to an early failure). */
function removeChunks(operations: readonly Operation[], chunk: number, stillFails: (candidate: readonly Operation[]) => boolean): Operation[] {
  let current = [...operations];
  for (let start = Math.floor((current.length - 1) / chunk) * chunk; start >= 0; start -= chunk) {
    const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
    if (candidate.length > 0 && stillFails(candidate)) current = candidate;
  }
  return current;
}

/**
 * Whether every value the history observes could be produced by its own
 * operations: each non-null value read, reported as actual by a cas, or
 * expected by a cas that swapped, is a put or cas value followed by zero or
 * more append values, or a concatenation of append values.
 */
export function isSelfContained(operations: readonly Operation[]): boolean {
  return unproducibleObservers(operations).length === 0;
}

/**
 * The operations that observed a value (see {@link isSelfContained}) that
 * the history's own writes cannot produce. The minimiser accepts a candidate
 * only if each of these also observed an unproducible value in the history
 * it started from.
 */
export function unproducibleObservers(operations: readonly Operation[]): Operation[] {
  const bases = new Set<string>(['']);
  const appended = new Set<string>();
  for (const operation of operations) {
    if (operation.outcome === 'fail') continue;
    if (operation.kind === 'put' || operation.kind === 'cas') bases.add(operation.value);
    if (operation.kind === 'append') appended.add(operation.value);
  }
  const lengths = [...new Set([...appended].map((value) => value.length))].filter((length) => length > 0);
  return operations.filter((operation) => observedValues(operation).some((value) => !isComposable(value, bases, appended, lengths)));
}

function observedValues(operation: Operation): string[] {
  if (operation.outcome !== 'ok') return [];
  if (operation.kind === 'get') return operation.result === null ? [] : [operation.result];
  if (operation.kind !== 'cas') return [];
  if (operation.result.status === 'swapped') return operation.expect === null ? [] : [operation.expect];
  return operation.result.actual === null ? [] : [operation.result.actual];
}

/** Whether `value` = base + a1 + … + an with base in `bases` and each ai in `appended` (dynamic programming over positions). */
function isComposable(value: string, bases: ReadonlySet<string>, appended: ReadonlySet<string>, lengths: readonly number[]): boolean {
  if (bases.has(value)) return true;
  const reachable = new Uint8Array(value.length + 1);
  for (const base of bases) {
    if (value.startsWith(base)) reachable[base.length] = 1;
  }
  for (let position = 0; position < value.length; position++) {
    if (reachable[position] === 0) continue;
    for (const length of lengths) {
      if (position + length <= value.length && appended.has(value.slice(position, position + length))) reachable[position + length] = 1;
    }
  }
  return reachable[value.length] === 1;
}
