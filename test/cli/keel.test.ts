/** The `keel` command, run as a user would: the built CLI in a child process. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));

function keel(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('keel CLI', () => {
  test('--help lists the commands that exist and exits 0', () => {
    const result = keel('--help');
    expect(result.status).toBe(0);
    for (const command of ['demo', 'kv', 'sim', 'bench', 'playground']) expect(result.stdout).toContain(command);
  });

  test('an unknown command exits 2 with a clear message', () => {
    const result = keel('frobnicate');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });

  test('demo --once: three kv processes elect a leader, serve writes and reads through every node, and stop cleanly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-demo-'));
    try {
      const result = keel('demo', '--once', '--dir', dir);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Leader elected: n[123]\./);
      expect(result.stdout).toContain('GET  n1/kv/greeting  ->  200 {"value":"hello, world"}');
      expect(result.stdout).toContain('->  409 {"error":"cas_mismatch","actual":"hello, world"}');
      expect(result.stdout).toContain('GET  n3/kv/greeting  ->  200 {"value":"bye"}');
      // Every request above carried the demo's admin token; one without it is refused.
      expect(result.stdout).toMatch(/GET {2}n1\/kv\/greeting \(no token\) {2}-> {2}401 \{"error":"unauthorized"/);
      expect(result.stdout).toMatch(/keel kv backup --node http:\/\/127\.0\.0\.1:\d+ --to \S+backup\.keelbackup {2}-> {2}backed up 1 keys at applied index \d+/);
      expect(result.stdout).toContain('Stopped (exit codes 0, 0, 0).');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('demo --nodes 4 --shards 16 --once: requests with the token land on different shards through every node (passed on where a node lacks the shard), and the cluster stops cleanly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-demo-shards-'));
    try {
      const result = keel('demo', '--nodes', '4', '--shards', '16', '--once', '--dir', dir);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('Every one of the 16 shards has a leader.');
      // Four nodes, three replicas a shard: each node lacks a quarter of the shards, so some of these requests were proxied, token and all.
      expect([...result.stdout.matchAll(/PUT n\d\/kv\/\w+ +-> 200 +GET n\d\/kv\/\w+ +-> 200 /g)]).toHaveLength(8);
      expect(result.stdout).toMatch(/GET {2}n1\/kv\/apple \(no token\) {2}-> {2}401 \{"error":"unauthorized"/);
      expect(result.stdout).toMatch(/GET n2\/kv\/apple +-> 200 "apple-0" +on shard-\d+/);
      const shards = new Set([...result.stdout.matchAll(/on (shard-\d+)/g)].map((match) => match[1]));
      expect(shards.size).toBeGreaterThan(3);
      expect(result.stdout).toMatch(/^ {2}shard-0 +n\d n\d n\d$/m);
      expect(result.stdout).toContain('Stopped (exit codes 0, 0, 0, 0).');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kv: bad peers, no authentication or an unusable data directory exit 2 and say why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-kv-usage-'));
    try {
      const file = join(dir, 'not-a-directory');
      writeFileSync(file, 'x');
      const base = ['kv', '--id', 'n1', '--http', '127.0.0.1:1'];
      const cases: [string[], string][] = [
        [[...base, '--peers', 'n2=127.0.0.1:7002,n3=127.0.0.1:7003', '--data', dir, '--insecure'], "no entry for this node's id 'n1'"],
        [[...base, '--peers', 'n1=127.0.0.1:7001,n1=127.0.0.1:7002', '--data', dir, '--insecure'], "names 'n1' twice"],
        [[...base, '--peers', 'n1=127.0.0.1:99999', '--data', dir, '--insecure'], 'port from 1 to 65535'],
        [[...base, '--peers', 'n1=127.0.0.1:7001', '--data', dir], 'peers must authenticate'],
        [[...base, '--peers', 'n1=127.0.0.1:7001', '--data', dir, '--secret-file', join(dir, 'missing')], 'cannot read'],
        [[...base, '--peers', 'n1=127.0.0.1:7001', '--data', file, '--insecure'], 'is not usable'],
        [[...base, '--peers', 'n1=127.0.0.1:7001', '--data', dir, '--insecure', '--shards', '2', '--http-ca', file], '--http-ca is the CA of the other nodes\' HTTPS certificates: it needs --http-tls-cert'],
        [[...base, '--peers', 'n1=127.0.0.1:7001', '--data', dir, '--insecure', '--http-ca', file], 'need --shards'],
      ];
      for (const [args, message] of cases) {
        const result = keel(...args);
        expect({ args, status: result.status }).toEqual({ args, status: 2 });
        expect(result.stderr).toContain(message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kv: a peer or HTTP address already in use exits 2 and names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-kv-in-use-'));
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
    // A port that was free a moment ago, for the address that must not be the one in use.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const free = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    try {
      const peerTaken = keel('kv', '--id', 'n1', '--peers', `n1=${taken}`, '--http', free, '--data', join(dir, 'a'), '--insecure');
      expect(peerTaken.status).toBe(2);
      expect(peerTaken.stderr).toContain(`cannot use the peer address ${taken}`);
      const httpTaken = keel('kv', '--id', 'n1', '--peers', `n1=${free}`, '--http', taken, '--data', join(dir, 'b'), '--insecure');
      expect(httpTaken.status).toBe(2);
      expect(httpTaken.stderr).toContain(`cannot use the HTTP address ${taken}`);
      expect(httpTaken.stderr).toContain('EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sim (runtime): a small swarm reports JSON with the summary fields and exits 0', () => {
    const result = keel('sim', '--seeds', '1..3', '--duration', '1', '--json');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    for (const field of ['runs', 'violations', 'livenessFailures', 'simulatedSeconds', 'wallSeconds', 'speedup', 'eventsPerSecond', 'coverage']) {
      expect(summary).toHaveProperty(field);
    }
    expect(summary['runs']).toBe(3);
    expect(summary['violations']).toBe(0);
  });

  test('sim: one seed reports its trace hash, and replaying it gives the same hash', () => {
    const first = JSON.parse(keel('sim', '--seed', '11', '--duration', '1', '--json').stdout) as { traceHash: string };
    const again = JSON.parse(keel('sim', '--seed', '11', '--duration', '1', '--json').stdout) as { traceHash: string };
    expect(first.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(again.traceHash).toBe(first.traceHash);
  });

  test('sim --shrink: a planted bug shrinks to a minimal scenario, and the printed replay command fails the same way', () => {
    const shrink = keel('sim', '--seed', '13', '--duration', '3', '--faults', 'crash', '--plant-bug', 'lying-disk', '--shrink', '--shrink-runs', '30');
    expect(shrink.status, shrink.stderr).toBe(1);
    expect(shrink.stdout).toContain('minimal scenario, fails with Leader Completeness');
    const replay = /^replay: (npx keel sim .*--schedule '.*')$/m.exec(shrink.stdout)?.[1];
    expect(replay, shrink.stdout).toBeDefined();

    const replayed = keel(...shellWords(replay!).slice(2), '--json');
    expect(replayed.status).toBe(1);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ runs: 1, violations: 1 });
    expect(replayed.stderr).toContain('VIOLATION Leader Completeness');
  });

  test('sim --schedule replays a hand-written scenario; one that does not fit the seed exits 2', () => {
    const calm = keel('sim', '--seed', '13', '--duration', '1', '--faults', 'crash', '--schedule', 'nodes 3 clients 1; at 300 crash n1 down 500', '--json');
    expect(calm.status, calm.stderr).toBe(0);
    const misfit = keel('sim', '--seed', '13', '--duration', '1', '--faults', 'crash', '--schedule', 'nodes 3 clients 1; at 300 pause n1 for 200');
    expect(misfit.status).toBe(2);
    expect(misfit.stderr).toContain('pause is not switched on');
  });

  test('sim --trace writes a self-contained HTML timeline of the run', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'keel-trace-')), 'run.html');
    const result = keel('sim', '--seed', '13', '--duration', '3', '--faults', 'crash', '--plant-bug', 'lying-disk', '--trace', path, '--json');
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ runs: 1, violations: 1, timeline: path });
    const html = readFileSync(path, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<line class="violation"');
  });

  test('sim --core runs the core schedules', () => {
    const result = keel('sim', '--core', '--seeds', '1..3', '--json');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ runs: 3, violations: 0, livenessFailures: 0 });
  });

  test.each([
    [['sim', '--faults', 'bogus'], 'unknown fault kind'],
    [['sim', '--seeds', '5..1'], 'the range is empty'],
    [['sim', '--seeds', 'x'], 'must look like A..B'],
    [['sim', '--duration', '-3'], '--duration'],
    [['sim', '--nodes', '0'], '--nodes'],
    [['demo', '--nodes', '2'], '--nodes'],
    [['sim', '--frob'], 'Unknown option'],
    [['sim', '--shrink'], '--shrink needs one --seed'],
    [['sim', '--seeds', '1..3', '--schedule', 'nodes 3 clients 1'], '--schedule replays one seed'],
    [['sim', '--seed', '1', '--schedule', 'nodes three'], 'schedule, the header'],
    [['sim', '--seed', '1', '--plant-bug', 'gremlin'], 'unknown bug to plant'],
    [['sim', '--seed', '1', '--max-events', '0'], '--max-events must be an integer'],
    [['sim', '--seed', '1', '--max-held-items', 'lots'], '--max-held-items must be an integer'],
    [['sim', '--core', '--max-events', '10'], 'not --core'],
    [['sim', '--core', '--shrink'], 'not --core'],
    [['sim', '--seed', '-1'], 'negative numbers are not valid'],
    [['sim', '--seeds', '1..2', '--trace', 'x.html'], '--trace draws one run'],
    [['sim', '--seed', '1', '--duration', '0.1', '--trace', '/nonexistent-dir/x.html'], 'cannot write'],
  ])('bad usage %j exits 2 and says why', (args, message) => {
    const result = keel(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

/** Splits a command line the way a POSIX shell would for the replay commands keel prints (words and '…' quotes). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2]!);
  return words;
}
