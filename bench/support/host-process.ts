/**
 * One host of the multi-group benchmark (bench/host.ts), run as a child
 * process: a `LevelEngine` in a directory the parent chose, an
 * HMAC-authenticated `TcpTransport` on loopback and a `RaftHost` whose groups
 * have a trivial state machine, with quiescence on or off as the parent
 * says. The parent drives it over the IPC channel:
 * it creates and removes groups, asks who leads what, measures the host's CPU
 * over an idle window and its memory after a full GC (the child runs with
 * `--expose-gc`), and runs closed-loop clients on the groups this host leads.
 * Every request gets exactly one answer, in order.
 */
import { join } from 'node:path';
import { RaftHost } from '../../src/host/raft-host.js';
import type { SnapshotSource, StateMachine } from '../../src/node/state-machine.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { TcpTransport } from '../../src/transport/tcp.js';

/** What the parent sends. */
export type HostRequest =
  | { readonly type: 'init'; readonly id: string; readonly hosts: readonly string[]; readonly dir: string; readonly secretHex: string; readonly port: number; readonly quiescence: boolean }
  | { readonly type: 'open'; readonly ports: Readonly<Record<string, number>> }
  | { readonly type: 'create'; readonly groups: readonly string[] }
  | { readonly type: 'remove'; readonly groups: readonly string[] }
  | { readonly type: 'status' }
  | { readonly type: 'idle'; readonly windowMs: number }
  | { readonly type: 'memory' }
  | { readonly type: 'load'; readonly groups: readonly string[]; readonly clients: number; readonly durationMs: number }
  /** Hands the leadership of each listed group this host leads to the named host. */
  | { readonly type: 'transfer'; readonly moves: readonly { readonly group: string; readonly to: string }[] }
  | { readonly type: 'close' };

/** Memory of the process after a full garbage collection, in bytes. */
export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** What a host answers. */
export type HostAnswer =
  | { readonly type: 'listening'; readonly port: number }
  /** `openMs`: from before the engine opens to every group found in it running. `before`: memory before the engine opened. */
  | { readonly type: 'opened'; readonly openMs: number; readonly groups: number; readonly failedGroups: number; readonly before: MemorySample }
  | { readonly type: 'created'; readonly ms: number }
  | { readonly type: 'removed' }
  /** `withLeader`: groups whose replica here knows a leader; `leading`: the groups it leads. */
  | { readonly type: 'status'; readonly groups: number; readonly withLeader: number; readonly leading: readonly string[] }
  /** `quiesced`: this host's replicas quiesced at the end of the window; `wakes`, `livenessWakes`, `wakesBy` (by cause): during it. */
  | {
      readonly type: 'idle';
      readonly cpuMs: number;
      readonly wallMs: number;
      readonly ticks: number;
      readonly batchesSent: number;
      readonly itemsSent: number;
      readonly rounds: number;
      readonly syncedBatches: number;
      readonly quiesced: number;
      readonly wakes: number;
      readonly livenessWakes: number;
      readonly wakesBy: Readonly<Record<string, number>>;
    }
  | { readonly type: 'memory'; readonly sample: MemorySample }
  /** `turns`: group turns the host loop ran; `itemsSent`: group messages sent to peer hosts; both during the run. */
  | { readonly type: 'load'; readonly ops: number; readonly seconds: number; readonly cpuMs: number; readonly writes: number; readonly syncedBatches: number; readonly turns: number; readonly itemsSent: number }
  /** `failed`: transfers that did not complete (the group keeps a leader either way). */
  | { readonly type: 'transferred'; readonly failed: number }
  | { readonly type: 'closed' };

const COMMAND = new Uint8Array(64).fill(42);
/** Group creations in flight at once: LevelDB merges their registry writes into fewer synced batches. */
const CREATE_CONCURRENCY = 64;

/** Counts what it applied; its snapshot is that count. */
class CountingMachine implements StateMachine<number> {
  private applied = 0;

