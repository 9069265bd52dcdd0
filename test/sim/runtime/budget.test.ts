/**
 * Every run has an event budget and a held-items (memory) budget: a run that
 * spends either is stopped and reported as a failure of its seed, with the
 * command that replays it, so one runaway seed cannot hold up a swarm.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { defaultMaxEvents, defaultMaxHeldItems } from '../../../sim/runtime/options.js';
import { formatRunReport, formatSwarmReport, runSeed, runSwarm } from '../../../sim/runtime/run.js';
import { failureOf, shrinkSeed } from '../../../sim/runtime/shrink.js';
import { BudgetMeter, HELD_CHECK_EVERY_EVENTS } from '../../../sim/world/budget.js';

describe('run budgets', () => {
  test('a planted runaway (clients that never wait) is a memory-budget failure of its seed, with its replay command', async () => {
    // Without budgets this world never ends: operations pile up at world time 0 and the clock never moves.
    const swarm = await runSwarm([1, 2], { plantedBug: 'flooding-clients' });

    expect(swarm.budgetFailures).toBe(2);
    expect(swarm.failingSeeds).toEqual([1, 2]);
    expect(swarm.violations + swarm.livenessFailures).toBe(0);
    for (const report of swarm.reports) {
      expect(report.ok).toBe(false);
      expect(report.budgetFailure?.budget).toBe('memory');
      expect(report.budgetFailure!.reached).toBeGreaterThan(defaultMaxHeldItems(10_000));
      expect(report.simulatedSeconds).toBe(0);
      expect(report.replay).toBe(`npx keel sim --seed ${report.seed} --duration 10 --plant-bug flooding-clients`);
      const text = formatRunReport(report);
      expect(text).toContain(`seed ${report.seed}: BUDGET memory`);
      expect(text).toContain('client operations');
      expect(text).toContain(`replay: ${report.replay}`);
    }
    expect(formatSwarmReport(swarm)).toMatch(/budget failures\s+2/);
  });

  test('an event budget stops a clean run exactly when it is spent, the same way on every replay', async () => {
    const options = { durationMs: 2000, maxEvents: 5000 };

    const first = await runSeed(3, options);
    const again = await runSeed(3, options);

    expect(first.budgetFailure).toMatchObject({ budget: 'events', limit: 5000, reached: 5001 });
    expect(first.events).toBe(5001);
    expect(first.violation).toBeNull();
    expect(first.livenessFailure).toBeNull();
    expect(first.budgetFailure!.trace.at(-1)).toContain('BUDGET events');
    expect(first.replay).toBe('npx keel sim --seed 3 --duration 2 --max-events 5000');
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.budgetFailure!.atMs).toBe(first.budgetFailure!.atMs);
  });

  test('a held-items budget counts log entries, timers and messages, and client operations', async () => {
    const report = await runSeed(5, { durationMs: 4000, maxHeldItems: 300 });

    expect(report.budgetFailure?.budget).toBe('memory');
    expect(report.budgetFailure!.reached).toBeGreaterThan(300);
    expect(report.budgetFailure!.detail).toMatch(/\d+ log entries, \d+ timers and messages in flight, \d+ client operations/);
    expect(report.events % HELD_CHECK_EVERY_EVENTS).toBe(0);
    expect(report.replay).toContain('--max-held-items 300');
  });

  test('clean seeds stay well inside the default budgets, and budgets never change a run', async () => {
    const swarm = await runSwarm([1, 2, 3, 4], { durationMs: 3000 });
    const unlimited = await runSwarm([1, 2, 3, 4], { durationMs: 3000, maxEvents: 1e15, maxHeldItems: 1e15 });

    expect(swarm.budgetFailures).toBe(0);
    expect(swarm.failingSeeds).toEqual([]);
    expect(swarm.maxRunEvents).toBeLessThan(defaultMaxEvents(3000) / 10);
    expect(swarm.maxPeakHeldItems).toBeGreaterThan(0);
    expect(swarm.maxPeakHeldItems).toBeLessThan(defaultMaxHeldItems(3000) / 10);
    expect(unlimited.reports.map((report) => report.traceHash)).toEqual(swarm.reports.map((report) => report.traceHash));
  });

  test('a budget failure shrinks like any other failure: the runaway needs no fault at all', async () => {
    const result = await shrinkSeed(1, { durationMs: 2000, plantedBug: 'flooding-clients', maxHeldItems: 2000 }, { maxRuns: 40 });

    expect(result.failure).toBe('Budget (memory)');
    expect(failureOf(result.minimalReport)).toBe('Budget (memory)');
    expect(result.minimal.scenario.faults).toEqual([]);
    expect(result.minimalReport.replay).toContain('--max-held-items 2000');
  });

  test('budgets are validated at the entry point', async () => {
    await expect(runSeed(1, { maxEvents: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(runSeed(1, { maxHeldItems: 1.5 })).rejects.toThrow(InvalidArgumentError);
  });

  test('the meter stops at the first event past the budget, and keeps the peak of what was held', () => {
    const meter = new BudgetMeter({ maxEvents: 10_000, maxHeldItems: 100 });
    const held = (total: number) => ({ entries: total, timers: 0, operations: 0, total });

    expect(meter.checkEvents(10_000)).toBeNull();
    expect(meter.checkEvents(10_001)).toMatchObject({ budget: 'events', limit: 10_000, reached: 10_001 });
    expect(meter.checkHeld(held(60))).toBeNull();
    expect(meter.checkHeld(held(100))).toBeNull();
    expect(meter.checkHeld(held(101))).toMatchObject({ budget: 'memory', limit: 100, reached: 101 });
    expect(meter.checkHeld(held(7))).toBeNull();
    expect(meter.peakHeldItems).toBe(101);
    expect(() => new BudgetMeter({ maxEvents: 0, maxHeldItems: 1 })).toThrow(RangeError);
  });
});
