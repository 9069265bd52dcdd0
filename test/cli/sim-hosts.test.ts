/** `keel sim --hosts`, run as a user would: the built CLI in a child process. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

function keel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('keel sim --hosts', () => {
  test('a small multi-group swarm reports JSON with the summary, the groups and the multi-group coverage, and exits 0', () => {
    const result = keel('sim', '--hosts', '--seeds', '1..2', '--duration', '1', '--groups', '3', '--json');
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { runs: number; violations: number; groups: { total: number }; hostCoverage: Record<string, number> };
    expect(summary).toMatchObject({ runs: 2, violations: 0, livenessFailures: 0, groups: { total: 6, min: 3, max: 3 } });
    expect(summary.hostCoverage).toHaveProperty('heartbeatsCoalesced');
  });

  test('one seed twice gives the same trace hash', () => {
    const first = JSON.parse(keel('sim', '--hosts', '--seed', '4', '--duration', '1', '--groups', '2', '--json').stdout) as { traceHash: string };
    const again = JSON.parse(keel('sim', '--hosts', '--seed', '4', '--duration', '1', '--groups', '2', '--json').stdout) as { traceHash: string };
    expect(again.traceHash).toBe(first.traceHash);
  });

  test.each([
    [['sim', '--hosts', '--groups', '65'], '--groups'],
    [['sim', '--hosts', '--nodes', '7'], '--nodes'],
    [['sim', '--hosts', '--faults', 'churn'], 'unsupported fault kind'],
    [['sim', '--hosts', '--core'], '--core does not go with --hosts'],
    [['sim', '--groups', '3'], '--groups goes with --hosts'],
  ])('bad usage %j exits 2 and says why', (args, message) => {
    const result = keel(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
