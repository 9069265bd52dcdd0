/**
 * A brute-force linearizability checker, written independently of the real
 * one and as plainly as possible, to compare verdicts with on small
 * histories. It tries every order of every subset of the unknown-outcome
 * operations together with all the ok ones, over the whole history at once
 * (no per-key split, no memo, no pruning, its own key-value semantics), so
 * each shortcut the real checker takes is checked against the definition.
 */

import type { Operation } from '../../sim/history.js';

type Store = ReadonlyMap<string, string>;

/** Whether `history` is linearizable, by exhaustive search. Exponential: keep histories to about 8 operations. */
export function naiveIsLinearizable(history: readonly Operation[]): boolean {
  const candidates = history.filter((operation) => operation.outcome !== 'fail');
  return extend(candidates, new Set(), new Map());
}

function extend(operations: readonly Operation[], placed: ReadonlySet<Operation>, store: Store): boolean {
  const okLeft = operations.some((operation) => operation.outcome === 'ok' && !placed.has(operation));
  // Unknown operations left over are taken never to have happened.
  if (!okLeft) return true;
  for (const next of operations) {
    if (placed.has(next) || !canGoNext(next, operations, placed)) continue;
    const after = apply(store, next);
    if (after !== undefined && extend(operations, new Set([...placed, next]), after)) return true;
  }
  return false;
}

/** Real time: `next` cannot go before an unplaced ok operation that completed before `next` was invoked. */
function canGoNext(next: Operation, operations: readonly Operation[], placed: ReadonlySet<Operation>): boolean {
  return operations.every(
    (other) => placed.has(other) || other === next || other.outcome !== 'ok' || !(other.completeTime < next.invokeTime),
  );
}

/** The store after `operation`, or undefined if its observed response is impossible. */
function apply(store: Store, operation: Operation): Store | undefined {
  const current = store.get(operation.key) ?? null;
  const answered = operation.outcome === 'ok';
  const set = (value: string | null): Store => {
    const copy = new Map(store);
    if (value === null) copy.delete(operation.key);
    else copy.set(operation.key, value);
    return copy;
  };
  if (operation.kind === 'get') return !answered || operation.result === current ? store : undefined;
  if (operation.kind === 'put') return set(operation.value);
  if (operation.kind === 'delete') return set(null);
  if (operation.kind === 'append') return set(current === null ? operation.value : current + operation.value);
  const swaps = operation.expect === current;
  if (answered) {
    const result = operation.result;
    if (result.status === 'swapped' && !swaps) return undefined;
    if (result.status === 'mismatch' && (swaps || result.actual !== current)) return undefined;
  }
  return swaps ? set(operation.value) : store;
}
