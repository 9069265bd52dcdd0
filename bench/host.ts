/**
 * The multi-group host (RaftHost, docs/multi-raft.md): three host processes
 * on loopback (LevelEngine each, HMAC TcpTransport), groups of three
 * replicas, one per host. In one run:
 * - durable throughput of 64 closed-loop clients on one group, then spread
 *   over 100 groups, the clients running on each group's leader's host;
 * - then, at each number of groups (1, 10, 100, 1,000, ...): an idle host's
 *   CPU, messages per tick per host pair, and the open of a restarted host
 *   with that many groups: its time to open every group, to a leader in every
 *   group again, and its memory per replica after a full GC.
 * The sizes are measured twice, on fresh clusters: with idle groups
 * quiescing (the default) and without, every group ticking and heartbeating.
 */
import { availableParallelism } from 'node:os';
import { BenchHosts, HOST_IDS } from './support/host-cluster.js';

/** Options of {@link benchHost}; the sizes default to the full or `quick` run's. */
export interface HostBenchOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
  /**
   * Numbers of groups measured, ascending, for both settings.
   * @defaultValue quick: 1, 10, 100; full: 1, 10, 100, 1,000 and 10,000 with
   * quiescence, up to 1,000 without (10,000 ticking groups need more than a host's one event loop has)
   */
  readonly groupCounts?: readonly number[];
  /** Milliseconds of each idle CPU window. */
  readonly idleWindowMs?: number;
  /** Groups the spread clients propose to. */
  readonly loadGroups?: number;
  readonly clients?: number;
  /** Milliseconds of each throughput run. */
  readonly loadMs?: number;
  /** Runs of each kind, alternating. */
  readonly loadRounds?: number;
  /** Quiescence settings the sizes are measured with, each on a fresh cluster. @defaultValue on, then off */
  readonly quiescence?: readonly boolean[];
}

/** Throughput of the same closed-loop clients on one group and spread over many. */
export interface HostThroughput {
  readonly clients: number;
  readonly groups: number;
  readonly oneGroupOpsPerSecond: number;
  readonly spreadOpsPerSecond: number;
  /** Group writes per synced batch on the hosts during each run (the shared batch at work). */
  readonly oneGroupWritesPerBatch: number;
  readonly spreadWritesPerBatch: number;
  /** CPU of the three hosts together per operation, in milliseconds. */
  readonly oneGroupCpuMsPerOp: number;
  readonly spreadCpuMsPerOp: number;
  /** Group turns (all three host loops) and group messages (sent between hosts) per operation. */
  readonly oneGroupTurnsPerOp: number;
  readonly spreadTurnsPerOp: number;
  readonly oneGroupMessagesPerOp: number;
  readonly spreadMessagesPerOp: number;
  /** Groups each host led during the runs, after balancing. */
  readonly leadersPerHost: readonly number[];
  /**
   * Milliseconds of one operation with nothing else running: one client on
   * one group. No closed-loop client can go faster, so `clients` of them
   * cannot exceed `clients / loneOpMs` operations per second, however the
   * groups share the work (Little's law).
   */
  readonly loneOpMs: number;
  /** Cores of the machine: the three hosts together cannot use more. */
  readonly cores: number;
}

