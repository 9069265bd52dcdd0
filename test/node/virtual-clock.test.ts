/**
 * VirtualClock keeps its timers in a heap with lazily dropped cancellations;
 * these properties compare it with the obvious model: run every timer due by
 * the target time in (time, scheduling order), skip the cleared ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/util/clock.js';
import type { TimerHandle } from '../../src/util/clock.js';

type Operation = { readonly kind: 'set'; readonly delayMs: number } | { readonly kind: 'clear'; readonly which: number } | { readonly kind: 'advance'; readonly ms: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), delayMs: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: -1, max: 20, noNaN: true })) }),
  fc.record({ kind: fc.constant('clear' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 10 }) }),
);

describe('VirtualClock', () => {
  it('runs timers in (due time, scheduling order), never a cleared one, like a sorted-list model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 80 }), async (operations) => {
        const clock = new VirtualClock();
        const ran: number[] = [];
        const handles: TimerHandle[] = [];
        const model: { label: number; at: number; cleared: boolean; ran: boolean }[] = [];
        const modelRan: number[] = [];
        let now = 0;
        for (const op of operations) {
          if (op.kind === 'set') {
            const label = handles.length;
            handles.push(clock.setTimeout(() => ran.push(label), op.delayMs));
            model.push({ label, at: now + Math.max(0, op.delayMs), cleared: false, ran: false });
          } else if (op.kind === 'clear') {
            if (handles.length === 0) continue;
            const which = op.which % handles.length;
            clock.clearTimeout(handles[which]!);
            model[which]!.cleared = true;
          } else {
            await clock.advance(op.ms, () => Promise.resolve());
            now += op.ms;
            const due = model.filter((timer) => !timer.cleared && !timer.ran && timer.at <= now).sort((a, b) => a.at - b.at || a.label - b.label);
            for (const timer of due) {
              timer.ran = true;
              modelRan.push(timer.label);
            }
          }
          const waiting = model.filter((timer) => !timer.cleared && !timer.ran);
          expect(clock.pending()).toBe(waiting.length);
          expect(clock.nextDueAt()).toBe(waiting.length === 0 ? null : Math.min(...waiting.map((timer) => timer.at)));
        }
        expect(ran).toEqual(modelRan);
        expect(clock.now()).toBe(now);
      }),
    );
  });

  it('ignores clearing a timer that already ran, twice, or that belongs to another clock', async () => {
    const clock = new VirtualClock();
    const other = new VirtualClock();
    const ran: string[] = [];
    const first = clock.setTimeout(() => ran.push('first'), 1);
    const second = clock.setTimeout(() => ran.push('second'), 2);
    await clock.advance(1, () => Promise.resolve());
    clock.clearTimeout(first);
    other.clearTimeout(second);
    expect(clock.pending()).toBe(1);
    clock.clearTimeout(second);
    clock.clearTimeout(second);
    expect(clock.pending()).toBe(0);
    await clock.advance(5, () => Promise.resolve());
    expect(ran).toEqual(['first']);
  });

  it('runs a timer scheduled by a callback for the same instant within the same advance', async () => {
    const clock = new VirtualClock();
    const ran: string[] = [];
    clock.setTimeout(() => {
      ran.push('outer');
      clock.setTimeout(() => ran.push('inner'), 0);
    }, 3);
    clock.setTimeout(() => ran.push('later'), 3);
    await clock.advance(3, () => Promise.resolve());
    expect(ran).toEqual(['outer', 'later', 'inner']);
  });
});
