import { Packr } from 'msgpackr';
import { describe, expect, test } from 'vitest';
import { CorruptionError, InvalidConfigError, ResultNotEncodableError, SessionConflictError, SessionExpiredError, SessionStaleError } from '../../src/errors.js';
import { encodeResult, MAX_RESULT_DEPTH } from '../../src/node/apply/result-encoding.js';
import type { SessionRequest } from '../../src/node/apply/session.js';
import { SessionTable } from '../../src/node/apply/sessions.js';

const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
const req = (id: number, seq: number): SessionRequest => ({ kind: 'registered', id, seq });

describe('SessionTable', () => {
  test('refuses a request of a session it never registered, whatever its sequence number', () => {
    const table = new SessionTable(4);
    for (const seq of [1, 2, 1000]) {
      const decision = table.check(req(7, seq), bytes('x'));
      expect(decision.kind).toBe('refuse');
      expect(decision.kind === 'refuse' && decision.error).toBeInstanceOf(SessionExpiredError);
    }
  });

  test('applies a new request, answers a retry with the first result, refuses older and conflicting ones', () => {
    const table = new SessionTable(4);
    table.register(5);
    expect(table.check(req(5, 1), bytes('put'))).toEqual({ kind: 'apply' });
    expect(table.record(req(5, 1), bytes('put'), 6, { value: 'r1' })).toEqual({ ok: true, result: { value: 'r1' } });
    expect(table.check(req(5, 1), bytes('put'))).toEqual({ kind: 'duplicate', outcome: { ok: true, result: { value: 'r1' } } });
    const conflict = table.check(req(5, 1), bytes('delete'));
    expect(conflict.kind === 'refuse' && conflict.error).toBeInstanceOf(SessionConflictError);
    table.record(req(5, 2), bytes('b'), 7, 2);
    const stale = table.check(req(5, 1), bytes('put'));
    expect(stale.kind === 'refuse' && stale.error).toBeInstanceOf(SessionStaleError);
  });

  test('evicts the least recently used session beyond its bound, use counted in apply order', () => {
    const table = new SessionTable(2);
    table.register(1);
    table.register(2);
    table.check(req(1, 1), bytes('a')); // 1 is now the most recently used
    table.register(3); // evicts 2
    expect(table.size).toBe(2);
    expect([table.has(1), table.has(2), table.has(3)]).toEqual([true, false, true]);
  });

  test('a closed session is gone', () => {
    const table = new SessionTable(2);
    table.register(1);
    expect(table.close(1)).toBe(true);
    expect(table.close(1)).toBe(false);
    expect(table.check(req(1, 1), bytes('a')).kind).toBe('refuse');
  });

  test('remembers an unencodable result as a failure: the proposer and every retry get ResultNotEncodableError', () => {
    const table = new SessionTable(2);
    table.register(1);
    const first = table.record(req(1, 1), bytes('s'), 9, Symbol('s'));
    expect(!first.ok && first.error).toBeInstanceOf(ResultNotEncodableError);
    const retry = table.check(req(1, 1), bytes('s'));
    expect(retry.kind === 'duplicate' && !retry.outcome.ok && retry.outcome.error).toBeInstanceOf(ResultNotEncodableError);
    expect(() => table.encode()).not.toThrow();
  });

  test('round-trips through its snapshot encoding, LRU order and failures included', () => {
    const table = new SessionTable(3);
    table.register(1);
    table.register(2);
    table.register(3);
    table.record(req(1, 4), bytes('a'), 10, { value: 'result', n: 1 });
    table.record(req(2, 1), bytes('b'), 11, Symbol('b'));
    table.record({ kind: 'implicit', clientId: 'legacy', seq: 2 }, bytes('c'), 12, 'c'); // evicts 3, the least recently used
    const copy = new SessionTable(3);
    copy.restore(table.encode());
    expect(copy.encode()).toEqual(table.encode());
    expect(copy.has(3)).toBe(false);
    expect(copy.check(req(1, 4), bytes('a'))).toEqual({ kind: 'duplicate', outcome: { ok: true, result: { value: 'result', n: 1 } } });
    const failure = copy.check(req(2, 1), bytes('b'));
    expect(failure.kind === 'duplicate' && !failure.outcome.ok && failure.outcome.error).toBeInstanceOf(ResultNotEncodableError);
  });

  test('reads the implicit-session list of earlier versions; refuses what is neither format with CorruptionError', () => {
    const oldFormat = new Packr({ useRecords: false, moreTypes: true }).pack([['client-a', 3, { ok: 1 }]]);
    const table = new SessionTable(4);
    table.restore(oldFormat);
    // No digest was kept then, so any command with that number is a retry, as it was.
    expect(table.check({ kind: 'implicit', clientId: 'client-a', seq: 3 }, bytes('anything'))).toEqual({ kind: 'duplicate', outcome: { ok: true, result: { ok: 1 } } });
    const packr = new Packr({ useRecords: false });
    for (const bad of [packr.pack({ keelSessions: 3, rows: [] }), packr.pack([[1, 2]]), packr.pack({ keelSessions: 2, rows: [[0, 1, null, null, 0]] }), Uint8Array.of(0xc1)]) {
      expect(() => new SessionTable(4).restore(bad)).toThrow(CorruptionError);
    }
  });

  test('refuses a snapshot holding more sessions than its bound: every node must run with the same limit', () => {
    const table = new SessionTable(3);
    for (const id of [1, 2, 3]) table.register(id);
    expect(() => new SessionTable(2).restore(table.encode())).toThrow(InvalidConfigError);
  });
});

describe('encodeResult', () => {
  test('refuses Symbols, cycles and too deep nesting; accepts what msgpack encodes', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    let deep: unknown = 'leaf';
    for (let depth = 0; depth <= MAX_RESULT_DEPTH; depth++) deep = [deep];
    expect(encodeResult(Symbol('x')).ok).toBe(false);
    expect(encodeResult(cyclic).ok).toBe(false);
    expect(encodeResult(deep).ok).toBe(false);
    expect(encodeResult({ a: [1, 'two', null], b: new Uint8Array([1]) }).ok).toBe(true);
  });
});
