/**
 * One truth in Node and in the browser: the playground runs a seed (or a
 * shrunk scenario) to the same trace hash as the simulator's API, which is
 * what `keel sim` prints; a pasted `keel sim --shrink` replay command
 * reproduces its violation; bad input is refused inline, the run kept.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeScenario, runSeed } from '../../sim/index.js';
import { problemsOf, settledState, startPlayground, textOf, traceHashWhenEnded } from './support.js';
import type { Playground } from './support.js';

let playground: Playground;

beforeAll(async () => {
  playground = await startPlayground();
});

afterEach(async () => {
  await playground.closePages();
});

afterAll(async () => {
  await playground?.close();
});

/** What docs/simulator.md shows `keel sim --seed 13 … --shrink` printing. */
const SHRUNK_SCHEDULE = 'nodes 3 clients 1; at 709 crash n2 down 1039; at 833 crash n3 down 440 during-write; at 1194 crash n1 down 639 during-write';
const SHRUNK_REPLAY = `npx keel sim --seed 13 --duration 3 --faults crash --plant-bug lying-disk --schedule '${SHRUNK_SCHEDULE}'`;

describe('keel playground: the same runs as keel sim', () => {
  it.each([1, 2, 5])('seed %i plays to the trace hash keel sim prints', async (seed) => {
    const page = await playground.open(`?seed=${seed}&run=full`);
    const [inPage, inNode] = await Promise.all([traceHashWhenEnded(page), runSeed(seed)]);
    expect(inPage).toMatch(/^[0-9a-f]{16}$/);
    expect(inPage).toBe(inNode.traceHash);
    expect(await textOf(page, 'verdict')).toBe(inNode.ok ? 'ended ok: safe, live and linearizable' : expect.any(String));
    expect(await textOf(page, 'leader')).toMatch(/^n\d$/);
    expect(await textOf(page, 'command')).toBe(`npx keel sim --seed ${seed}`);
    expect(problemsOf(page)).toEqual([]);
  });

  it('a pasted shrunk scenario reproduces its violation, at the same trace hash', async () => {
    const page = await playground.open('?seed=1');
    await settledState(page);
    await page.getByTestId('scenario-input').fill(SHRUNK_REPLAY);
    await page.getByTestId('load-scenario').click();
    await page.getByTestId('to-end').click();
    const hash = await traceHashWhenEnded(page);
    const expected = await runSeed(13, { durationMs: 3000, faults: ['crash'], plantedBug: 'lying-disk', scenario: decodeScenario(SHRUNK_SCHEDULE) });
    expect(expected.violation?.invariant).toBe('Leader Completeness');
    expect(hash).toBe(expected.traceHash);
    expect(await textOf(page, 'verdict')).toBe('VIOLATION Leader Completeness');
    expect(await textOf(page, 'violation')).toContain('Leader Completeness at 1819.784 ms');
    expect(await page.getByTestId('violation').isVisible()).toBe(true);
    expect(await textOf(page, 'command')).toBe(SHRUNK_REPLAY);
    expect(problemsOf(page)).toEqual([]);
  });

  it('the same scenario linked by address plays to the same violation', async () => {
    const page = await playground.open(`?scenario=${encodeURIComponent(SHRUNK_REPLAY)}&run=full`);
    await traceHashWhenEnded(page);
    expect(await textOf(page, 'verdict')).toBe('VIOLATION Leader Completeness');
  });

  it('planting a bug from the controls: the safety checker flags the run', async () => {
    const page = await playground.open('?seed=13&duration=3&faults=crash');
    await settledState(page);
    await page.getByTestId('bug-select').selectOption('lying-disk');
    await page.getByTestId('load-seed').click();
    await page.getByTestId('to-end').click();
    const hash = await traceHashWhenEnded(page);
    const expected = await runSeed(13, { durationMs: 3000, faults: ['crash'], plantedBug: 'lying-disk' });
    expect(expected.ok).toBe(false);
    expect(hash).toBe(expected.traceHash);
    expect(await textOf(page, 'verdict')).toMatch(/^VIOLATION /);
  });

  it('refuses a malformed seed or scenario with an inline message and keeps the run it shows', async () => {
    const page = await playground.open('?seed=7');
    const before = await settledState(page);
    await page.getByTestId('seed-input').fill('12x');
    await page.getByTestId('load-seed').click();
    expect(await textOf(page, 'error')).toContain("the seed must be an integer from 0 to 2147483647, got '12x'");
    await page.getByTestId('scenario-input').fill('nodes 3 clients 1; at 50 crash n9 down 500');
    await page.getByTestId('load-scenario').click();
    expect(await textOf(page, 'error')).toContain('no node n9');
    await page.getByTestId('scenario-input').fill('nodes three');
    await page.getByTestId('load-scenario').click();
    expect(await textOf(page, 'error')).toMatch(/header/);
    expect(await textOf(page, 'command')).toBe('npx keel sim --seed 7');
    expect(await settledState(page)).toBe(before);
    expect(problemsOf(page)).toEqual([]);
  });

  it('a malformed address opens the default run and says what was wrong', async () => {
    const page = await playground.open('?seed=-4');
    expect(await textOf(page, 'error')).toContain("the address: the seed must be an integer from 0 to 2147483647, got '-4'");
    expect(await textOf(page, 'command')).toBe('npx keel sim --seed 1');
    const badAction = await playground.open('?seed=3&actions=5.explode.n1');
    expect(await textOf(badAction, 'error')).toContain("the address: action 1 ('5.explode.n1'): unknown action 'explode'");
    const badScenario = await playground.open(`?seed=3&scenario=${encodeURIComponent('nodes 3 clients 1; at 50 crash n9 down 500')}`);
    expect(await textOf(badScenario, 'error')).toContain('no node n9');
  });
});
