/**
 * The linearizability checker for key-value histories.
 *
 * Every operation touches exactly one key, and a history is linearizable if
 * and only if each key's sub-history is (linearizability is local: Herlihy &
 * Wing 1990, Theorem 1; Horn & Kroening call this P-compositionality). So the
 * checker splits the history by key and runs a WGL search per key, which
 * turns one search exponential in the concurrency of the whole history into
 * many small ones.
 */

import { InvalidArgumentError } from '../../src/errors.js';
import type { History, Operation } from '../history.js';
import { checkKey } from './check-key.js';
import { explainViolation } from './explain.js';
import { minimizeViolation } from './minimize.js';
import type { PreparedKey } from './prepare-key.js';
import { validateHistory } from './validate-history.js';
import type { SearchBudget } from './wgl-search.js';

/** Options of {@link checkLinearizability}. */
export interface LinearizabilityOptions {
  /**
   * Wall-clock budget of the whole check, in milliseconds. When it runs out,
   * the keys not yet decided make the result `ok: 'unknown'`.
   * @defaultValue no limit (the step budget still bounds the check)
   */
  readonly timeoutMs?: number;
  /**
   * Search steps allowed per key: one step is one event visited. A
   * deterministic budget, unlike `timeoutMs`, so a simulator run with a seed
   * reaches the same verdict on every machine.
   * @defaultValue 20,000,000 (`DEFAULT_MAX_STEPS_PER_KEY`)
   */
  readonly maxStepsPerKey?: number;
  /**
   * Whether to shrink a violation to a minimal sub-history (`minimalOps`).
   * @defaultValue true
   */
  readonly minimize?: boolean;
  /**
   * The clock `timeoutMs` is measured on, in milliseconds.
   * @defaultValue `performance.now`
   */
  readonly now?: () => number;
}

/**
 * Default of {@link LinearizabilityOptions.maxStepsPerKey}: roughly 5 to 15
 * seconds of search on one core. A linearizable 10,000-operation history
 * needs a few hundred thousand steps in all; only exhaustive searches (a
 * violation late in a long, busy key) come near this.
 */
export const DEFAULT_MAX_STEPS_PER_KEY = 20_000_000;

/** How many re-checks the minimiser may spend on a violation. */
export const MINIMIZE_CHECKS_MAX = 2_000;

/**
 * How many search steps the minimiser may spend in all (capped by
 * `maxStepsPerKey`): about a second, since minimal ops only help reading.
 */
export const MINIMIZE_STEPS_MAX = 5_000_000;

/** Every key's history is linearizable. */
export interface LinearizableResult {
  /** Every key's history is linearizable. */
  readonly ok: true;
}

/** A key whose history is not linearizable: a definite bug in the system under test. */
export interface ViolationResult {
  /** A key's history is not linearizable. */
  readonly ok: false;
  /** The first key (in sorted order) found not linearizable. */
  readonly key: string;
  /** A multi-line report: the operations involved, the longest linearizable prefix, where the search got stuck. */
  readonly explanation: string;
  /** The longest linearizable prefix the search found, in linearization order. */
  readonly longestPrefix: readonly Operation[];
  /** A small sub-history of `key` that is non-linearizable on its own, in invoke order (when `minimize` is on). */
  readonly minimalOps?: readonly Operation[];
}

/** The budget ran out before every key was decided, and no decided key was a violation. */
export interface UndecidedResult {
  /** The search did not decide every key. */
  readonly ok: 'unknown';
  /** Which budget ran out, and for which keys. */
  readonly reason: string;
  /** The keys whose search did not finish, in sorted order. */
  readonly undecidedKeys: readonly string[];
}

/** The verdict of {@link checkLinearizability}. */
export type LinearizabilityResult = LinearizableResult | ViolationResult | UndecidedResult;

