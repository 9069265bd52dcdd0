/**
 * The sequential specification of one key of Keel's key-value store. The
 * checker partitions a history by key, so the model's state is just the value
 * of a single key: a string, or null when the key is absent.
 */

import { assert, assertNever } from '../../src/util/assert.js';
import type { CasResult, Operation } from '../history.js';
import { REJECTED, type Rejected, type SequentialModel } from './model.js';

/** The value of one key: a string, or null when the key is absent. */
export type KvValue = string | null;

/**
 * The specification, on plain values: the value after `operation` takes
 * effect on `value`, or {@link REJECTED} if the response the client observed
 * is impossible.
 *
 * - get answers the current value;
 * - put sets it, delete removes it, append concatenates (absent counts as "");
 * - cas swaps iff the current value equals `expect` and answers `swapped`, or
 *   answers `mismatch` with the current value.
 *
 * An `unknown` outcome has no observed response, so it is never rejected: only
 * its effect counts. A `fail` outcome never took effect and must not be
 * applied.
 */
export function applyKv(value: KvValue, operation: Operation): KvValue | Rejected {
  assert(operation.outcome !== 'fail', () => `operation ${operation.id} failed and cannot take effect`);
  const observed = operation.outcome === 'ok';
  switch (operation.kind) {
    case 'get':
      return !observed || operation.result === value ? value : REJECTED;
    case 'put':
      return operation.value;
    case 'delete':
      return null;
    case 'append':
      return (value ?? '') + operation.value;
    case 'cas': {
      const swaps = value === operation.expect;
      if (observed && !casResultMatches(operation.result, swaps, value)) return REJECTED;
      return swaps ? operation.value : value;
    }
    default:
      return assertNever(operation, 'operation kind');
  }
}

function casResultMatches(result: CasResult, swaps: boolean, value: KvValue): boolean {
  return result.status === 'swapped' ? swaps : !swaps && result.actual === value;
}

/** The state id of an absent key in every {@link KvModel}. */
export const ABSENT = 0;

/**
 * {@link applyKv} as a {@link SequentialModel} for the search, with values
 * hash-consed into small integer ids.
 *
 * Why: the search looks every state up in its memo, and appends make values
 * long (thousands of characters after a few hundred appends). Hashing such a
 * string at each step made checking quadratic. Here an append is interned by
 * (previous id, suffix), a short key, and the memo only ever sees integers.
 * Two ids may stand for equal strings (put "ab" and put "a" then append "b"):
 * that only makes the memo a little less effective, never wrong, because
 * every comparison with an observed value is done on the strings.
 *
 * One instance per search: it accumulates the values it has seen.
 */
export class KvModel implements SequentialModel<number, Operation> {
  /** The state before any operation: the key is absent. */
  readonly initialState = ABSENT;
  // Index: state id. Id 0 is the absent key.
  private readonly values: KvValue[] = [null];
  private readonly putIds = new Map<string, number>();
  private readonly appendIds = new Map<string, number>();

  /** The value a state id stands for. */
  valueOf(state: number): KvValue {
    const value = this.values[state];
    assert(value !== undefined, () => `unknown state id ${state}`);
    return value;
  }

  /** {@link applyKv} on state ids. */
  step(state: number, operation: Operation): number | Rejected {
    assert(operation.outcome !== 'fail', () => `operation ${operation.id} failed and cannot take effect`);
    const value = this.valueOf(state);
    const observed = operation.outcome === 'ok';
    switch (operation.kind) {
      case 'get':
        return !observed || operation.result === value ? state : REJECTED;
      case 'put':
        return this.idOfPut(operation.value);
      case 'delete':
        return ABSENT;
      case 'append':
        return this.idOfAppend(state, operation.value);
      case 'cas': {
        const swaps = value === operation.expect;
        if (observed && !casResultMatches(operation.result, swaps, value)) return REJECTED;
        return swaps ? this.idOfPut(operation.value) : state;
      }
      default:
        return assertNever(operation, 'operation kind');
    }
  }

  private idOfPut(value: string): number {
    let id = this.putIds.get(value);
    if (id === undefined) {
      id = this.values.push(value) - 1;
      this.putIds.set(value, id);
    }
    return id;
  }

  private idOfAppend(state: number, suffix: string): number {
    const value = this.valueOf(state);
    // Appending "" to a present value changes nothing; keep the id, so the
    // search sees it as the no-op it is.
    if (suffix === '' && value !== null) return state;
    const key = `${state}\u0000${suffix}`;
    let id = this.appendIds.get(key);
    if (id === undefined) {
      id = this.values.push((value ?? '') + suffix) - 1;
      this.appendIds.set(key, id);
    }
    return id;
  }
}

/**
 * Why {@link applyKv} rejects `operation` on `value`, in words, for failure
 * explanations; null when it is accepted.
 */
export function describeRejection(value: KvValue, operation: Operation): string | null {
  if (applyKv(value, operation) !== REJECTED) return null;
  const current = formatValue(value);
  if (operation.kind === 'get' && operation.outcome === 'ok') {
    return `read ${formatValue(operation.result)} but the value was ${current}`;
  }
  assert(operation.kind === 'cas' && operation.outcome === 'ok', () => `operation ${operation.id} was rejected without an observed response`);
  if (operation.result.status === 'swapped') return `swapped, but the value was ${current}, not the expected ${formatValue(operation.expect)}`;
  if (value === operation.expect) return `reported a mismatch, but the value was ${current}, equal to the expected value`;
  return `reported the actual value ${formatValue(operation.result.actual)}, but the value was ${current}`;
}

/** A value as explanations print it: JSON-quoted, or `absent` for null. */
export function formatValue(value: KvValue): string {
  return value === null ? 'absent' : JSON.stringify(value);
}
