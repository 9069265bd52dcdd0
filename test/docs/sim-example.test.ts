/**
 * The simulator's plug-in example in docs/simulator.md is this file's
 * subject: the doc must show examples/sim-counter.ts verbatim, a correct
 * counter must run clean, and a counter with a bug must be caught.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Counter, CounterClients, simulateCounter } from '../../examples/sim-counter.js';
import { formatRunReport, plugIn, runSeed } from '../../sim/index.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('plugging a state machine into the simulator', () => {
  test('docs/simulator.md shows examples/sim-counter.ts verbatim', () => {
    const example = readFileSync(new URL('../../examples/sim-counter.ts', import.meta.url), 'utf8').trim();
    const doc = readFileSync(new URL('../../docs/simulator.md', import.meta.url), 'utf8');
    expect(doc).toContain(example);
  });

  test('the counter runs clean under every fault, its clients check their history, and the nodes converge', async () => {
    const reports = await simulateCounter([1, 2, 3, 4, 5, 6]);
    for (const report of reports) {
      expect(report.ok, formatRunReport(report)).toBe(true);
      expect(report.operations.total).toBe(0); // the key-value history is not used
    }
    expect(reports.reduce((sum, report) => sum + report.coverage.crash + report.coverage.partition, 0)).toBeGreaterThan(0);
  });

  test('a counter whose snapshots lose an add is caught', async () => {
    class ForgetfulCounter extends Counter {
      override async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
        await super.restore(chunks);
        if (this.total > 0) this.total -= 1;
      }
    }
    const caught: string[] = [];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const report = await runSeed(seed, { durationMs: 3000, faults: ['crash', 'partition'], ...plugIn(() => new ForgetfulCounter(), (context) => new CounterClients(context)) });
      if (report.violation !== null) caught.push(`seed ${seed}: ${report.violation.invariant}`);
    }
    console.log(caught.join('\n'));
    expect(caught.length).toBeGreaterThan(0);
  });

  test('a state machine without a workload that speaks to it is bad input', async () => {
    await expect(runSeed(1, { stateMachine: () => new Counter() })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('an exception thrown by a plugged-in state machine is a finding of its seed, not a crash of the simulator', async () => {
    class Exploding extends Counter {
      override apply(command: Parameters<Counter['apply']>[0]): number {
        if (command.index > 5) throw new Error('boom in apply');
        return super.apply(command);
      }
    }
    const report = await runSeed(1, { durationMs: 1500, ...plugIn(() => new Exploding(), (context) => new CounterClients(context)) });
    expect(report.ok).toBe(false);
    expect(report.violation, formatRunReport(report)).not.toBeNull();
    expect(`${report.violation?.invariant}: ${report.violation?.detail}`).toContain('boom in apply');
    expect(formatRunReport(report)).toMatch(/^seed 1: VIOLATION/);
  });

  test('an exception thrown by a plugged-in workload is a World crash finding with its seed', async () => {
    const report = await runSeed(2, {
      durationMs: 1000,
      ...plugIn(
        () => new Counter(),
        (context) => {
          const clients = new CounterClients(context);
          clients.start = () => {
            throw new Error('workload failed to start');
          };
          return clients;
        },
      ),
    });
    expect(report.seed).toBe(2);
    expect(report.violation?.invariant).toBe('World crash');
    expect(report.violation?.detail).toContain('workload failed to start');
  });
});