/** One number of groups, with quiescence on or off. */
export interface HostScaleRow {
  readonly groups: number;
  readonly quiescence: boolean;
  /** Of all the replicas on the three hosts, those quiesced at the end of the idle window, in %. */
  readonly quiescedPercent: number;
  /** Quiesced groups woken during the idle window on the three hosts, and of those, woken by their leader host's silence. */
  readonly wakes: number;
  readonly livenessWakes: number;
  /** Those wakes by cause (`RaftHost` quiescence stats' `wakesBy`), summed over the hosts. */
  readonly wakesBy: Readonly<Record<string, number>>;
  /** Milliseconds to create the groups added for this row, on all three hosts at once. */
  readonly createMs: number;
  /** CPU of each idle host over the window, in % of one core: the mean and the highest of the three. */
  readonly idleCpuPercentMean: number;
  readonly idleCpuPercentMax: number;
  /**
   * Ticks per second of the hosts' tickers over the window, mean of the three
   * (10 at 100 ms ticks): below that, a host could not keep up, and its CPU %
   * is what the machine gave it, not what it needed.
   */
  readonly idleTicksPerSecond: number;
  /** Group batches sent per tick to each peer host while idle (one connection per pair). */
  readonly batchesPerTickPerPeer: number;
  /** Group messages inside them, per tick per peer host. */
  readonly itemsPerTickPerPeer: number;
  /** The restarted host: engine and every group open, measured inside it. */
  readonly openMs: number;
  /** From spawning the restarted host's process to every group open. */
  readonly startToOpenMs: number;
  /** From spawning it to every group having a leader again, on every host. */
  readonly startToLeadersMs: number;
  /** The restarted host's memory growth from before its engine opened, per replica, after GC. */
  readonly heapPlusExternalPerReplicaBytes: number;
  readonly rssPerReplicaBytes: number;
}

/** After every group has a leader: the leaders' no-op commits, then the idle ticks after which groups quiesce (electionTicks). */
const SETTLE_MS = 2500;

export async function benchHost(options: HostBenchOptions): Promise<{ throughput: HostThroughput; rows: HostScaleRow[] }> {
  const { log, quick } = options;
  const countsFor = (quiescence: boolean): readonly number[] =>
    options.groupCounts ?? (quick ? [1, 10, 100] : quiescence ? [1, 10, 100, 1000, 10000] : [1, 10, 100, 1000]);
  const idleWindowMs = options.idleWindowMs ?? (quick ? 2000 : 5000);
  const loadGroups = options.loadGroups ?? 100;
  const clients = options.clients ?? 64;
  const loadMs = options.loadMs ?? (quick ? 1500 : 3000);
  const loadRounds = options.loadRounds ?? (quick ? 2 : 3);
  log('3 host processes on loopback, LevelEngine (synced) and HMAC TcpTransport each; groups of 3 replicas, one per host; 100 ms ticks');
  let throughput: HostThroughput | null = null;
  const rows: HostScaleRow[] = [];
  // The same sizes with idle groups quiescing (the default) and without, each on a fresh cluster.
  for (const quiescence of options.quiescence ?? [true, false]) {
    const cluster = await BenchHosts.start(quiescence);
    try {
      if (throughput === null) {
        throughput = await measureThroughput(cluster, loadGroups, clients, loadMs, loadRounds);
        logThroughput(log, throughput, loadRounds, loadMs);
      }
      log(`idle hosts, quiescence ${quiescence ? 'on' : 'off'} (${idleWindowMs / 1000} s window after every group has a leader), and host h3 restarted on its database:`);
      log('  groups  create s  idle CPU % mean  max  ticks/s  quiesced %  wakes (liveness)  batches/tick/peer  items/tick/peer  open s  start→open s  start→leaders s  heap+ext B/replica  RSS B/replica');
      let created = 0;
      for (const groups of countsFor(quiescence)) {
        const row = await measureScale(cluster, created, groups, idleWindowMs);
        created = groups;
        rows.push(row);
        logRow(log, row);
      }
      log(growthNote(rows.filter((row) => row.quiescence === quiescence)));
    } finally {
      await cluster.close();
    }
  }
  return { throughput: throughput!, rows };
}