  apply(): number {
    return ++this.applied;
  }

  capture(): SnapshotSource {
    const applied = this.applied;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode(String(applied));
      },
    };
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let text = '';
    for await (const chunk of chunks) text += new TextDecoder().decode(chunk);
    this.applied = Number(text);
  }
}

let config: Extract<HostRequest, { type: 'init' }> | null = null;
let transport: TcpTransport | null = null;
let engine: LevelEngine | null = null;
let host: RaftHost<number> | null = null;

function started(): { host: RaftHost<number>; engine: LevelEngine; transport: TcpTransport } {
  if (host === null || engine === null || transport === null) throw new Error('host process: not open');
  return { host, engine, transport };
}

function sampleMemory(): MemorySample {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('host process: run with --expose-gc');
  // Twice: the first pass runs finalizers that free what the second collects.
  collect();
  collect();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external };
}

async function handle(request: HostRequest): Promise<HostAnswer> {
  switch (request.type) {
    case 'init': {
      config = request;
      const peers = Object.fromEntries(request.hosts.filter((id) => id !== request.id).map((id) => [id, { host: '127.0.0.1', port: 0 }]));
      transport = new TcpTransport({ clusterId: 'bench-host', nodeId: request.id, listen: { host: '127.0.0.1', port: request.port }, peers, secret: Buffer.from(request.secretHex, 'hex') });
      return { type: 'listening', port: (await transport.listen()).port };
    }
    case 'open':
      return open(request.ports);
    case 'create':
      return create(request.groups);
    case 'remove': {
      for (const group of request.groups) await started().host.removeGroup(group);
      return { type: 'removed' };
    }
    case 'status':
      return status();
    case 'idle':
      return measureIdle(request.windowMs);
    case 'memory':
      return { type: 'memory', sample: sampleMemory() };
    case 'load':
      return load(request.groups, request.clients, request.durationMs);
    case 'transfer':
      return transfer(request.moves);
    case 'close': {
      await host?.close();
      await engine?.close();
      return { type: 'closed' };
    }
  }
}

async function open(ports: Readonly<Record<string, number>>): Promise<HostAnswer> {
  if (config === null || transport === null) throw new Error('host process: open before init');
  for (const [id, port] of Object.entries(ports)) if (id !== config.id) transport.setPeerAddress(id, { host: '127.0.0.1', port });
  const before = sampleMemory();
  const begin = performance.now();
  engine = await LevelEngine.open({ location: join(config.dir, config.id), hostId: config.id, clusterId: 'bench-host' });
  host = await RaftHost.open<number>({
    hostId: config.id,
    peers: config.hosts.filter((id) => id !== config!.id),
    transport,
    logs: engine,
    groupDefaults: { snapshotting: { entries: 100_000 } },
    quiescence: { enabled: config.quiescence },
    groupParts: () => ({ stateMachine: new CountingMachine(), snapshots: new MemorySnapshotStore() }),
  });
  const openMs = performance.now() - begin;
  const stats = host.stats();
  return { type: 'opened', openMs, groups: stats.groups, failedGroups: stats.failedGroups, before };
}

async function create(groups: readonly string[]): Promise<HostAnswer> {
  const { host: running } = started();
  const members = config!.hosts;
  const begin = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CREATE_CONCURRENCY, groups.length) }, async () => {
      while (next < groups.length) await running.createGroup(groups[next++]!, { members });
    }),
  );
  return { type: 'created', ms: performance.now() - begin };
}

function status(): HostAnswer {
  const { host: running } = started();
  let withLeader = 0;
  const leading: string[] = [];
  for (const group of running.groups()) {
    const core = running.group(group)!.coreReader();
    if (core.leader !== null) withLeader++;
    if (core.role === 'leader') leading.push(group);
  }
  return { type: 'status', groups: running.stats().groups, withLeader, leading };
}

