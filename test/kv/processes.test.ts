/**
 * Real-process fault test: three `keel kv` processes on loopback, concurrent
 * HTTP clients on a few keys, and a nemesis that kill -9s and restarts nodes
 * (the leader too), pauses them with SIGSTOP/SIGCONT and cuts their links.
 * The recorded history must be linearizable, no acknowledged append may be
 * lost, and every node must converge once everything is healed.
 *
 * It runs twice: on one Raft group, and on a sharded cluster (four hosts,
 * eight shards of three replicas, `keel kv --shards`), where a fault hits
 * every shard replica of a host at once and the keys spread over shards, so
 * each key's history is checked on its own shard.
 *
 * Safety is asserted strictly; liveness only within generous bounds, so a
 * loaded machine slows the test down rather than failing it. The nemesis is
 * seeded (printed; KEEL_FAULT_SEED replays the same fault choices, though
 * real processes and timing never replay exactly).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinearizability } from '../../sim/checker/linearizability.js';
import { HistoryRecorder } from '../../sim/history.js';
import type { Invocation, PendingOperation } from '../../sim/history.js';
import { SeededRandom } from '../../src/util/random.js';
import { ProcessCluster } from '../../bench/support/process-cluster.js';

const SEED = Number(process.env['KEEL_FAULT_SEED'] ?? 20261124);
const FAULT_PHASE_MS = 20_000;
const CLIENTS = 6;
const REQUEST_TIMEOUT_MS = 3_000;
const ARGS = ['--tick-ms', '50', '--election-ticks', '10', '--request-timeout-ms', '2000'];

/** One way to run the service: its cluster, keys, and how to tell it is ready and converged. */
interface Mode {
  readonly name: string;
  readonly size: number;
  readonly shards?: number;
  readonly keys: readonly string[];
  readonly appendKeys: readonly string[];
  readonly faultPhaseMs: number;
}

const MODES: readonly Mode[] = [
  { name: 'one group', size: 3, keys: ['k0', 'k1', 'k2'], appendKeys: ['log0', 'log1'], faultPhaseMs: FAULT_PHASE_MS },
  { name: 'sharded: 4 hosts, 8 shards', size: 4, shards: 8, keys: ['k0', 'k1', 'k2', 'k3', 'k4'], appendKeys: ['log0', 'log1', 'log2'], faultPhaseMs: 15_000 },
];

let cluster: ProcessCluster;

describe.each(MODES)('$name', (mode) => {
let KEYS: readonly string[] = mode.keys;
let APPEND_KEYS: readonly string[] = mode.appendKeys;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ size: mode.size, args: ARGS, ...(mode.shards === undefined ? {} : { shards: mode.shards }) });
  await waitFor('a leader', 90_000, () => ready(mode));
}, 120_000);

afterAll(async () => {
  // When start() itself failed there is nothing to stop; its error already failed beforeAll.
  if ((cluster as ProcessCluster | undefined) === undefined) return;
  const codes = await cluster.stop();
  const report = await cluster.exitReport();
  await cluster.remove();
  // Graceful shutdown: every node stopped by SIGTERM exits 0, and no node ended without being killed.
  expect(codes.filter((code) => code !== null && code !== 0), report).toEqual([]);
  expect(cluster.unexpectedExits(), report).toEqual([]);
});

