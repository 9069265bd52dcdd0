/**
 * Input validation for the history checkers. A malformed history is bad
 * input, not a linearizability violation: it is reported as an
 * {@link InvalidArgumentError} naming the operation, so that a recording bug
 * in a test harness is never mistaken for a bug in Keel.
 */

import { InvalidArgumentError } from '../../src/errors.js';
import type { History, Operation } from '../history.js';

/**
 * Checks that every operation of `history` is well formed: unique integer
 * ids, a string client and key, finite times with `completeTime >=
 * invokeTime`, a `completeTime` on `ok` and `fail` responses, and the fields
 * its kind and outcome require.
 *
 * @throws {@link InvalidArgumentError} on the first malformed operation.
 */
export function validateHistory(history: History): void {
  if (!Array.isArray(history)) {
    throw new InvalidArgumentError('history must be an array of operations');
  }
  const seenIds = new Set<number>();
  for (const operation of history) {
    validateOperation(operation);
    if (seenIds.has(operation.id)) {
      throw new InvalidArgumentError(`history: operation id ${operation.id} appears twice`);
    }
    seenIds.add(operation.id);
  }
}

function validateOperation(operation: Operation): void {
  const fail = (message: string): never => {
    throw new InvalidArgumentError(`history: operation ${describeId(operation)}: ${message}`);
  };
  if (typeof operation !== 'object' || operation === null) fail('not an object');
  if (!Number.isSafeInteger(operation.id)) fail(`id must be a safe integer, got ${String(operation.id)}`);
  if (typeof operation.client !== 'string') fail('client must be a string');
  if (typeof operation.key !== 'string') fail('key must be a string');
  if (!Number.isFinite(operation.invokeTime)) fail(`invokeTime must be finite, got ${operation.invokeTime}`);
  validateCompletion(operation, fail);
  validateFields(operation, fail);
}

function validateCompletion(operation: Operation, fail: (message: string) => never): void {
  const { outcome, completeTime } = operation;
  if (outcome !== 'ok' && outcome !== 'fail' && outcome !== 'unknown') fail(`unknown outcome ${JSON.stringify(outcome)}`);
  if (completeTime === null) {
    // Only an unknown outcome can lack a response time: ok and fail are
    // responses, and a response arrives at some time.
    if (outcome !== 'unknown') fail(`an ${outcome} outcome needs a completeTime`);
    return;
  }
  if (!Number.isFinite(completeTime)) fail(`completeTime must be finite or null, got ${completeTime}`);
  if (completeTime < operation.invokeTime) fail(`completeTime ${completeTime} is before invokeTime ${operation.invokeTime}`);
}

function validateFields(operation: Operation, fail: (message: string) => never): void {
  switch (operation.kind) {
    case 'get':
      if (operation.outcome === 'ok' && !isValue(operation.result)) fail('an ok get needs a result that is a string or null');
      return;
    case 'put':
    case 'append':
      if (typeof operation.value !== 'string') fail(`a ${operation.kind} needs a string value`);
      return;
    case 'delete':
      return;
    case 'cas':
      if (typeof operation.value !== 'string') fail('a cas needs a string value');
      if (!isValue(operation.expect)) fail('a cas needs an expect that is a string or null');
      if (operation.outcome === 'ok') validateCasResult(operation.result, fail);
      return;
    default:
      fail(`unknown kind ${JSON.stringify((operation as { kind: unknown }).kind)}`);
  }
}

function validateCasResult(result: unknown, fail: (message: string) => never): void {
  if (typeof result !== 'object' || result === null) fail('an ok cas needs a result');
  const status = (result as { status?: unknown }).status;
  if (status === 'swapped') return;
  if (status !== 'mismatch') fail(`a cas result status must be 'swapped' or 'mismatch', got ${JSON.stringify(status)}`);
  if (!isValue((result as { actual?: unknown }).actual)) fail('a cas mismatch needs an actual value that is a string or null');
}

function isValue(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

function describeId(operation: unknown): string {
  const id = typeof operation === 'object' && operation !== null ? (operation as { id?: unknown }).id : undefined;
  return id === undefined ? '(no id)' : String(id);
}
