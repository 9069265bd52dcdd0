/**
 * RaftNode throughput and latency: a 3-node in-process cluster on real timers
 * (LocalNetwork on the SystemClock), driven by closed-loop clients — each
 * keeps one 64-byte proposal in flight on the leader — at 1, 16, 256 and 1024
 * proposals in flight. Run with MemoryStorage (the runtime's own cost) and
 * with LevelStorage (real fsyncs), beside the ceiling: the same entries
 * written in synced batches straight into three LevelDB stores, no consensus.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { RaftNode } from '../src/node/raft-node.js';
import type { SnapshotSource, StateMachine } from '../src/node/state-machine.js';
import { LevelStorage } from '../src/storage/level.js';
import { MemorySnapshotStore } from '../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../src/storage/memory.js';
import type { LogStorage } from '../src/storage/storage.js';
import { LocalNetwork } from '../src/transport/local-network.js';
import { SystemClock } from '../src/util/clock.js';
import { runClosedLoop } from './closed-loop.js';
import { measureCore } from './core.js';

export interface RuntimeBenchRow {
  readonly storage: 'memory' | 'level';
  readonly inFlight: number;
  readonly entries: number;
  readonly entriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface CeilingRow {
  readonly batch: number;
  readonly entriesPerSecond: number;
}

export interface RuntimeBenchResult {
  readonly rows: RuntimeBenchRow[];
  readonly ceiling: CeilingRow[];
  readonly syncedPutP50Ms: number;
  /**
   * One-at-a-time proposals on LevelDB and synced puts into a fourth store,
   * alternated one by one, so both see the same disk: this disk's fsync
   * latency drifts by 2x within seconds, and under shared load more.
   */
  readonly alternating: {
    readonly count: number;
    readonly proposalP50Ms: number;
    readonly putP50Ms: number;
    /**
     * The disk's own floor for a 3-node commit: three synced puts into three
     * more stores issued at the same instant, time until the second is
     * durable (a leader and one follower), p50. No consensus, no messages.
     */
    readonly twoOfThreeP50Ms: number;
  };
  /** The in-memory runtime at 256 in flight against the bare core at batch 256, alternated in one run. */
  readonly againstCore: readonly { readonly coreEntriesPerSecond: number; readonly runtimeEntriesPerSecond: number; readonly cpuMicrosPerEntry: number }[];
}

const COMMAND = new Uint8Array(64).fill(42);
const IN_FLIGHT = [1, 16, 256, 1024];

/** Counts applies; returns nothing worth keeping. */
class NullMachine implements StateMachine<number> {
  applied = 0;
  apply(): number {
    return ++this.applied;
  }
  capture(): SnapshotSource {
    const applied = this.applied;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        yield new Uint8Array([applied & 0xff]);
      },
    };
  }
  async restore(): Promise<void> {}
}

export async function benchRuntime(options: { quick: boolean; log: (line: string) => void }): Promise<RuntimeBenchResult> {
  const log = options.log;
  const rows: RuntimeBenchRow[] = [];
  log('storage  in-flight  entries  committed/s   p50 ms   p99 ms');
  for (const storage of ['memory', 'level'] as const) {
    for (const inFlight of IN_FLIGHT) {
      const entries = entriesFor(storage, inFlight, options.quick);
      const row = await measureCluster(storage, inFlight, entries);
      rows.push(row);
      log(`${storage.padEnd(7)}  ${String(inFlight).padStart(9)}  ${String(entries).padStart(7)}  ${fmt(row.entriesPerSecond).padStart(11)}  ${row.p50Ms.toFixed(2).padStart(7)}  ${row.p99Ms.toFixed(2).padStart(7)}`);
    }
  }
  const syncedPutP50Ms = await measureSyncedPut(options.quick ? 200 : 1000);
  log(`one synced LevelDB put: p50 ${syncedPutP50Ms.toFixed(2)} ms`);
  const ceiling: CeilingRow[] = [];
  for (const batch of IN_FLIGHT) {
    const row = await measureCeiling(batch, entriesFor('level', batch, options.quick));
    ceiling.push(row);
    const keel = rows.find((r) => r.storage === 'level' && r.inFlight === batch)!;
    log(`ceiling (3 LevelDB stores, synced batches of ${String(batch).padStart(4)}): ${fmt(row.entriesPerSecond).padStart(9)}/s; Keel on LevelDB reaches ${((100 * keel.entriesPerSecond) / row.entriesPerSecond).toFixed(0)}%`);
  }
  const single = rows.find((r) => r.storage === 'level' && r.inFlight === 1)!;
  log(`one-at-a-time p50 on LevelDB is ${(single.p50Ms / syncedPutP50Ms).toFixed(2)}× one synced put (measured apart)`);
  const alternating = await measureAlternating(options.quick ? 200 : 1000);
  log(
    `alternating one proposal, one synced put and three simultaneous synced puts, ${alternating.count} each: proposal p50 ${alternating.proposalP50Ms.toFixed(3)} ms, ` +
      `put p50 ${alternating.putP50Ms.toFixed(3)} ms: ${(alternating.proposalP50Ms / alternating.putP50Ms).toFixed(2)}×; ` +
      `second of three simultaneous puts p50 ${alternating.twoOfThreeP50Ms.toFixed(3)} ms = ${(alternating.twoOfThreeP50Ms / alternating.putP50Ms).toFixed(2)}× one put (this disk's floor for a 3-node commit)`,
  );
  const againstCore = await measureAgainstCore(options.quick ? 1 : 5, options.quick ? 20_000 : 200_000);
  const ratios = againstCore.map((pair) => pair.runtimeEntriesPerSecond / pair.coreEntriesPerSecond).sort((a, b) => a - b);
  log(`against the core: median ${(100 * ratios[Math.floor(ratios.length / 2)]!).toFixed(1)}% over ${ratios.length} alternated rounds (target ≥ 30 %)`);
  for (const pair of againstCore) {
    log(
      `against the core, alternated: core at batch 256 ${fmt(pair.coreEntriesPerSecond)}/s, runtime on memory at 256 in flight ${fmt(pair.runtimeEntriesPerSecond)}/s = ` +
        `${((100 * pair.runtimeEntriesPerSecond) / pair.coreEntriesPerSecond).toFixed(1)}% of the core; ${pair.cpuMicrosPerEntry.toFixed(2)} CPU µs per committed proposal (3 nodes, one process)`,
    );
  }
  return { rows, ceiling, syncedPutP50Ms, alternating, againstCore };
}