/**
 * Checks whether a key-value history is linearizable.
 *
 * `ok` operations must take effect between their invoke and complete times;
 * `unknown` ones at any time after their invoke, or never; `fail` ones never.
 * Intervals are closed: operations whose intervals merely touch count as
 * concurrent.
 *
 * @returns `{ ok: true }`, a violation naming the first bad key (in sorted
 *   key order), or `{ ok: 'unknown' }` if the budget ran out first. A
 *   violation wins over an undecided key: it is definite.
 * @throws {@link keel!InvalidArgumentError} if the history or the options are malformed.
 */
export function checkLinearizability(history: History, options: LinearizabilityOptions = {}): LinearizabilityResult {
  validateHistory(history);
  const resolved = resolveOptions(options);
  const undecided: { key: string; reason: string }[] = [];
  for (const [key, operations] of partitionByKey(history)) {
    const budget: SearchBudget = { maxSteps: resolved.maxStepsPerKey, deadline: resolved.deadline, now: resolved.now };
    const { prepared, result } = checkKey(operations, budget);
    if (result.kind === 'violation') {
      return reportViolation(key, prepared, result.longestPrefix, resolved);
    }
    if (result.kind === 'exhausted') undecided.push({ key, reason: result.reason });
  }
  if (undecided.length === 0) return { ok: true };
  return { ok: 'unknown', reason: describeUndecided(undecided, resolved), undecidedKeys: undecided.map(({ key }) => key) };
}

interface ResolvedOptions {
  readonly maxStepsPerKey: number;
  readonly deadline: number;
  readonly minimize: boolean;
  readonly now: () => number;
  readonly timeoutMs: number;
}

function resolveOptions(options: LinearizabilityOptions): ResolvedOptions {
  const timeoutMs = options.timeoutMs ?? Infinity;
  const maxStepsPerKey = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be a non-negative number, got ${timeoutMs}`);
  if (!(Number.isSafeInteger(maxStepsPerKey) && maxStepsPerKey > 0)) {
    throw new InvalidArgumentError(`maxStepsPerKey must be a positive safe integer, got ${maxStepsPerKey}`);
  }
  const now = options.now ?? (() => performance.now());
  return { maxStepsPerKey, timeoutMs, deadline: now() + timeoutMs, minimize: options.minimize ?? true, now };
}

/** Each key's operations, keys in sorted order so that the reported key does not depend on the history's order. */
function partitionByKey(history: History): [string, Operation[]][] {
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    const operations = byKey.get(operation.key);
    if (operations === undefined) byKey.set(operation.key, [operation]);
    else operations.push(operation);
  }
  return [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function reportViolation(key: string, prepared: PreparedKey, longestPrefix: readonly number[], options: ResolvedOptions): ViolationResult {
  const prefixOperations = longestPrefix.map((index) => prepared.operations[index]!);
  if (!options.minimize) {
    return { ok: false, key, explanation: explainViolation(key, prepared, longestPrefix), longestPrefix: prefixOperations };
  }
  const minimalOps = minimizeViolation(prepared.operations, {
    checksMax: MINIMIZE_CHECKS_MAX,
    stepsMax: Math.min(MINIMIZE_STEPS_MAX, options.maxStepsPerKey),
    deadline: options.deadline,
    now: options.now,
  });
  return {
    ok: false,
    key,
    explanation: explainViolation(key, prepared, longestPrefix, minimalOps),
    longestPrefix: prefixOperations,
    minimalOps,
  };
}

function describeUndecided(undecided: readonly { key: string; reason: string }[], options: ResolvedOptions): string {
  const bySteps = undecided.filter(({ reason }) => reason === 'steps').map(({ key }) => JSON.stringify(key));
  const byDeadline = undecided.filter(({ reason }) => reason === 'deadline').map(({ key }) => JSON.stringify(key));
  const parts: string[] = [];
  if (bySteps.length > 0) parts.push(`the step budget of ${options.maxStepsPerKey} per key ran out for ${bySteps.join(', ')}`);
  if (byDeadline.length > 0) parts.push(`the ${options.timeoutMs} ms timeout ran out before ${byDeadline.join(', ')} could be decided`);
  return `No violation found, but ${parts.join('; ')}.`;
}
