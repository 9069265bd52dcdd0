/**
 * ApplyWaiters: a proposal's waiter settles when its index is applied, with
 * the result if the entry is its own (same term) and ProposalLostError if a
 * new leader replaced it; a waiter added after the apply (a forwarded
 * proposal's answer arriving late) is settled from the recent outcomes,
 * which keep the last `recentLimit` applied entries.
 */
import { describe, expect, test } from 'vitest';
import { ProposalLostError } from '../../src/errors.js';
import { VirtualClock } from '../../src/util/clock.js';
import { ApplyWaiters, guardedPromise } from '../../src/node/requests/waiters.js';

const deferred = (clock: VirtualClock) => guardedPromise<string>('test', clock, 1_000, undefined, () => undefined);

describe('ApplyWaiters', () => {
  test('settles a waiter with its entry\u2019s result, or as lost when another term was applied there', async () => {
    const clock = new VirtualClock();
    const waiters = new ApplyWaiters<string>(4);
    const mine = deferred(clock);
    const replaced = deferred(clock);
    waiters.add(1, 2, mine, 0);
    waiters.add(2, 2, replaced, 0);
    waiters.applied(1, 2, { ok: true, result: 'one' });
    waiters.applied(2, 3, { ok: true, result: 'two' });
    await expect(mine.promise).resolves.toBe('one');
    await expect(replaced.promise).rejects.toBeInstanceOf(ProposalLostError);
    expect(waiters.size).toBe(0);
  });

  test('a waiter added after its entry was applied settles from the recent outcomes', async () => {
    const clock = new VirtualClock();
    const waiters = new ApplyWaiters<string>(4);
    for (let index = 1; index <= 6; index++) waiters.applied(index, 1, { ok: true, result: `r${index}` });
    const late = deferred(clock);
    waiters.add(5, 1, late, 6);
    await expect(late.promise).resolves.toBe('r5');
    const otherTerm = deferred(clock);
    waiters.add(6, 2, otherTerm, 6);
    await expect(otherTerm.promise).rejects.toThrow('replaced by one of term 1');
    const failed = deferred(clock);
    waiters.applied(7, 1, { ok: false, error: new Error('stale session') });
    waiters.add(7, 1, failed, 7);
    await expect(failed.promise).rejects.toThrow('stale session');
  });

  test('an outcome older than the last recentLimit applied entries is forgotten: the waiter is told it was lost', async () => {
    const clock = new VirtualClock();
    const waiters = new ApplyWaiters<string>(4);
    for (let index = 1; index <= 6; index++) waiters.applied(index, 1, { ok: true, result: `r${index}` });
    const tooLate = deferred(clock);
    waiters.add(2, 1, tooLate, 6);
    await expect(tooLate.promise).rejects.toThrow('replaced by one of term 0');
    const never = deferred(clock);
    waiters.add(9, 1, never, 6);
    expect(waiters.size).toBe(1);
    waiters.rejectAll(new Error('closed'));
    await expect(never.promise).rejects.toThrow('closed');
  });

  test('the recent outcomes stay the last recentLimit applied entries over many applies, also across a jump of the applied index', async () => {
    const clock = new VirtualClock();
    const waiters = new ApplyWaiters<string>(4);
    for (let index = 1; index <= 50; index++) waiters.applied(index, 1, { ok: true, result: `r${index}` });
    for (let index = 100; index <= 102; index++) waiters.applied(index, 2, { ok: true, result: `r${index}` });
    for (const [index, term, expected] of [[50, 1, 'r50'], [100, 2, 'r100'], [102, 2, 'r102']] as const) {
      const late = deferred(clock);
      waiters.add(index, term, late, 102);
      await expect(late.promise).resolves.toBe(expected);
    }
    for (const index of [49, 51, 99]) {
      const forgotten = deferred(clock);
      waiters.add(index, 1, forgotten, 102);
      await expect(forgotten.promise).rejects.toThrow('replaced by one of term 0');
    }
  });
});
