/**
 * Progress on long work: a status line on stderr while `keel sim` runs many
 * seeds, shrinks a failure, or `keel bench` runs; only on a terminal, never
 * with --json or when stderr is piped.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { benchLine, runBench } from '../../cli/bench.js';
import { formatDuration, progressBar, ProgressReporter, secondsLeft } from '../../cli/progress.js';
import { shrinkLine } from '../../cli/sim-shrink.js';
import { progressLine } from '../../cli/sim-runtime.js';
import { runSim } from '../../cli/sim.js';

const BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

/** A stand-in for stderr that records what was written; `isTTY` says whether it plays a terminal. */
function fakeStderr(isTTY: boolean): { isTTY: boolean; text: string; write(chunk: string): boolean } {
  return {
    isTTY,
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

/** The status lines drawn: each redraw starts with a carriage return. */
function statusLines(text: string): string[] {
  return text
    .split('\r')
    .map((part) => part.replace(/\x1b\[K/g, '').trim())
    .filter((part) => part.length > 0);
}

describe('progressLine', () => {
  test('shows the bar, runs done, failures, the pace and the time left', () => {
    const line = progressLine({ done: 25, total: 100, failing: 2, simulatedSeconds: 250, wallSeconds: 10 });
    expect(line).toBe(`[${'#'.repeat(8)}${'.'.repeat(22)}] 25/100 runs, 2 failing, 25× real time, ~30s left`);
  });

  test('a finished swarm has a full bar and nothing left', () => {
    expect(progressLine({ done: 3, total: 3, failing: 0, simulatedSeconds: 3, wallSeconds: 1 })).toMatch(/^\[#{30}\] 3\/3 runs, 0 failing, 3× real time, ~0s left$/);
  });
});

describe('the shared pieces', () => {
  test('bars, time left and durations', () => {
    expect(progressBar(1, 4, 8)).toBe('[##......]');
    expect(progressBar(9, 4, 8)).toBe('[########]');
    expect(progressBar(0, 0, 4)).toBe('[....]');
    expect(secondsLeft(10, 0, 5)).toBe(0);
    expect(secondsLeft(10, 2, 5)).toBe(15);
    expect(formatDuration(0.2)).toBe('1s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });

  test('shrink and bench lines say how far the work is and what is running', () => {
    const smallest = { durationMs: 1200, scenario: { nodes: 3, clients: 1, faults: [] } };
    expect(shrinkLine({ seed: 13, runs: 30, maxRuns: 300, stillFailing: 4, smallest, elapsedSeconds: 6 })).toBe(
      `shrinking seed 13: [##${'.'.repeat(18)}] 30/300 runs, 4 still failing; smallest failing: 0 faults, 3 nodes, 1 clients, 1.2s of faults; 6s elapsed, at most ~54s left`,
    );
    expect(shrinkLine({ seed: 13, runs: 0, maxRuns: 300, stillFailing: 0, smallest: null, elapsedSeconds: 0 })).toContain('no smaller failure yet');
    expect(benchLine({ done: 2, total: 4, name: 'tcp', benchSeconds: 5, elapsedSeconds: 25 })).toBe(
      `[${'#'.repeat(10)}${'.'.repeat(10)}] 2/4 benchmarks done, running tcp (5s); 25s elapsed, ~15s left`,
    );
    expect(benchLine({ done: 0, total: 7, name: 'core', benchSeconds: 1, elapsedSeconds: 1 })).not.toContain('left');
  });
});

describe('ProgressReporter', () => {
  test('on a terminal: a line redrawn in place, output above it, a newline at the end', () => {
    const stderr = fakeStderr(true);
    const stdout = fakeStderr(false);
    const progress = ProgressReporter.open({ json: false, stream: stderr });

    progress.update('1/2');
    progress.above(stdout, 'figure\n');
    progress.update('2/2');
    progress.finish();

    expect(stderr.text).toBe('\r1/2\x1b[K\r\x1b[K\r1/2\x1b[K\r2/2\x1b[K\n');
    expect(stdout.text).toBe('figure\n');
  });

  test('off a terminal, or with --json: nothing at all, and output passes through', () => {
    for (const [isTTY, json] of [[false, false], [true, true]] as const) {
      const stderr = fakeStderr(isTTY);
      const stdout = fakeStderr(false);
      const progress = ProgressReporter.open({ json, stream: stderr });

      progress.update('1/2');
      progress.above(stdout, 'figure\n');
      progress.finish();

      expect(progress.enabled).toBe(false);
      expect(stderr.text).toBe('');
      expect(stdout.text).toBe('figure\n');
    }
  });
});

describe('keel sim and keel bench on a terminal', () => {
  let stdout = '';
  beforeEach(() => {
    stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test('a swarm draws runs done out of the total, failures and time left', async () => {
    const stderr = fakeStderr(true);

    const code = await runSim(['--seeds', '1..3', '--duration', '0.5'], stderr);

    expect(code).toBe(0);
    const lines = statusLines(stderr.text);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[#{10}\.{20}\] 1\/3 runs, 0 failing, \d+× real time, ~\d+s left$/);
    expect(lines[2]).toMatch(/^\[#{30}\] 3\/3 runs, 0 failing, \d+× real time, ~0s left$/);
    expect(stderr.text.endsWith('\n')).toBe(true);
    expect(stdout).toContain('runs                         3');
  });

  test('with --json, nothing but the JSON, even on a terminal', async () => {
    const stderr = fakeStderr(true);

    const code = await runSim(['--seeds', '1..2', '--duration', '0.5', '--json'], stderr);

    expect(code).toBe(0);
    expect(stderr.text).toBe('');
    expect(JSON.parse(stdout).runs).toBe(2);
  });

  test('--core draws its own swarm line', async () => {
    const stderr = fakeStderr(true);

    expect(await runSim(['--core', '--seeds', '1..2', '--steps', '50'], stderr)).toBe(0);

    expect(statusLines(stderr.text).at(-1)).toMatch(/^\[#{30}\] 2\/2 runs, 0 failing, [\d.]+ runs\/s, ~0s left$/);
  });

  test('--shrink draws candidate runs out of its budget and the smallest failure so far', async () => {
    const stderr = fakeStderr(true);

    const code = await runSim(['--seed', '1', '--duration', '2', '--plant-bug', 'flooding-clients', '--max-held-items', '2000', '--shrink', '--shrink-runs', '10'], stderr);

    expect(code).toBe(1);
    const lines = statusLines(stderr.text);
    expect(lines[0]).toBe('shrinking seed 1: running the seed');
    expect(lines[1]).toMatch(/^shrinking seed 1: \[#{2}\.{18}\] 1\/10 runs, 1 still failing; smallest failing: \d+ faults/);
    expect(lines.at(-1)).toMatch(/ \d+\/10 runs, \d+ still failing; smallest failing: \d+ faults, \d+ nodes/);
    expect(stdout).toContain('minimal scenario, fails with Budget (memory)');
  });

  test('keel bench draws benchmarks done, the one running and the time spent, with the figures above it', async () => {
    const stderr = fakeStderr(true);

    expect(await runBench(['--quick', '--only', 'core'], stderr)).toBe(0);

    expect(statusLines(stderr.text)[0]).toMatch(/^\[\.{20}\] 0\/1 benchmarks done, running core \(\d+s\); \d+s elapsed$/);
    expect(stderr.text.endsWith('\n')).toBe(true);
    expect(stdout).toContain('== core ==');
  });
});

describe('keel sim and keel bench with stderr piped (the built CLI in a child process)', () => {
  function keel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  test('a clean swarm, a shrink and a benchmark print nothing on stderr', () => {
    const swarm = keel('sim', '--seeds', '1..3', '--duration', '0.5');
    const shrink = keel('sim', '--seed', '1', '--duration', '2', '--plant-bug', 'flooding-clients', '--max-held-items', '2000', '--shrink', '--shrink-runs', '5');
    const bench = keel('bench', '--quick', '--only', 'core');

    expect(swarm.status, swarm.stderr).toBe(0);
    expect(swarm.stderr).toBe('');
    expect(shrink.status, shrink.stderr).toBe(1);
    expect(shrink.stderr).toBe('');
    expect(shrink.stdout).toContain('minimal scenario, fails with Budget (memory)');
    expect(bench.status, bench.stderr).toBe(0);
    expect(bench.stderr).toBe('');
    expect(bench.stdout).toContain('== core ==');
  });

  test('a failing seed is printed on stderr at once, with its replay command, and nothing else', () => {
    const result = keel('sim', '--seeds', '1..2', '--duration', '2', '--plant-bug', 'flooding-clients', '--max-held-items', '2000');

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('seed 1: BUDGET memory');
    expect(result.stderr).toContain('replay: npx keel sim --seed 2 --duration 2 --plant-bug flooding-clients --max-held-items 2000');
    expect(result.stderr).not.toContain('\r');
    expect(result.stdout).toMatch(/budget failures\s+2/);
  });
});