function logThroughput(log: (line: string) => void, throughput: HostThroughput, loadRounds: number, loadMs: number): void {
  log(`durable throughput, quiescence on, ${throughput.clients} closed-loop clients on the groups' leaders' hosts, ${loadRounds} run(s) of ${loadMs / 1000} s each, alternating:`);
  log(`  1 group: ${fmt(throughput.oneGroupOpsPerSecond)} ops/s, ${throughput.oneGroupCpuMsPerOp.toFixed(2)} CPU ms/op on the 3 hosts, ${throughput.oneGroupWritesPerBatch.toFixed(1)} group writes per synced batch`);
  log(
    `  ${throughput.groups} groups, led ${throughput.leadersPerHost.join('/')} by the three hosts: ${fmt(throughput.spreadOpsPerSecond)} ops/s, ` +
      `${throughput.spreadCpuMsPerOp.toFixed(2)} CPU ms/op on the 3 hosts, ${throughput.spreadWritesPerBatch.toFixed(1)} group writes per synced batch`,
  );
  log(
    `  per operation, 1 group / spread: ${throughput.oneGroupTurnsPerOp.toFixed(2)} / ${throughput.spreadTurnsPerOp.toFixed(2)} group turns, ` +
      `${throughput.oneGroupMessagesPerOp.toFixed(2)} / ${throughput.spreadMessagesPerOp.toFixed(2)} group messages between hosts`,
  );
  log(`  spread / one group: ${(throughput.spreadOpsPerSecond / throughput.oneGroupOpsPerSecond).toFixed(2)}× (target ≥ 2×)`);
  const { clients, loneOpMs, cores } = throughput;
  const latencyBound = (1000 * clients) / loneOpMs;
  const oneGroupCores = (throughput.oneGroupOpsPerSecond * throughput.oneGroupCpuMsPerOp) / 1000;
  log(
    `  bounds: a lone operation takes ${loneOpMs.toFixed(2)} ms, so ${clients} closed-loop clients cannot exceed ${fmt(latencyBound)} ops/s ` +
      `(${(latencyBound / throughput.oneGroupOpsPerSecond).toFixed(2)}× one group) however the groups share the work; ` +
      `one group used ${oneGroupCores.toFixed(2)} of ${cores} cores, so 2× its throughput at its own CPU per operation would need ${(2 * oneGroupCores).toFixed(2)} cores`,
  );
}

function logRow(log: (line: string) => void, row: HostScaleRow): void {
  log(
    `  ${String(row.groups).padStart(6)}  ${(row.createMs / 1000).toFixed(1).padStart(8)}  ${row.idleCpuPercentMean.toFixed(1).padStart(15)}  ${row.idleCpuPercentMax.toFixed(1).padStart(4)}  ` +
      `${row.idleTicksPerSecond.toFixed(1).padStart(7)}  ${row.quiescedPercent.toFixed(0).padStart(10)}  ${`${row.wakes} (${row.livenessWakes})`.padStart(16)}  ${row.batchesPerTickPerPeer.toFixed(2).padStart(17)}  ${row.itemsPerTickPerPeer.toFixed(1).padStart(15)}  ` +
      `${(row.openMs / 1000).toFixed(2).padStart(6)}  ${(row.startToOpenMs / 1000).toFixed(2).padStart(12)}  ${(row.startToLeadersMs / 1000).toFixed(2).padStart(15)}  ` +
      `${fmt(row.heapPlusExternalPerReplicaBytes).padStart(18)}  ${fmt(row.rssPerReplicaBytes).padStart(13)}`,
  );
  const causes = Object.entries(row.wakesBy).sort((a, b) => b[1] - a[1]);
  if (causes.length > 0) log(`          wakes by cause: ${causes.map(([cause, count]) => `${cause} ${count}`).join(', ')}`);
}