/**
 * The runtime's cost against its own core, measured in turns so that both
 * see the same machine: the bare core cluster at batch 256, then the
 * in-memory runtime cluster at 256 in flight, `rounds` times. The CPU time
 * (user + system, the whole process: three nodes and the clients) per
 * committed proposal comes from `process.cpuUsage`.
 */
export async function measureAgainstCore(rounds: number, entries: number): Promise<RuntimeBenchResult['againstCore']> {
  const pairs: { coreEntriesPerSecond: number; runtimeEntriesPerSecond: number; cpuMicrosPerEntry: number }[] = [];
  // One round of each first, not counted: the core's first round runs partly before V8 has compiled it.
  measureCore(256, Math.floor(entries / 256) * 256);
  await measureCluster('memory', 256, Math.floor(entries / 256) * 256);
  for (let round = 0; round < rounds; round++) {
    const core = measureCore(256, Math.floor(entries / 256) * 256);
    const cpuBefore = process.cpuUsage();
    const runtime = await measureCluster('memory', 256, Math.floor(entries / 256) * 256);
    const cpu = process.cpuUsage(cpuBefore);
    pairs.push({ coreEntriesPerSecond: core.entriesPerSecond, runtimeEntriesPerSecond: runtime.entriesPerSecond, cpuMicrosPerEntry: (cpu.user + cpu.system) / runtime.entries });
  }
  return pairs;
}

function entriesFor(storage: 'memory' | 'level', inFlight: number, quick: boolean): number {
  const base = storage === 'memory' ? 20_000 : 4_000;
  const scaled = inFlight === 1 ? base / (storage === 'memory' ? 2 : 8) : base;
  return Math.max(inFlight * 4, Math.floor((quick ? scaled / 4 : scaled) / inFlight) * inFlight);
}

