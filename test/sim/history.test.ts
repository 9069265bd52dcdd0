import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { HistoryRecorder } from '../../sim/history.js';

describe('HistoryRecorder', () => {
  test('assigns ids in invocation order and stamps the times it is given', () => {
    // Arrange
    const recorder = new HistoryRecorder();
    // Act
    const write = recorder.invoke('c1', { kind: 'put', key: 'x', value: 'a' }, 100);
    const read = recorder.invoke('c2', { kind: 'get', key: 'x' }, 105);
    const swap = recorder.invoke('c1', { kind: 'cas', key: 'x', expect: 'a', value: 'b' }, 110);
    recorder.ok(write, 120);
    recorder.ok(read, 125, 'a');
    recorder.ok(swap, 130, { status: 'mismatch', actual: null });
    // Assert
    expect(recorder.history()).toEqual([
      { id: 0, client: 'c1', kind: 'put', key: 'x', value: 'a', invokeTime: 100, outcome: 'ok', completeTime: 120 },
      { id: 1, client: 'c2', kind: 'get', key: 'x', invokeTime: 105, outcome: 'ok', completeTime: 125, result: 'a' },
      { id: 2, client: 'c1', kind: 'cas', key: 'x', expect: 'a', value: 'b', invokeTime: 110, outcome: 'ok', completeTime: 130, result: { status: 'mismatch', actual: null } },
    ]);
  });

  test('records failures and unknown outcomes, and reports operations still in flight as unknown, never completed', () => {
    const recorder = new HistoryRecorder();
    const rejected = recorder.invoke('c1', { kind: 'append', key: 'x', value: 'a' }, 0);
    const timedOut = recorder.invoke('c2', { kind: 'delete', key: 'x' }, 1);
    recorder.invoke('c3', { kind: 'get', key: 'x' }, 2);
    recorder.fail(rejected, 3);
    recorder.unknown(timedOut, 50);
    expect(recorder.history().map(({ outcome, completeTime }) => ({ outcome, completeTime }))).toEqual([
      { outcome: 'fail', completeTime: 3 },
      { outcome: 'unknown', completeTime: 50 },
      { outcome: 'unknown', completeTime: null },
    ]);
  });

  test('rejects completing twice, completing before the invocation, unknown handles and non-finite times', () => {
    const recorder = new HistoryRecorder();
    const write = recorder.invoke('c1', { kind: 'put', key: 'x', value: 'a' }, 10);
    expect(() => recorder.ok(write, 9)).toThrow(InvalidArgumentError);
    recorder.ok(write, 11);
    expect(() => recorder.fail(write, 12)).toThrow('already completed as ok');
    expect(() => recorder.ok({ id: 7, kind: 'put' }, 12)).toThrow('no put operation with id 7');
    expect(() => recorder.invoke('c1', { kind: 'get', key: 'x' }, Number.NaN)).toThrow(InvalidArgumentError);
  });
});
