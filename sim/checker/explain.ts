/**
 * Turns a failed search into a report a person can act on: the key, the
 * longest linearizable prefix the search found, and at the point where it got
 * stuck, the operation that had to take effect and why no candidate could.
 */

import { assert } from '../../src/util/assert.js';
import type { Operation } from '../history.js';
import { applyKv, describeRejection, formatValue, type KvValue } from './kv-model.js';
import { REJECTED } from './model.js';
import type { PreparedKey } from './prepare-key.js';

/** How many lines of the prefix and of the candidates an explanation prints; the rest is summarised. */
export const EXPLANATION_LINES_MAX = 12;

/**
 * Explains why `key` is not linearizable.
 *
 * @param prepared - The key's prepared history, which `longestPrefix` indexes.
 * @param longestPrefix - The deepest linearization the search reached.
 * @param minimalOps - A small non-linearizable sub-history, if one was computed.
 */
export function explainViolation(key: string, prepared: PreparedKey, longestPrefix: readonly number[], minimalOps?: readonly Operation[]): string {
  const operations = prepared.operations;
  const state = replay(operations, longestPrefix);
  const lines = [
    `Key ${JSON.stringify(key)} is not linearizable: no order of its ${plural(operations.length, 'operation')} respects both their real-time order and the key-value semantics.`,
    ...describeDropped(prepared),
    '',
    `Longest linearizable prefix found (${plural(longestPrefix.length, 'operation')}), with the value after each:`,
    ...describePrefix(operations, longestPrefix),
    '',
    ...describeStuckPoint(operations, prepared, longestPrefix, state),
  ];
  if (minimalOps !== undefined) {
    lines.push('', `A minimal non-linearizable sub-history (${plural(minimalOps.length, 'operation')}, in invoke order):`);
    lines.push(...limitLines(minimalOps.map((operation) => `  ${formatOperation(operation)}`), 'operations'));
  }
  return lines.join('\n');
}

/** One operation on one line: id, client, call, response, times and outcome. */
export function formatOperation(operation: Operation): string {
  return `#${operation.id} ${operation.client} ${formatCall(operation)} ${formatTimes(operation)}`;
}

function formatCall(operation: Operation): string {
  switch (operation.kind) {
    case 'get':
      return operation.outcome === 'ok' ? `get → ${formatValue(operation.result)}` : 'get';
    case 'put':
    case 'append':
      return `${operation.kind}(${formatValue(operation.value)})`;
    case 'delete':
      return 'delete';
    case 'cas': {
      const call = `cas(${formatValue(operation.expect)} → ${formatValue(operation.value)})`;
      if (operation.outcome !== 'ok') return call;
      return operation.result.status === 'swapped' ? `${call} → swapped` : `${call} → mismatch, actual ${formatValue(operation.result.actual)}`;
    }
  }
}

function formatTimes(operation: Operation): string {
  if (operation.outcome === 'ok') return `[${operation.invokeTime}, ${operation.completeTime}]`;
  if (operation.outcome === 'fail') return `[${operation.invokeTime}, ${operation.completeTime}] failed`;
  const end = operation.completeTime === null ? 'never answered' : `gave up at ${operation.completeTime}`;
  return `[${operation.invokeTime}, ${end}] outcome unknown`;
}

/** The value after the prefix. The search only builds prefixes the model accepts, so a rejection here is a bug. */
function replay(operations: readonly Operation[], prefix: readonly number[]): KvValue {
  let state: KvValue = null;
  for (const index of prefix) {
    const after = applyKv(state, operations[index]!);
    assert(after !== REJECTED, () => `prefix operation #${operations[index]!.id} is rejected on replay`);
    state = after;
  }
  return state;
}

function describeDropped(prepared: PreparedKey): string[] {
  const parts: string[] = [];
  if (prepared.failedCount > 0) parts.push(plural(prepared.failedCount, 'failed operation'));
  if (prepared.unansweredReadCount > 0) parts.push(plural(prepared.unansweredReadCount, 'unanswered read'));
  if (prepared.unobservedWriteCount > 0) parts.push(`${plural(prepared.unobservedWriteCount, 'unknown write')} nothing observed`);
  return parts.length === 0 ? [] : [`(Left out, as they cannot change the verdict: ${parts.join(', ')}.)`];
}

function describePrefix(operations: readonly Operation[], prefix: readonly number[]): string[] {
  const lines: string[] = [];
  let state: KvValue = null;
  prefix.forEach((index, position) => {
    const operation = operations[index]!;
    state = applyKv(state, operation) as KvValue;
    lines.push(`  ${position + 1}. ${formatOperation(operation)}  ⇒ ${formatValue(state)}`);
  });
  if (lines.length === 0) return ['  (empty: not even the first operation can take effect)'];
  // The end of the prefix is where things went wrong; keep that part.
  const omitted = lines.length - EXPLANATION_LINES_MAX;
  return omitted > 0 ? [`  … ${plural(omitted, 'earlier operation')}`, ...lines.slice(omitted)] : lines;
}

/**
 * After the prefix, the remaining required operation with the earliest
 * response had to take effect before that response. The candidates are the
 * remaining operations invoked by then; say what became of each.
 */
function describeStuckPoint(operations: readonly Operation[], prepared: PreparedKey, prefix: readonly number[], state: KvValue): string[] {
  const placed = new Set(prefix);
  const remaining = prepared.search.map((_, index) => index).filter((index) => !placed.has(index));
  const required = remaining.filter((index) => prepared.search[index]!.required);
  assert(required.length > 0, 'a violation must leave a required operation unplaced');
  const deadlineIndex = required.reduce((earliest, index) =>
    prepared.search[index]!.returnTime < prepared.search[earliest]!.returnTime ? index : earliest,
  );
  const deadline = prepared.search[deadlineIndex]!.returnTime;
  const candidates = remaining.filter((index) => prepared.search[index]!.invokeTime <= deadline);
  const lines = candidates.map((index) => {
    const operation = operations[index]!;
    const reason = describeRejection(state, operation) ?? 'could take effect here, but every order continuing from it fails later';
    return `  ${formatOperation(operation)}: ${reason}`;
  });
  return [
    `Stuck with the value ${formatValue(state)}: ${formatOperation(operations[deadlineIndex]!)} had to take effect by ${deadline}, but no order of the candidates works:`,
    ...limitLines(lines, 'candidates'),
  ];
}

function limitLines(lines: readonly string[], what: string): string[] {
  if (lines.length <= EXPLANATION_LINES_MAX) return [...lines];
  return [...lines.slice(0, EXPLANATION_LINES_MAX), `  … ${lines.length - EXPLANATION_LINES_MAX} more ${what}`];
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
