/**
 * The runtime simulator's speed: a 5-node cluster with every fault kind and
 * the simulated clients, run seed after seed in one process exactly as
 * `keel sim --seeds A..B --nodes 5 --faults all` runs them (safety checks
 * after every event, the liveness phase, the linearizability check).
 * Reports simulated seconds per real second and world events per second.
 *
 * The ratio depends on how many events a simulated second holds, which the
 * timing decides: every tick is an event on every node, every heartbeat and
 * answer a message event. So it is measured twice:
 *
 * - `swarm`: each seed's own drawn timing (ticks of 5, 10 or 20 ms, elections
 *   of 5 to 15 ticks), which packs 5 to 20 times more Raft activity into a
 *   simulated second than production does, to find bugs faster;
 * - `production`: RaftNode's default timing (100 ms ticks, elections of 10
 *   ticks, a heartbeat every tick), with the request timeouts, reordering
 *   delays and minimum downtime the seed drew rescaled to that election
 *   timeout; network and disk latencies stay as drawn.
 *
 * Unmeasured seeds run first (see {@link warmUp}), so the figures are of a
 * warm process, as in a swarm. Wall and CPU time are both reported:
 * on a shared machine the wall-clock ratio mostly measures the neighbours.
 */
import { runSeed } from '../sim/runtime/run.js';
import type { RunOptions, RunReport } from '../sim/runtime/run.js';
import type { WorldParams } from '../sim/world/params.js';

/** One timing profile's figures. */
export interface SimBenchRow {
  readonly timing: 'swarm' | 'production';
  readonly seeds: number;
  readonly failed: number;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
  /** Simulated time over real time. */
  readonly speedup: number;
  /** CPU seconds of this process (user + system): on a shared machine, less noisy than wall time. */
  readonly cpuSeconds: number;
  /** Simulated time over CPU time. */
  readonly cpuSpeedup: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  /** Events per simulated second: what the timing packs in. */
  readonly eventsPerSimulatedSecond: number;
}

const NODES = 5;
const FIRST_SEED = 1;
const WARMUP_SEED = 1_000_000;
const WARMUP_SEEDS_MAX = 40;
const WARMUP_CPU_SECONDS = 3;

/** Runs the simulator benchmark and prints a table. */
export async function benchSim(options: { quick: boolean; log: (line: string) => void }): Promise<SimBenchRow[]> {
  const seeds = options.quick ? 3 : 10;
  const durationMs = options.quick ? 20_000 : 60_000;
  options.log(`${seeds} seeds × ${durationMs / 1000} simulated s (fault phase; then liveness and linearizability), ${NODES} nodes, all faults`);
  options.log('timing      seeds  failed  simulated s  wall s   sim/real   CPU s   sim/CPU   events   events/s  events/sim s');
  const rows: SimBenchRow[] = [];
  for (const timing of ['swarm', 'production'] as const) {
    const row = await measure(timing, seeds, durationMs);
    rows.push(row);
    options.log(
      `${timing.padEnd(10)}  ${String(row.seeds).padStart(5)}  ${String(row.failed).padStart(6)}  ${row.simulatedSeconds.toFixed(1).padStart(11)}  ${row.wallSeconds.toFixed(2).padStart(6)}  ${`${row.speedup.toFixed(0)}×`.padStart(9)}  ${row.cpuSeconds.toFixed(2).padStart(6)}  ${`${row.cpuSpeedup.toFixed(0)}×`.padStart(8)}  ${String(row.events).padStart(7)}  ${fmt(row.eventsPerSecond).padStart(9)}  ${fmt(row.eventsPerSimulatedSecond).padStart(12)}`,
    );
  }
  return rows;
}

async function measure(timing: 'swarm' | 'production', seeds: number, durationMs: number): Promise<SimBenchRow> {
  const runOptions: RunOptions = { nodes: NODES, faults: 'all', durationMs, ...(timing === 'production' ? { adjustParams: productionTiming } : {}) };
  await warmUp(runOptions);
  const reports: RunReport[] = [];
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  for (let seed = FIRST_SEED; seed < FIRST_SEED + seeds; seed++) reports.push(await runSeed(seed, runOptions));
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const simulatedSeconds = reports.reduce((sum, report) => sum + report.simulatedSeconds, 0);
  const events = reports.reduce((sum, report) => sum + report.events, 0);
  return {
    timing,
    seeds,
    failed: reports.filter((report) => !report.ok).length,
    simulatedSeconds,
    wallSeconds,
    speedup: simulatedSeconds / wallSeconds,
    cpuSeconds,
    cpuSpeedup: simulatedSeconds / cpuSeconds,
    events,
    eventsPerSecond: events / wallSeconds,
    eventsPerSimulatedSecond: events / simulatedSeconds,
  };
}

/**
 * Runs unmeasured seeds until the process has spent a few CPU seconds in
 * this world: V8 is still compiling the hot paths for the first seconds (a
 * cold process simulates production timing at about a third of its later
 * speed), and a swarm runs many seeds in one process.
 */
async function warmUp(runOptions: RunOptions): Promise<void> {
  const started = process.cpuUsage();
  for (let seed = WARMUP_SEED; seed < WARMUP_SEED + WARMUP_SEEDS_MAX; seed++) {
    await runSeed(seed, { ...runOptions, durationMs: Math.min(runOptions.durationMs ?? 10_000, 20_000) });
    const spent = process.cpuUsage(started);
    if ((spent.user + spent.system) / 1e6 >= WARMUP_CPU_SECONDS) return;
  }
}

/** RaftNode's default timing, with everything the seed drew relative to the election timeout rescaled to it. */
export function productionTiming(params: WorldParams): WorldParams {
  const tickIntervalMs = 100;
  const electionTicks = 10;
  const scale = (electionTicks * tickIntervalMs) / (params.electionTicks * params.tickIntervalMs);
  return {
    ...params,
    tickIntervalMs,
    electionTicks,
    heartbeatTicks: 1,
    requestTimeoutMs: params.requestTimeoutMs * scale,
    downMsMin: params.downMsMin * scale,
    network: { ...params.network, reorderDelayMsMax: params.network.reorderDelayMsMax * scale },
  };
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
