import { parseOptions, withUsage } from './args.js';

const HELP = `Usage: keel bench [--quick] [--only NAME]

Runs Keel's benchmarks and prints their figures (see docs/benchmarks.md):
  core             in-process 3-node core cluster: committed entries/s and batches
  runtime          3-node RaftNode cluster on memory and LevelDB vs the raw LevelDB ceiling
  storage          LevelStorage vs raw LevelDB: synced appends, open time, tail reads
  linearizability  the history checker on 1k/10k/50k-operation histories
  tcp              3 nodes in 3 processes over TCP (LevelDB, HMAC) beside in-process; the transport's own cost
  failover         3 keel kv processes: leader kill -9 to the first acknowledged write
  sim              the runtime simulator: simulated/real time and events/s, 5 nodes, all faults
  host             3 RaftHost processes over TCP: idle CPU, memory and open time at 1 to 1,000 groups; 64 clients on 1 vs 100 groups

Options:
  --quick       smaller sizes, for a smoke run
  --only NAME   run one benchmark
`;

type Bench = (options: { quick: boolean; log: (line: string) => void }) => Promise<unknown>;

/** Benchmarks live under bench/ (compiled to dist/bench/), loaded only when asked for. */
const BENCHES: Readonly<Record<string, () => Promise<Bench>>> = {
  core: async () => (await import('../bench/core.js')).benchCore,
  runtime: async () => (await import('../bench/runtime.js')).benchRuntime,
  storage: async () => (await import('../bench/storage.js')).benchStorage,
  linearizability: async () => (await import('../bench/linearizability.js')).benchLinearizability,
  tcp: async () => (await import('../bench/tcp.js')).benchTcp,
  failover: async () => (await import('../bench/failover.js')).benchFailover,
  sim: async () => (await import('../bench/sim.js')).benchSim,
  host: async () => (await import('../bench/host.js')).benchHost,
};

/** `keel bench`. */
export function runBench(args: readonly string[]): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, { quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const names = values.only === undefined ? Object.keys(BENCHES) : [values.only];
    for (const name of names) {
      const load = BENCHES[name];
      if (load === undefined) {
        process.stderr.write(`keel bench: unknown benchmark '${name}' (one of: ${Object.keys(BENCHES).join(', ')})\n`);
        return 2;
      }
      process.stdout.write(`\n== ${name} ==\n`);
      await (await load())({ quick: values.quick === true, log: (line) => process.stdout.write(`${line}\n`) });
    }
    return 0;
  });
}
