/**
 * Turns one key's operations into the input of the WGL search, leaving out
 * the operations that provably cannot change the verdict. Without this, an
 * unknown write that never took effect stays pending until the end of the
 * history, and the search pays for every subset of such writes.
 */

import type { Operation } from '../history.js';
import type { SearchOperation } from './wgl-search.js';

/** One key's history, ready for the search. */
export interface PreparedKey {
  /** The operations the search considers; `search[i].operation === operations[i]`. */
  readonly operations: readonly Operation[];
  readonly search: readonly SearchOperation<Operation>[];
  /** Failed operations, which never took effect. */
  readonly failedCount: number;
  /** Gets without an `ok` response, which neither change nor observe anything. */
  readonly unansweredReadCount: number;
  /** Unknown writes left out because nothing could have observed them. */
  readonly unobservedWriteCount: number;
}

/**
 * Prepares the operations of one key (all with the same `key`) for the search.
 *
 * Left out: failed operations (they certainly did not take effect), gets
 * whose response never arrived (a read without an answer constrains
 * nothing), and unknown writes that nothing could have observed.
 */
export function prepareKey(operations: readonly Operation[]): PreparedKey {
  const candidates = operations.filter((operation) => operation.outcome !== 'fail');
  const effective = candidates.filter((operation) => operation.kind !== 'get' || operation.outcome === 'ok');
  const observations = collectObservations(effective);
  const kept = effective.filter((operation) => !isUnobservedWrite(operation, observations, effective));
  return {
    operations: kept,
    search: kept.map(toSearchOperation),
    failedCount: operations.length - candidates.length,
    unansweredReadCount: candidates.length - effective.length,
    unobservedWriteCount: effective.length - kept.length,
  };
}

/** A value some operation observed, and the latest time it can have observed it. */
interface Observation {
  readonly value: string | null;
  readonly latestTime: number;
  readonly observer: Operation;
}

/**
 * Everything the key's operations saw of its value: the results of ok gets,
 * the actual values of ok cas mismatches, and the expected values of every
 * cas (a cas that swapped saw its expected value; for an unknown cas we
 * cannot tell, so it counts, conservatively).
 */
function collectObservations(operations: readonly Operation[]): Observation[] {
  const observations: Observation[] = [];
  for (const operation of operations) {
    const latestTime = effectiveReturnTime(operation);
    const observe = (value: string | null): void => {
      observations.push({ value, latestTime, observer: operation });
    };
    if (operation.kind === 'get' && operation.outcome === 'ok') observe(operation.result);
    if (operation.kind !== 'cas') continue;
    observe(operation.expect);
    if (operation.outcome === 'ok' && operation.result.status === 'mismatch') observe(operation.result.actual);
  }
  return observations;
}

/**
 * Whether `operation` is an unknown write that can be dropped without
 * changing the verdict. (A cas's own expected value says nothing about what
 * it wrote, so it is not counted against it.)
 *
 * An unknown put, append or cas writing `u` can be dropped if no observation
 * that could come after it (one whose operation did not complete before it
 * was invoked) contains `u` as a substring. Proof sketch: take a valid
 * linearization that includes it. Until the next put, delete or successful
 * cas, the value contains `u` (appends only extend it). So no get, cas
 * mismatch or successful cas sits in that stretch: each would have observed a
 * string containing `u`. Only appends, which answer nothing, and unknown cas
 * that did not swap are there. Remove the write, and those unknown cas ops
 * too (an unknown operation may be omitted): every remaining response is
 * still valid, and the value is the same again after the stretch.
 *
 * An unknown delete can be dropped if no operation that could come after it
 * observes absence and no append could follow it, by the same argument
 * (an append after a delete would start from "" and leave a trace).
 *
 * Observations are collected from the original history, a superset of what
 * is left after dropping, so the argument still holds when several writes
 * are dropped one after another.
 */
function isUnobservedWrite(operation: Operation, observations: readonly Observation[], operations: readonly Operation[]): boolean {
  if (operation.outcome !== 'unknown' || operation.kind === 'get') return false;
  // An observer that completed before this write was invoked precedes it in
  // every linearization, so what it saw says nothing about the write.
  const canFollow = (observation: Observation): boolean => observation.observer !== operation && observation.latestTime >= operation.invokeTime;
  if (operation.kind === 'delete') {
    const absenceSeen = observations.some((observation) => observation.value === null && canFollow(observation));
    const appendFollows = operations.some((other) => other.kind === 'append' && effectiveReturnTime(other) >= operation.invokeTime);
    return !absenceSeen && !appendFollows;
  }
  const written = operation.value;
  return !observations.some((observation) => observation.value !== null && canFollow(observation) && observation.value.includes(written));
}

/** The latest time `operation` can take effect: its completion if ok, otherwise never bounded. */
export function effectiveReturnTime(operation: Operation): number {
  return operation.outcome === 'ok' ? operation.completeTime : Infinity;
}

function toSearchOperation(operation: Operation): SearchOperation<Operation> {
  const required = operation.outcome === 'ok';
  return {
    operation,
    invokeTime: operation.invokeTime,
    returnTime: effectiveReturnTime(operation),
    required,
    equivalenceClass: required ? null : equivalenceClass(operation),
  };
}

/** Unknown operations with equal class strings have the same effect in every state. */
function equivalenceClass(operation: Operation): string {
  switch (operation.kind) {
    case 'put':
    case 'append':
      return `${operation.kind}\u0000${operation.value}`;
    case 'cas':
      return `cas\u0000${operation.expect === null ? '\u0001' : `\u0002${operation.expect}`}\u0000${operation.value}`;
    default:
      return operation.kind;
  }
}