async function measureThroughput(cluster: BenchHosts, groupCount: number, clients: number, loadMs: number, rounds: number): Promise<HostThroughput> {
  const groups = Array.from({ length: groupCount }, (_, i) => `load-${i}`);
  await cluster.createGroups(groups);
  const elected = await cluster.waitForLeaders(groups.length, leaderWaitMs(groups.length));
  const leaders = await cluster.balanceLeaders(groups, elected, leaderWaitMs(groups.length));
  // The same processes and the same groups for both: only where the clients propose differs. The two
  // alternate, each first in every other round, so that a change in the machine's load hits both alike.
  const single: LoadResult[] = [];
  const spread: LoadResult[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? ['single', 'spread'] : ['spread', 'single']) {
      if (which === 'single') single.push(await runLoad(cluster, leaders, new Set([groups[0]!]), clients, loadMs));
      else spread.push(await runLoad(cluster, leaders, new Set(groups), clients, loadMs));
    }
  }
  // Last, on warm processes: one operation at a time, nothing else running.
  const lone = await runLoad(cluster, leaders, new Set([groups[0]!]), 1, loadMs);
  await cluster.removeGroups(groups);
  const one = total(single);
  const many = total(spread);
  return {
    clients,
    groups: groupCount,
    oneGroupOpsPerSecond: one.ops / one.seconds,
    spreadOpsPerSecond: many.ops / many.seconds,
    oneGroupWritesPerBatch: one.writes / Math.max(1, one.batches),
    spreadWritesPerBatch: many.writes / Math.max(1, many.batches),
    oneGroupCpuMsPerOp: one.cpuMs / Math.max(1, one.ops),
    spreadCpuMsPerOp: many.cpuMs / Math.max(1, many.ops),
    oneGroupTurnsPerOp: one.turns / Math.max(1, one.ops),
    spreadTurnsPerOp: many.turns / Math.max(1, many.ops),
    oneGroupMessagesPerOp: one.items / Math.max(1, one.ops),
    spreadMessagesPerOp: many.items / Math.max(1, many.ops),
    leadersPerHost: HOST_IDS.map((id) => leaders.get(id)?.length ?? 0),
    loneOpMs: (1000 * lone.seconds) / Math.max(1, lone.ops),
    cores: availableParallelism(),
  };
}

/** One run of the clients, summed over the three hosts. */
interface LoadResult {
  readonly ops: number;
  readonly seconds: number;
  readonly writes: number;
  readonly batches: number;
  readonly cpuMs: number;
  readonly turns: number;
  readonly items: number;
}

function total(results: readonly LoadResult[]): LoadResult {
  const sum = (pick: (result: LoadResult) => number): number => results.reduce((acc, result) => acc + pick(result), 0);
  return {
    ops: sum((r) => r.ops),
    seconds: sum((r) => r.seconds),
    writes: sum((r) => r.writes),
    batches: sum((r) => r.batches),
    cpuMs: sum((r) => r.cpuMs),
    turns: sum((r) => r.turns),
    items: sum((r) => r.items),
  };
}

/** Runs `clients` clients on the leaders of `groups` at once, split over the hosts in proportion to the groups each leads. */
async function runLoad(cluster: BenchHosts, leaders: Map<string, string[]>, groups: Set<string>, clients: number, loadMs: number): Promise<LoadResult> {
  const led = HOST_IDS.map((id) => (leaders.get(id) ?? []).filter((group) => groups.has(group)));
  const shares = splitClients(clients, led.map((list) => list.length));
  const results = await Promise.all(HOST_IDS.map((id, i) => cluster.host(id).request({ type: 'load', groups: led[i]!, clients: shares[i]!, durationMs: loadMs }, 'load')));
  const sum = (pick: (result: (typeof results)[number]) => number): number => results.reduce((acc, result) => acc + pick(result), 0);
  return {
    ops: sum((r) => r.ops),
    seconds: Math.max(...results.map((r) => r.seconds)),
    writes: sum((r) => r.writes),
    batches: sum((r) => r.syncedBatches),
    cpuMs: sum((r) => r.cpuMs),
    turns: sum((r) => r.turns),
    items: sum((r) => r.itemsSent),
  };
}