/** One row: a fresh 3-node in-process cluster on `kind` storage, closed-loop clients keeping `inFlight` proposals on the leader. */
export async function measureCluster(kind: 'memory' | 'level', inFlight: number, entries: number): Promise<RuntimeBenchRow> {
  return withCluster(kind, async (leader) => {
    // Steady state: the first proposals run before V8 has compiled the hot paths and would be the p99.
    await runClosedLoop(() => leader.propose(COMMAND, { timeoutMs: 60_000 }), inFlight, Math.min(entries, kind === 'memory' ? 5000 : 500));
    const { seconds, latenciesMs: latencies } = await runClosedLoop(() => leader.propose(COMMAND, { timeoutMs: 60_000 }), inFlight, entries);
    latencies.sort((a, b) => a - b);
    return { storage: kind, inFlight, entries, entriesPerSecond: entries / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
  });
}

/**
 * One proposal on a LevelDB cluster, then one synced put into a separate
 * store, then three synced puts issued together into three more stores,
 * `count` times: all three see the same moments of the disk.
 */
async function measureAlternating(count: number): Promise<RuntimeBenchResult['alternating']> {
  return withCluster('level', async (leader, dir) => {
    const stores = ['put', 'floor-1', 'floor-2', 'floor-3'].map((name) => new Level<Buffer, Buffer>(join(dir, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' }));
    await Promise.all(stores.map((store) => store.open()));
    const [single, ...three] = stores as [Level<Buffer, Buffer>, ...Level<Buffer, Buffer>[]];
    try {
      const proposals: number[] = [];
      const puts: number[] = [];
      const twoOfThree: number[] = [];
      const value = Buffer.from(COMMAND);
      for (let i = 0; i < count; i++) {
        let begin = performance.now();
        await leader.propose(COMMAND, { timeoutMs: 60_000 });
        proposals.push(performance.now() - begin);
        begin = performance.now();
        await single.put(indexKey(i), value, { sync: true });
        puts.push(performance.now() - begin);
        begin = performance.now();
        const done: number[] = [];
        await Promise.all(three.map((store) => store.put(indexKey(i), value, { sync: true }).then(() => void done.push(performance.now() - begin))));
        twoOfThree.push(done[1]!);
      }
      return { count, proposalP50Ms: median(proposals), putP50Ms: median(puts), twoOfThreeP50Ms: median(twoOfThree) };
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
}

/**
 * This disk's floor for one commit of a 3-node cluster on one machine: three
 * synced puts into three stores issued at the same instant, timed until all
 * three are durable; p50 over `count` rounds.
 */
export async function measureThreeSyncedPuts(count: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-bench-puts-'));
  const stores = [1, 2, 3].map((n) => new Level<Buffer, Buffer>(join(dir, `store-${n}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' }));
  try {
    await Promise.all(stores.map((store) => store.open()));
    const value = Buffer.from(COMMAND);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const begin = performance.now();
      await Promise.all(stores.map((store) => store.put(indexKey(i), value, { sync: true })));
      times.push(performance.now() - begin);
    }
    return median(times);
  } finally {
    await Promise.all(stores.map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  return percentile(values, 0.5);
}

/** Opens a 3-node cluster, waits for a leader, runs `body` with it and the cluster's directory, then closes everything. */
async function withCluster<T>(kind: 'memory' | 'level', body: (leader: RaftNode<number>, dir: string) => Promise<T>): Promise<T> {
  const clock = new SystemClock();
  const network = new LocalNetwork(clock);
  const members = ['b1', 'b2', 'b3'];
  const dir = await mkdtemp(join(tmpdir(), 'keel-bench-'));
  const storages: LogStorage[] = [];
  const nodes: RaftNode<number>[] = [];
  try {
    for (const id of members) {
      const storage = kind === 'memory' ? new MemoryStorage() : await LevelStorage.open({ location: join(dir, id), nodeId: id });
      storages.push(storage);
      nodes.push(
        await RaftNode.open<number>({
          id,
          members,
          storage,
          snapshots: new MemorySnapshotStore(),
          transport: network.transport(id),
          stateMachine: new NullMachine(),
          clock,
          tickIntervalMs: 10,
          electionTicks: 20,
          snapshotting: { entries: 50_000 },
          limits: { maxUncommittedBytes: 1 << 30 },
        }),
      );
    }
    return await body(await waitForLeader(nodes), dir);
  } finally {
    for (const node of nodes) await node.close();
    for (const storage of storages) await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitForLeader(nodes: RaftNode<number>[]): Promise<RaftNode<number>> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    const leader = nodes.find((node) => node.status().role === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('benchmark cluster elected no leader within 10 s');
}

/** Three raw LevelDB stores written with synced batches of `batch` entries, in parallel: the most the disk allows. */
export async function measureCeiling(batch: number, entries: number): Promise<CeilingRow> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-ceiling-'));
  const dbs = ['c1', 'c2', 'c3'].map((id) => new Level<Buffer, Buffer>(join(dir, id), { keyEncoding: 'buffer', valueEncoding: 'buffer' }));
  try {
    await Promise.all(dbs.map((db) => db.open()));
    const value = Buffer.alloc(COMMAND.byteLength + 32, 7); // the command plus a record's framing
    const started = performance.now();
    for (let next = 0; next < entries; next += batch) {
      await Promise.all(
        dbs.map((db) =>
          db.batch(
            Array.from({ length: batch }, (_, i) => ({ type: 'put' as const, key: indexKey(next + i), value })),
            { sync: true },
          ),
        ),
      );
    }
    return { batch, entriesPerSecond: entries / ((performance.now() - started) / 1000) };
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureSyncedPut(count: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-put-'));
  const db = new Level<Buffer, Buffer>(join(dir, 'p'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open();
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const begin = performance.now();
      await db.put(indexKey(i), Buffer.from(COMMAND), { sync: true });
      latencies.push(performance.now() - begin);
    }
    latencies.sort((a, b) => a - b);
    return percentile(latencies, 0.5);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function indexKey(index: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(index));
  return key;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
