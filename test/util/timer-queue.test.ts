import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { VirtualClock } from '../../src/util/clock.js';
import { TimerQueue } from '../../src/util/timer-queue.js';

describe('TimerQueue: many deadlines on one timer of the clock', () => {
  test('deadlines fire in order of time, equal ones in the order they were set', async () => {
    const clock = new VirtualClock();
    const queue = new TimerQueue(clock);
    const fired: string[] = [];
    queue.setTimeout(() => fired.push('b30'), 30);
    queue.setTimeout(() => fired.push('a10'), 10);
    queue.setTimeout(() => fired.push('c30'), 30);
    queue.setTimeout(() => fired.push('d0'), 0);
    await clock.advance(29);
    expect(fired).toEqual(['d0', 'a10']);
    await clock.advance(1);
    expect(fired).toEqual(['d0', 'a10', 'b30', 'c30']);
    expect(queue.size).toBe(0);
  });

  test('a cleared deadline never fires; clearing twice or a foreign handle is harmless', async () => {
    const clock = new VirtualClock();
    const queue = new TimerQueue(clock);
    const fired: number[] = [];
    const handles = [10, 20, 30].map((ms) => queue.setTimeout(() => fired.push(ms), ms));
    queue.clearTimeout(handles[1]!);
    queue.clearTimeout(handles[1]!);
    queue.clearTimeout(clock.setTimeout(() => undefined, 5));
    await clock.advance(50);
    expect(fired).toEqual([10, 30]);
  });

  test('with every deadline cleared, the underlying timer is cleared too (nothing keeps a process alive)', () => {
    const clock = new VirtualClock();
    const queue = new TimerQueue(clock);
    const handle = queue.setTimeout(() => undefined, 10_000);
    expect(clock.pending()).toBe(1);
    queue.clearTimeout(handle);
    expect(clock.pending()).toBe(0);
  });

  test('a callback may set and clear deadlines', async () => {
    const clock = new VirtualClock();
    const queue = new TimerQueue(clock);
    const fired: string[] = [];
    let later: ReturnType<TimerQueue['setTimeout']> | null = null;
    queue.setTimeout(() => {
      fired.push('first');
      queue.setTimeout(() => fired.push('chained'), 0);
      if (later !== null) queue.clearTimeout(later);
    }, 10);
    later = queue.setTimeout(() => fired.push('cancelled by first'), 20);
    await clock.advance(30);
    expect(fired).toEqual(['first', 'chained']);
  });

  test('property: against a naive list, any mix of sets, clears and advances fires the same callbacks in the same order', async () => {
    type Op = { kind: 'set'; delay: number } | { kind: 'clear'; which: number } | { kind: 'advance'; ms: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), delay: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('clear' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops: Op[]) => {
        const clock = new VirtualClock();
        const queue = new TimerQueue(clock);
        const fired: number[] = [];
        const naive: { id: number; at: number; live: boolean }[] = [];
        const handles: ReturnType<TimerQueue['setTimeout']>[] = [];
        const expected: number[] = [];
        for (const step of ops) {
          if (step.kind === 'set') {
            const id = handles.length;
            handles.push(queue.setTimeout(() => fired.push(id), step.delay));
            naive.push({ id, at: clock.now() + step.delay, live: true });
          } else if (step.kind === 'clear' && handles.length > 0) {
            const which = step.which % handles.length;
            queue.clearTimeout(handles[which]!);
            naive[which]!.live = false;
          } else if (step.kind === 'advance') {
            const until = clock.now() + step.ms;
            const due = naive.filter((timer) => timer.live && timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id);
            for (const timer of due) {
              timer.live = false;
              expected.push(timer.id);
            }
            await clock.advance(step.ms);
          }
        }
        expect(fired).toEqual(expected);
      }),
      { seed: 20261207, numRuns: 200 },
    );
  });
});
