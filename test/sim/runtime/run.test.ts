/**
 * The entry points: option validation, the report's shape, and the swarm summary.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { resolveFaults } from '../../../sim/runtime/options.js';
import { formatRunReport, runSeed, runSwarm } from '../../../sim/runtime/run.js';
import { KvStateMachine, encodeKvCommand } from '../../../sim/world/kv-state-machine.js';

describe('runSeed options', () => {
  test.each([
    ['a negative duration', { durationMs: -1 }],
    ['zero nodes', { nodes: 0 }],
    ['a fractional cluster size', { nodes: 2.5 }],
    ['an unknown fault kind', { faults: ['meteor'] as never }],
    ['a repeated fault kind', { faults: ['crash', 'crash'] as const }],
    ['a zero liveness bound', { livenessBoundMs: 0 }],
  ])('rejects %s with InvalidArgumentError', async (_what, options) => {
    await expect(runSeed(1, options)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('rejects a seed that is not a 32-bit unsigned integer', async () => {
    await expect(runSeed(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(runSeed(2 ** 32)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('fault lists are normalised to the canonical order, so two spellings draw the same worlds', () => {
    expect(resolveFaults(['pause', 'crash'])).toEqual(['crash', 'pause']);
  });
});

describe('reports', () => {
  test('a clean run reports its world, coverage, operations and a replay command, and survives JSON', async () => {
    const report = await runSeed(9, { durationMs: 1000, nodes: 3, faults: ['crash', 'partition'] });
    expect(report.ok).toBe(true);
    expect(report.world.nodes).toBe(3);
    expect(report.operations.total).toBeGreaterThan(0);
    expect(report.replay).toBe('npx keel sim --seed 9 --duration 1 --nodes 3 --faults partition,crash');
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(formatRunReport(report)).toMatch(/^seed 9: ok/);
  });

  test('a swarm sums its runs', async () => {
    const swarm = await runSwarm([1, 2], { durationMs: 500 });
    expect(swarm.runs).toBe(2);
    expect(swarm.simulatedSeconds).toBeCloseTo(swarm.reports.reduce((sum, report) => sum + report.simulatedSeconds, 0), 2);
    expect(swarm.coverage.clientOk).toBe(swarm.reports.reduce((sum, report) => sum + report.coverage.clientOk, 0));
  });
});

describe('KvStateMachine', () => {
  test('applies get, put, append, cas and delete, and restores from its own snapshot', async () => {
    const machine = new KvStateMachine();
    const apply = (index: number, command: Parameters<typeof encodeKvCommand>[0]): unknown => machine.apply({ index, term: 1, command: encodeKvCommand(command) });
    expect(apply(1, { op: 'put', key: 'x', value: 'a' })).toBeNull();
    expect(apply(2, { op: 'append', key: 'x', value: 'b' })).toBeNull();
    expect(apply(3, { op: 'cas', key: 'x', expect: 'a', value: 'c' })).toEqual({ status: 'mismatch', actual: 'ab' });
    expect(apply(4, { op: 'cas', key: 'x', expect: 'ab', value: 'c' })).toEqual({ status: 'swapped' });
    expect(apply(5, { op: 'get', key: 'x' })).toBe('c');
    expect(apply(6, { op: 'delete', key: 'y' })).toBeNull();

    const copy = new KvStateMachine();
    await copy.restore(machine.capture().chunks(), { index: 6, term: 1 });
    expect(copy.get('x')).toBe('c');
    expect(copy.digest()).toBe(machine.digest());
  });
});