describe(`real processes under kill -9, SIGSTOP and link cuts (seed ${SEED})`, () => {
  it('stays linearizable, loses no acknowledged write, and converges after healing', async () => {
    const recorder = new HistoryRecorder();
    const acked = new Map<string, Set<string>>(APPEND_KEYS.map((key) => [key, new Set()]));
    const unknown = new Set<string>();
    const faults: string[] = [];
    const random = new SeededRandom(SEED);
    let running = true;

    const client = async (name: string, clientRandom: SeededRandom): Promise<void> => {
      for (let seq = 0; running; seq++) {
        const node = cluster.nodes[clientRandom.nextInt(cluster.nodes.length)]!;
        const token = `${name}.${seq}`;
        const roll = clientRandom.nextInt(10);
        if (roll < 3) {
          await append(recorder, node.url, name, APPEND_KEYS[clientRandom.nextInt(APPEND_KEYS.length)]!, token, acked, unknown);
          continue;
        }
        const key = KEYS[clientRandom.nextInt(KEYS.length)]!;
        const invocation: Invocation = roll < 6
          ? { kind: 'get', key }
          : roll < 8
            ? { kind: 'put', key, value: token }
            : { kind: 'cas', key, expect: clientRandom.nextInt(2) === 0 ? null : `${name}.${Math.max(0, seq - 1)}`, value: token };
        await perform(recorder, node.url, name, invocation);
      }
    };

    const nemesis = async (): Promise<void> => {
      const started = performance.now();
      while (performance.now() - started < mode.faultPhaseMs) {
        const leader = mode.shards === undefined ? await leaderOf(cluster.nodes.map((node) => node.url)) : null;
        // The leader half of the time, so that failover is exercised.
        const target = leader !== null && random.nextInt(2) === 0 ? leader : cluster.nodes[random.nextInt(cluster.nodes.length)]!.id;
        const kind = ['kill', 'pause', 'isolate'][random.nextInt(3)]!;
        faults.push(`${kind} ${target}${target === leader ? ' (leader)' : ''}`);
        if (kind === 'kill') await cluster.kill(target);
        else if (kind === 'pause') cluster.pause(target);
        else cluster.isolate(target);
        await sleep(800 + random.nextInt(1500));
        cluster.healAll();
        await sleep(500 + random.nextInt(1000));
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, i) => client(`c${i}`, new SeededRandom(SEED * 31 + i)));
    await nemesis();
    running = false;
    await Promise.all(clients);
    cluster.healAll();

    // Liveness, with generous bounds: a leader, then every node answers the same values.
    const urls = cluster.nodes.map((node) => node.url);
    await waitFor('a leader after healing', 60_000, () => ready(mode));
    const finals = new Map<string, string | null>();
    await waitFor('every node to agree on every key', 60_000, async () => {
      for (const key of [...KEYS, ...APPEND_KEYS]) {
        const values = await Promise.all(urls.map((url) => readKey(url, key)));
        if (values.some((value) => value === undefined) || new Set(values).size !== 1) return false;
        finals.set(key, values[0]!);
      }
      return true;
    });

    const history = recorder.history();
    const outcomes = { ok: 0, unknown: 0, fail: 0 };
    for (const operation of history) outcomes[operation.outcome]++;
    console.log(`seed ${SEED}: ${history.length} operations ${JSON.stringify(outcomes)}; faults: ${faults.join(', ')}`);
    expect(outcomes.ok).toBeGreaterThan(20);
    expect(faults.some((fault) => fault.startsWith('kill'))).toBe(true);

    // Safety 1: linearizable.
    const verdict = checkLinearizability(history, { timeoutMs: 60_000 });
    if (verdict.ok === false) console.log(verdict.explanation);
    expect(verdict.ok, `seed ${SEED}`).toBe(true);

    // Safety 2: every acknowledged append is in the final value exactly once; unknown ones at most once.
    for (const key of APPEND_KEYS) {
      const tokens = (finals.get(key) ?? '').split('|').filter((token) => token.length > 0);
      const counts = new Map<string, number>();
      for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
      for (const token of acked.get(key)!) expect(counts.get(token), `acknowledged append ${token} on ${key} (seed ${SEED})`).toBe(1);
      for (const [token, count] of counts) {
        expect(count, `token ${token} applied ${count} times (seed ${SEED})`).toBe(1);
        expect(acked.get(key)!.has(token) || unknown.has(token), `append ${token} appeared without being sent (seed ${SEED})`).toBe(true);
      }
    }

    // Convergence: every replica (of every shard) reports the same applied index once idle.
    await waitFor('every node to apply the same index', 60_000, () => converged(mode));
  }, 300_000);
});
});

/** A leader in the group, or in every shard. */
async function ready(mode: Mode): Promise<boolean> {
  const urls = cluster.nodes.map((node) => node.url);
  if (mode.shards === undefined) return (await leaderOf(urls)) !== null;
  const led = new Set<string>();
  for (const shards of await Promise.all(urls.map(shardStates))) {
    for (const shard of shards ?? []) if (shard.local?.role === 'leader') led.add(shard.id);
  }
  return led.size === mode.shards;
}

/** Every replica of the group, or of each shard, applied the same index, all of it committed. */
async function converged(mode: Mode): Promise<boolean> {
  const urls = cluster.nodes.map((node) => node.url);
  if (mode.shards === undefined) {
    const statuses = await Promise.all(urls.map(status));
    return statuses.every((s) => s !== null && s.appliedIndex === statuses[0]!.appliedIndex && s.commitIndex === s.appliedIndex);
  }
  const applied = new Map<string, Set<number>>();
  for (const shards of await Promise.all(urls.map(shardStates))) {
    if (shards === null) return false;
    for (const shard of shards) {
      if (shard.local === null) continue;
      if (shard.local.commitIndex !== shard.local.appliedIndex) return false;
      if (!applied.has(shard.id)) applied.set(shard.id, new Set());
      applied.get(shard.id)!.add(shard.local.appliedIndex);
    }
  }
  return applied.size === mode.shards && [...applied.values()].every((indexes) => indexes.size === 1);
}

