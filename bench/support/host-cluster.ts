/**
 * Three host processes for the multi-group benchmark (bench/host.ts): each
 * runs bench/support/host-process.ts (compiled) with `--expose-gc`, a
 * `LevelEngine` under one temporary directory and an HMAC TcpTransport on
 * loopback. The parent only orchestrates; clients run inside the hosts.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostAnswer, HostRequest } from './host-process.js';

export const HOST_IDS = ['h1', 'h2', 'h3'] as const;

/** Status polls while waiting for leaders. */
const POLL_MS = 100;

/**
 * The compiled child script: beside this file in dist/bench/support/ (the
 * benchmarks as shipped), or under the package's dist/ when this file runs
 * from its TypeScript source (the tests, which build dist/ first).
 */
const CHILD_SCRIPT = ((): string => {
  const beside = fileURLToPath(new URL('./host-process.js', import.meta.url));
  if (existsSync(beside)) return beside;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'bench', 'support', 'host-process.js');
  }
  throw new Error('host bench: cannot find the package root');
})();

type Answer<T extends HostAnswer['type']> = Extract<HostAnswer, { type: T }>;

/** One host process: requests answered one at a time, in order. */
class HostChild {
  private readonly waiting: { type: HostAnswer['type']; resolve: (answer: HostAnswer) => void; reject: (error: Error) => void }[] = [];
  private exited = false;

  private constructor(
    readonly id: string,
    readonly child: ChildProcess,
    readonly startedAt: number,
  ) {
    child.on('message', (answer: HostAnswer) => {
      const next = this.waiting.shift();
      if (next === undefined) return;
      if (answer.type !== next.type) next.reject(new Error(`host ${id}: expected ${next.type}, got ${answer.type}`));
      else next.resolve(answer);
    });
    child.on('exit', (code) => {
      this.exited = true;
      for (const next of this.waiting.splice(0)) next.reject(new Error(`host ${id} exited with ${String(code)} while waiting for ${next.type}`));
    });
  }

  /** Starts host `id`'s process; `KEEL_BENCH_HOST_NODE_OPTIONS` adds Node options to it (e.g. `--cpu-prof --cpu-prof-dir=prof` to profile the hosts). */
  static spawn(id: string): HostChild {
    const startedAt = performance.now();
    const extra = (process.env['KEEL_BENCH_HOST_NODE_OPTIONS'] ?? '').split(' ').filter((option) => option.length > 0);
    const child = fork(CHILD_SCRIPT, [], { execArgv: ['--expose-gc', ...extra], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new HostChild(id, child, startedAt);
  }

  request<T extends HostAnswer['type']>(message: HostRequest, type: T): Promise<Answer<T>> {
    if (this.exited) return Promise.reject(new Error(`host ${this.id} has exited`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ type, resolve: resolve as (answer: HostAnswer) => void, reject });
      this.child.send(message);
    });
  }

  /** Closes the host (groups, engine, transport) and waits for the process to end. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request({ type: 'close' }, 'closed');
    await exit;
  }

  /** Ends the process at once (cleanup after a failure). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** How a host came up: its own open time, and from process start to opened. */
export interface HostOpening {
  readonly opened: Answer<'opened'>;
  /** Milliseconds from spawning the process to every group open. */
  readonly startToOpenMs: number;
  readonly startedAt: number;
}

/** The three host processes of a benchmark run. */
export class BenchHosts {
  private readonly hosts = new Map<string, HostChild>();
  private readonly ports: Record<string, number> = {};

  private constructor(
    private readonly dir: string,
    private readonly secretHex: string,
    /** Whether idle groups quiesce (`RaftHostOptions.quiescence.enabled`). */
    readonly quiescence: boolean,
  ) {}

