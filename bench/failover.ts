/**
 * Failover time of the KV service: three `keel kv` processes on loopback
 * (LevelDB, HMAC), a writer putting a key through a follower every few
 * milliseconds, and the leader killed with SIGKILL. Failover time is from the
 * kill to the first write acknowledged after it (invoked after the kill).
 * Target: at most 2 × the maximum election timeout.
 *
 * Each round restarts the killed node and waits until every node agrees on
 * a leader before the next kill.
 */
import { performance } from 'node:perf_hooks';
import { ProcessCluster } from './support/process-cluster.js';

/** What {@link benchFailover} measures. */
export interface FailoverResult {
  readonly rounds: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  /** Election timeouts are drawn from [electionTicks, 2·electionTicks) ticks. */
  readonly maxElectionTimeoutMs: number;
  /** Kill to first acknowledged write, per round, in ms. */
  readonly failoverMs: readonly number[];
  readonly medianMs: number;
  readonly maxMs: number;
  /** maxMs / maxElectionTimeoutMs: the target is ≤ 2. */
  readonly worstRatio: number;
}

const TICK_MS = 100;
const ELECTION_TICKS = 10;

/** Runs the failover benchmark, logging each round. */
export async function benchFailover(options: { quick: boolean; log: (line: string) => void }): Promise<FailoverResult> {
  const { quick, log } = options;
  const rounds = quick ? 3 : 10;
  const maxElectionTimeoutMs = 2 * ELECTION_TICKS * TICK_MS;
  const cluster = await ProcessCluster.start({
    size: 3,
    args: ['--tick-ms', String(TICK_MS), '--election-ticks', String(ELECTION_TICKS), '--request-timeout-ms', '1000', '--log-level', 'warn'],
  });
  const failoverMs: number[] = [];
  try {
    log(`3 keel kv processes, tick ${TICK_MS} ms, election timeout ${ELECTION_TICKS}..${2 * ELECTION_TICKS} ticks (max ${maxElectionTimeoutMs} ms); leader killed with SIGKILL ${rounds} times`);
    for (let round = 1; round <= rounds; round++) {
      const leader = await agreedLeader(cluster);
      const writeThrough = cluster.nodes.find((node) => node.id !== leader)!;
      const other = cluster.nodes.find((node) => node.id !== leader && node.id !== writeThrough.id)!;
      // Writes go to both survivors alternately, so that whichever wins the election is reached directly or through the other.
      const killedAt = performance.now();
      await cluster.kill(leader);
      let acknowledgedAt: number | null = null;
      for (let attempt = 0; acknowledgedAt === null; attempt++) {
        const node = attempt % 2 === 0 ? writeThrough : other;
        if (await put(node.url, `round-${round}-${attempt}`)) acknowledgedAt = performance.now();
        if (performance.now() - killedAt > 60_000) throw new Error(`no write acknowledged within 60 s of killing ${leader}`);
      }
      const elapsed = acknowledgedAt - killedAt;
      failoverMs.push(elapsed);
      log(`round ${String(round).padStart(2)}: killed leader ${leader}; first acknowledged write after ${elapsed.toFixed(0)} ms`);
      cluster.restart(leader);
    }
  } finally {
    await cluster.stop();
    await cluster.remove();
  }
  const sorted = [...failoverMs].sort((a, b) => a - b);
  const result: FailoverResult = {
    rounds,
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    maxElectionTimeoutMs,
    failoverMs,
    medianMs: sorted[Math.floor(sorted.length / 2)]!,
    maxMs: sorted[sorted.length - 1]!,
    worstRatio: sorted[sorted.length - 1]! / maxElectionTimeoutMs,
  };
  log(`failover: median ${result.medianMs.toFixed(0)} ms, max ${result.maxMs.toFixed(0)} ms = ${result.worstRatio.toFixed(2)} × the max election timeout (target ≤ 2)`);
  return result;
}

/**
 * One PUT with a short deadline (300 ms, so that a write stuck on the dead
 * leader costs little of the measurement); true when acknowledged.
 */
async function put(url: string, value: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/kv/failover`, { method: 'PUT', body: JSON.stringify({ value }), signal: AbortSignal.timeout(300) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Waits until every running node names the same leader, and returns it. */
async function agreedLeader(cluster: ProcessCluster): Promise<string> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const leaders = await Promise.all(cluster.nodes.map(async (node) => {
      try {
        return ((await (await fetch(`${node.url}/status`, { signal: AbortSignal.timeout(1000) })).json()) as { leader: string | null }).leader;
      } catch {
        return null;
      }
    }));
    if (leaders[0] !== null && leaders.every((leader) => leader === leaders[0])) return leaders[0]!;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error('the nodes did not agree on a leader within 60 s');
}