async function measureIdle(windowMs: number): Promise<HostAnswer> {
  const { host: running, engine: logs } = started();
  const statsBefore = running.stats();
  const batchesBefore = logs.stats().batches;
  const cpuBefore = process.cpuUsage();
  const begin = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - begin;
  const statsAfter = running.stats();
  return {
    type: 'idle',
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    ticks: statsAfter.ticks - statsBefore.ticks,
    batchesSent: statsAfter.transport.batchesSent - statsBefore.transport.batchesSent,
    itemsSent: statsAfter.transport.itemsSent - statsBefore.transport.itemsSent,
    rounds: statsAfter.loop.rounds - statsBefore.loop.rounds,
    syncedBatches: logs.stats().batches - batchesBefore,
    quiesced: statsAfter.quiescence.quiesced,
    wakes: statsAfter.quiescence.wakes - statsBefore.quiescence.wakes,
    livenessWakes: statsAfter.quiescence.livenessWakes - statsBefore.quiescence.livenessWakes,
    wakesBy: countsSince(statsBefore.quiescence.wakesBy, statsAfter.quiescence.wakesBy),
  };
}

/** The counts of `after` less those of `before`, without the causes that did not grow. */
function countsSince(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  const grown: Record<string, number> = {};
  for (const [cause, count] of Object.entries(after)) {
    const more = count - (before[cause] ?? 0);
    if (more > 0) grown[cause] = more;
  }
  return grown;
}

/**
 * `clients` closed-loop clients, each proposing to the next of `groups` in turn and waiting for it to commit and apply, for `durationMs`.
 * A host with no clients still measures the same window: its CPU as a follower is part of the cost of the operations.
 */
async function load(groups: readonly string[], clients: number, durationMs: number): Promise<HostAnswer> {
  const { host: running, engine: logs } = started();
  const nodes = groups.map((group) => {
    const node = running.group(group);
    if (node === undefined) throw new Error(`host process: no group ${group} here`);
    return node;
  });
  const before = logs.stats();
  const hostBefore = running.stats();
  const cpuBefore = process.cpuUsage();
  const begin = performance.now();
  const end = begin + durationMs;
  let ops = 0;
  let next = 0;
  const clientLoops = Array.from({ length: nodes.length === 0 ? 0 : clients }, async () => {
    while (performance.now() < end) {
      await nodes[next++ % nodes.length]!.propose(COMMAND, { timeoutMs: 60_000 });
      ops++;
    }
  });
  await Promise.all([...clientLoops, new Promise((resolve) => setTimeout(resolve, durationMs))]);
  const after = logs.stats();
  const hostAfter = running.stats();
  const cpu = process.cpuUsage(cpuBefore);
  return {
    type: 'load',
    ops,
    seconds: (performance.now() - begin) / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    writes: after.writes - before.writes,
    syncedBatches: after.batches - before.batches,
    turns: hostAfter.loop.turns - hostBefore.loop.turns,
    itemsSent: hostAfter.transport.itemsSent - hostBefore.transport.itemsSent,
  };
}

async function transfer(moves: readonly { readonly group: string; readonly to: string }[]): Promise<HostAnswer> {
  const { host: running } = started();
  const outcomes = await Promise.allSettled(moves.map(({ group, to }) => running.group(group)!.transferLeadership(to)));
  return { type: 'transferred', failed: outcomes.filter((outcome) => outcome.status === 'rejected').length };
}

let queue: Promise<void> = Promise.resolve();
process.on('message', (request: HostRequest) => {
  // One request at a time, answered in order.
  queue = queue
    .then(async () => {
      const answer = await handle(request);
      process.send!(answer);
      if (answer.type === 'closed') process.disconnect();
    })
    .catch((error: unknown) => {
      process.stderr.write(`host bench process ${config?.id ?? '?'}: ${String(error instanceof Error ? error.stack : error)}\n`);
      process.exit(1);
    });
});