/** `clients` split in proportion to `weights`, every client placed (largest remainders first); none where the weight is 0. */
export function splitClients(clients: number, weights: readonly number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0) return weights.map(() => 0);
  const exact = weights.map((weight) => (clients * weight) / total);
  const shares = exact.map(Math.floor);
  const byRemainder = exact.map((value, i) => ({ i, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder);
  for (let left = clients - shares.reduce((sum, share) => sum + share, 0), k = 0; left > 0; left--, k++) shares[byRemainder[k % byRemainder.length]!.i]!++;
  return shares;
}

async function measureScale(cluster: BenchHosts, existing: number, groups: number, idleWindowMs: number): Promise<HostScaleRow> {
  const added = Array.from({ length: groups - existing }, (_, i) => `g-${existing + i}`);
  const createStart = performance.now();
  await cluster.createGroups(added);
  const createMs = performance.now() - createStart;
  await cluster.waitForLeaders(groups, leaderWaitMs(groups));
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const idle = await cluster.all({ type: 'idle', windowMs: idleWindowMs }, 'idle');
  const cpuPercents = idle.map((sample) => (100 * sample.cpuMs) / sample.wallMs);
  const ticks = idle.reduce((sum, sample) => sum + sample.ticks, 0);
  const peers = HOST_IDS.length - 1;

  const restart = await cluster.restart('h3');
  await cluster.waitForLeaders(groups, leaderWaitMs(groups));
  const startToLeadersMs = performance.now() - restart.startedAt;
  const after = (await cluster.host('h3').request({ type: 'memory' }, 'memory')).sample;
  const before = restart.opened.before;
  if (restart.opened.groups !== groups || restart.opened.failedGroups !== 0) {
    throw new Error(`host bench: h3 reopened ${restart.opened.groups} groups (${restart.opened.failedGroups} failed), expected ${groups}`);
  }
  return {
    groups,
    quiescence: cluster.quiescence,
    quiescedPercent: (100 * idle.reduce((sum, sample) => sum + sample.quiesced, 0)) / (HOST_IDS.length * groups),
    wakes: idle.reduce((sum, sample) => sum + sample.wakes, 0),
    livenessWakes: idle.reduce((sum, sample) => sum + sample.livenessWakes, 0),
    wakesBy: sumCounts(idle.map((sample) => sample.wakesBy)),
    createMs,
    idleCpuPercentMean: cpuPercents.reduce((sum, value) => sum + value, 0) / cpuPercents.length,
    idleCpuPercentMax: Math.max(...cpuPercents),
    idleTicksPerSecond: idle.reduce((sum, sample) => sum + (1000 * sample.ticks) / sample.wallMs, 0) / idle.length,
    batchesPerTickPerPeer: idle.reduce((sum, sample) => sum + sample.batchesSent, 0) / Math.max(1, ticks) / peers,
    itemsPerTickPerPeer: idle.reduce((sum, sample) => sum + sample.itemsSent, 0) / Math.max(1, ticks) / peers,
    openMs: restart.opened.openMs,
    startToOpenMs: restart.startToOpenMs,
    startToLeadersMs,
    heapPlusExternalPerReplicaBytes: (after.heapUsed + after.external - before.heapUsed - before.external) / groups,
    rssPerReplicaBytes: (after.rss - before.rss) / groups,
  };
}

function sumCounts(counts: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const one of counts) for (const [cause, count] of Object.entries(one)) sum[cause] = (sum[cause] ?? 0) + count;
  return sum;
}

/** Generous: elections take a few hundred ms, but a loaded 2-core machine opening 10,000 groups takes far longer. */
function leaderWaitMs(groups: number): number {
  return 60_000 + 30 * groups;
}

/** How the figures grow from the smallest to the largest row big enough to amortise the host's fixed costs. */
function growthNote(rows: readonly HostScaleRow[]): string {
  // Rows of at least 100 groups, or of 10 in a quick run: below that, the host's fixed costs hide the per-group ones.
  const atLeast100 = rows.filter((row) => row.groups >= 100);
  const large = atLeast100.length >= 2 ? atLeast100 : rows.filter((row) => row.groups >= 10);
  if (large.length < 2) return 'growth: too few rows of ≥ 10 groups to compare';
  const first = large[0]!;
  const last = large[large.length - 1]!;
  const factor = last.groups / first.groups;
  const ratio = (a: number, b: number): string => (b <= 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
  return (
    `growth ${first.groups} → ${last.groups} groups (${factor}× groups): idle CPU ${ratio(last.idleCpuPercentMean, first.idleCpuPercentMean)}, ` +
    `open ${ratio(last.openMs, first.openMs)}, heap+ext per replica ${ratio(last.heapPlusExternalPerReplicaBytes, first.heapPlusExternalPerReplicaBytes)}, ` +
    `RSS per replica ${ratio(last.rssPerReplicaBytes, first.rssPerReplicaBytes)} (linear = ${factor}× for totals, 1× per replica)`
  );
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