interface ShardState {
  readonly id: string;
  readonly local: { readonly role: string; readonly commitIndex: number; readonly appliedIndex: number } | null;
}

async function shardStates(url: string): Promise<ShardState[] | null> {
  try {
    return ((await (await fetch(`${url}/shards`, { signal: AbortSignal.timeout(2000) })).json()) as { shards: ShardState[] }).shards;
  } catch {
    return null;
  }
}

/** Performs one key-value operation over HTTP and records it; a timeout, 503 or network error is an unknown outcome. */
async function perform(recorder: HistoryRecorder, url: string, client: string, invocation: Invocation): Promise<'ok' | 'unknown'> {
  const pending = recorder.invoke(client, invocation, performance.now());
  const request = requestFor(invocation);
  let response: Response;
  try {
    response = await fetch(`${url}${request.path}`, {
      method: request.method,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    recorder.unknown(pending, performance.now());
    return 'unknown';
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const now = performance.now();
  if (invocation.kind === 'get' && (response.status === 200 || response.status === 404)) {
    recorder.ok(pending as PendingOperation<'get'>, now, response.status === 200 ? (body['value'] as string) : null);
  } else if (invocation.kind === 'cas' && (response.status === 200 || response.status === 409)) {
    recorder.ok(pending as PendingOperation<'cas'>, now,
      response.status === 200 ? { status: 'swapped' } : { status: 'mismatch', actual: body['actual'] as string | null });
  } else if (response.status === 200 && invocation.kind !== 'get' && invocation.kind !== 'cas') {
    recorder.ok(pending as PendingOperation<'put'>, now);
  } else if (response.status === 503) {
    recorder.unknown(pending, now);
    return 'unknown';
  } else {
    throw new Error(`${request.method} ${request.path} answered ${response.status} ${JSON.stringify(body)}`);
  }
  return 'ok';
}

/** An append of a unique token (separated by '|'), recorded, and tracked for the lost-write check. */
async function append(recorder: HistoryRecorder, url: string, client: string, key: string, token: string,
  acked: Map<string, Set<string>>, unknown: Set<string>): Promise<void> {
  const outcome = await perform(recorder, url, client, { kind: 'append', key, value: `${token}|` });
  if (outcome === 'ok') acked.get(key)!.add(token);
  else unknown.add(token);
}

function requestFor(invocation: Invocation): { method: string; path: string; body?: string } {
  const path = `/kv/${encodeURIComponent(invocation.key)}`;
  switch (invocation.kind) {
    case 'get':
      return { method: 'GET', path };
    case 'put':
      return { method: 'PUT', path, body: JSON.stringify({ value: invocation.value }) };
    case 'delete':
      return { method: 'DELETE', path };
    case 'append':
      return { method: 'POST', path: `${path}/append`, body: JSON.stringify({ value: invocation.value }) };
    case 'cas':
      return { method: 'POST', path: `${path}/cas`, body: JSON.stringify({ expect: invocation.expect, value: invocation.value }) };
  }
}

async function status(url: string): Promise<{ leader: string | null; appliedIndex: number; commitIndex: number } | null> {
  try {
    return (await (await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) })).json()) as { leader: string | null; appliedIndex: number; commitIndex: number };
  } catch {
    return null;
  }
}

/** The leader every reachable node names, or null while they disagree or none is known. */
async function leaderOf(urls: readonly string[]): Promise<string | null> {
  const leaders = (await Promise.all(urls.map(status))).map((s) => s?.leader ?? null);
  return leaders[0] !== null && leaders.every((leader) => leader === leaders[0]) ? leaders[0]! : null;
}

/** A linearizable read on one node: the value, null when absent, undefined when it did not answer. */
async function readKey(url: string, key: string): Promise<string | null | undefined> {
  try {
    const response = await fetch(`${url}/kv/${key}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (response.status === 404) return null;
    if (response.status !== 200) return undefined;
    return ((await response.json()) as { value: string }).value;
  } catch {
    return undefined;
  }
}

/** Polls `condition`; fails after `timeoutMs`, or at once (with its log) when a node exited without being killed. */
async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (cluster.unexpectedExits().length > 0) throw new Error(`a node exited while waiting for ${what} (seed ${SEED}):\n${await cluster.exitReport()}`);
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (seed ${SEED})`);
    await sleep(200);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