  /** Starts three hosts with empty databases. */
  static async start(quiescence: boolean): Promise<BenchHosts> {
    const cluster = new BenchHosts(await mkdtemp(join(tmpdir(), 'keel-bench-host-')), randomBytes(32).toString('hex'), quiescence);
    try {
      for (const id of HOST_IDS) await cluster.listen(id, 0);
      await Promise.all(HOST_IDS.map((id) => cluster.open(id)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  host(id: string): HostChild {
    const host = this.hosts.get(id);
    if (host === undefined) throw new Error(`host bench: no host ${id}`);
    return host;
  }

  /** Asks every host the same thing at once. */
  all<T extends HostAnswer['type']>(message: HostRequest, type: T): Promise<Answer<T>[]> {
    return Promise.all(HOST_IDS.map((id) => this.host(id).request(message, type)));
  }

  /** Creates `groups` (members: the three hosts) on every host. */
  async createGroups(groups: readonly string[]): Promise<void> {
    await this.all({ type: 'create', groups }, 'created');
  }

  async removeGroups(groups: readonly string[]): Promise<void> {
    await this.all({ type: 'remove', groups }, 'removed');
  }

  /**
   * Waits until each of `total` groups has exactly one leader among the
   * hosts and every replica knows a leader; returns who leads what.
   */
  async waitForLeaders(total: number, maxMs: number): Promise<Map<string, string[]>> {
    const deadline = performance.now() + maxMs;
    for (;;) {
      const statuses = await this.all({ type: 'status' }, 'status');
      const leaders = statuses.reduce((sum, status) => sum + status.leading.length, 0);
      if (leaders === total && statuses.every((status) => status.groups === total && status.withLeader === total)) {
        return new Map(HOST_IDS.map((id, i) => [id, [...statuses[i]!.leading]]));
      }
      if (performance.now() > deadline) {
        const seen = statuses.map((status, i) => `${HOST_IDS[i]}: ${status.groups} groups, ${status.withLeader} know a leader, leads ${status.leading.length}`).join('; ');
        throw new Error(`host bench: ${total} groups without a leader each after ${maxMs} ms (${seen})`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /**
   * Moves leaderships so that group i (in `groups` order) is led by host
   * i mod 3, as a placement driver would spread them; returns who leads what
   * afterwards. Elections alone leave them uneven (one host often wins most).
   */
  async balanceLeaders(groups: readonly string[], leaders: Map<string, string[]>, maxMs: number): Promise<Map<string, string[]>> {
    const leaderOf = new Map<string, string>();
    for (const [id, led] of leaders) for (const group of led) leaderOf.set(group, id);
    const moves = new Map<string, { group: string; to: string }[]>(HOST_IDS.map((id) => [id, []]));
    groups.forEach((group, i) => {
      const from = leaderOf.get(group);
      const to = HOST_IDS[i % HOST_IDS.length]!;
      if (from !== undefined && from !== to) moves.get(from)!.push({ group, to });
    });
    await Promise.all(HOST_IDS.map((id) => this.host(id).request({ type: 'transfer', moves: moves.get(id)! }, 'transferred')));
    return this.waitForLeaders(groups.length, maxMs);
  }

  /** Closes host `id` and starts it again on its database (same port); resolves once its groups are open. */
  async restart(id: string): Promise<HostOpening> {
    await this.host(id).close();
    const port = this.ports[id]!;
    await this.listen(id, port);
    const opened = await this.open(id);
    const host = this.host(id);
    return { opened, startToOpenMs: performance.now() - host.startedAt, startedAt: host.startedAt };
  }

  /** Stops every host and removes the databases. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.hosts.values()].map((host) => host.close()));
    for (const host of this.hosts.values()) host.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async listen(id: string, port: number): Promise<void> {
    const host = HostChild.spawn(id);
    this.hosts.set(id, host);
    const answer = await host.request({ type: 'init', id, hosts: HOST_IDS, dir: this.dir, secretHex: this.secretHex, port, quiescence: this.quiescence }, 'listening');
    this.ports[id] = answer.port;
  }

  private open(id: string): Promise<Answer<'opened'>> {
    return this.host(id).request({ type: 'open', ports: this.ports }, 'opened');
  }
}
