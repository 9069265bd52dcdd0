/**
 * Shrinking failing runs: scenarios replay exactly, fast-check arbitraries
 * draw valid scenarios, and a planted bug's failure shrinks to a smaller
 * scenario that still fails the same way and replays from its command.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { drawSeed, formatRunReport, runSeed } from '../../../sim/runtime/run.js';
import { boundsOf, scenarioRunArbitrary } from '../../../sim/runtime/scenario-arbitrary.js';
import { decodeScenario, encodeScenario } from '../../../sim/runtime/scenario-codec.js';
import { failureOf, shrinkSeed } from '../../../sim/runtime/shrink.js';
import { checkScenario } from '../../../sim/world/scenario.js';
import type { Scenario } from '../../../sim/world/scenario.js';

const FC_SEED = 424242;

describe('scenarios', () => {
  test("a seed's own drawn scenario replays to exactly the run of the seed", async () => {
    const options = { durationMs: 2000 };
    const seed = [1, 2, 3, 4, 5, 6, 7, 8].find((candidate) => drawSeed(candidate, options).scenario.faults.length >= 3)!;
    const plain = await runSeed(seed, options);
    const drawn = drawSeed(seed, options);
    const replayed = await runSeed(seed, { ...options, scenario: drawn.scenario });
    expect(plain.coverage.crash + plain.coverage.partition + plain.coverage.pause + plain.coverage.clog + plain.coverage.transferStarted).toBeGreaterThan(0);
    expect(replayed.traceHash, `seed ${seed}`).toBe(plain.traceHash);
    expect(replayed.events).toBe(plain.events);
  });

  test('an empty scenario runs the same world without a single scheduled fault', async () => {
    const drawn = drawSeed(4, { durationMs: 1500 });
    const report = await runSeed(4, { durationMs: 1500, scenario: { ...drawn.scenario, faults: [] } });
    expect(report.ok).toBe(true);
    expect(report.coverage.crash + report.coverage.partition + report.coverage.pause + report.coverage.clog).toBe(0);
  });

  test(`the one-line encoding round-trips every scenario the arbitraries draw (fast-check seed ${FC_SEED})`, () => {
    const drawn = drawSeed(5, { durationMs: 5000 });
    for (const whole of [true, false]) {
      const arbitrary = scenarioRunArbitrary(boundsOf(drawn.drawnParams, 5000, undefined, whole));
      fc.assert(
        fc.property(arbitrary, ({ scenario }) => {
          expect(decodeScenario(encodeScenario(scenario))).toEqual(normalised(scenario));
        }),
        { seed: FC_SEED, numRuns: 200 },
      );
    }
  });

  test(`every scenario the arbitraries draw fits the seed's world (fast-check seed ${FC_SEED})`, () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const drawn = drawSeed(seed, { durationMs: 5000 });
      const arbitrary = scenarioRunArbitrary(boundsOf(drawn.drawnParams, 5000, drawn.scenario, true));
      fc.assert(
        fc.property(arbitrary, ({ scenario }) => {
          expect(() => checkScenario(scenario, drawn.drawnParams)).not.toThrow();
        }),
        { seed: FC_SEED, numRuns: 100 },
      );
    }
  });

  test(`random scenarios drawn by the arbitraries break no safety invariant (fast-check seed ${FC_SEED})`, async () => {
    const seed = 21;
    const drawn = drawSeed(seed, { durationMs: 1500 });
    const arbitrary = scenarioRunArbitrary(boundsOf(drawn.drawnParams, 1500, undefined, true));
    let struck = 0;
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ durationMs, scenario }) => {
        const report = await runSeed(seed, { durationMs, scenario });
        struck += report.coverage.crash + report.coverage.partition + report.coverage.pause + report.coverage.clog + report.coverage.transferStarted;
        expect(report.violation, `${formatRunReport(report)}\nscenario: ${encodeScenario(scenario)}`).toBeNull();
      }),
      { seed: FC_SEED, numRuns: 25 },
    );
    expect(struck).toBeGreaterThan(0);
  });

  test('scenarios that leave the world the seed drew are bad input', async () => {
    const drawn = drawSeed(13, { durationMs: 3000, faults: ['crash'] });
    const bad: Scenario[] = [
      { nodes: 0, clients: 1, faults: [] },
      { nodes: drawn.drawnParams.ids.length + 1, clients: 1, faults: [] },
      { nodes: 3, clients: 1, faults: [{ atMs: 10, action: { kind: 'pause', node: 'n1', durationMs: 5 } }] },
      { nodes: 3, clients: 1, faults: [{ atMs: 10, action: { kind: 'crash', node: 'n9', downMs: 5, duringWrite: false } }] },
      { nodes: 3, clients: 1, faults: [{ atMs: -1, action: { kind: 'crash', node: 'n1', downMs: 5, duringWrite: false } }] },
    ];
    for (const scenario of bad) {
      await expect(runSeed(13, { durationMs: 3000, faults: ['crash'], scenario })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  test.each([
    ['no header', 'at 10 crash n1 down 5'],
    ['an unknown fault', 'nodes 3 clients 1; at 10 meteor n1'],
    ['a number that is not one', 'nodes 3 clients 1; at ten crash n1 down 5'],
    ['a missing field', 'nodes 3 clients 1; at 10 pause n1'],
    ['trailing words', 'nodes 3 clients 1; at 10 transfer n1 now'],
    ['an unknown partition shape', 'nodes 3 clients 1; at 10 partition star n1,n2 for 5'],
  ])('decoding rejects %s with InvalidArgumentError', (_what, text) => {
    expect(() => decodeScenario(text)).toThrow(InvalidArgumentError);
  });
});

describe('shrinking a planted bug', () => {
  const options = { durationMs: 3000, faults: ['crash'], plantedBug: 'lying-disk', livenessBoundMs: 5000 } as const;

  test('seed 13 with a lying disk shrinks to a smaller scenario that still breaks Leader Completeness, deterministically', async () => {
    const result = await shrinkSeed(13, options, { maxRuns: 60 });
    const { initial, minimal } = result;
    console.log(`seed 13: ${encodeScenario(initial.scenario)} (${initial.durationMs}ms)\n  shrank in ${result.runs} runs to ${encodeScenario(minimal.scenario)} (${minimal.durationMs}ms)`);

    expect(result.failure).toBe('Leader Completeness');
    expect(minimal.scenario.faults.length).toBeLessThan(initial.scenario.faults.length);
    expect(minimal.scenario.faults.length + minimal.scenario.clients + minimal.durationMs).toBeLessThan(
      initial.scenario.faults.length + initial.scenario.clients + initial.durationMs,
    );
    expect(failureOf(result.minimalReport), formatRunReport(result.minimalReport)).toBe('Leader Completeness');
    // The replay command carries everything the run needs: the seed, the options, the planted bug and the scenario.
    expect(result.minimalReport.replay).toContain(`--schedule '${encodeScenario(minimal.scenario)}'`);
    expect(result.minimalReport.replay).toContain('--plant-bug lying-disk');
    const replayed = await runSeed(13, { ...options, durationMs: minimal.durationMs, scenario: decodeScenario(encodeScenario(minimal.scenario)) });
    expect(replayed.traceHash).toBe(result.minimalReport.traceHash);

    const again = await shrinkSeed(13, options, { maxRuns: 60 });
    expect(again.minimal).toEqual(minimal);
  });

  test('a seed that does not fail has nothing to shrink', async () => {
    const result = await shrinkSeed(13, { durationMs: 1000, faults: ['crash'] }, { maxRuns: 5 });
    expect(result.failure).toBeNull();
    expect(result.runs).toBe(0);
  });
});

/** `scenario` with its keys in the order the decoder writes them. */
function normalised(scenario: Scenario): Scenario {
  return { nodes: scenario.nodes, clients: scenario.clients, faults: scenario.faults.map((fault) => ({ atMs: fault.atMs, action: fault.action })) };
}
