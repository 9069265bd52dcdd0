import { parseOptions, withUsage } from './args.js';
import { formatDuration, progressBar, ProgressReporter, secondsLeft } from './progress.js';
import type { ProgressStream } from './progress.js';

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

On a terminal, progress goes to stderr while the benchmarks run: how many are
done out of the total, the one running, the time spent and the time left.
Nothing extra is printed when stderr is not a terminal.
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

/** How often the status line is redrawn while one benchmark runs, so its clock keeps moving. */
const REDRAW_EVERY_MS = 1000;

/** `keel bench`. Progress goes to `progressStream` (stderr) when it is a terminal. */
export function runBench(args: readonly string[], progressStream: ProgressStream = process.stderr): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, { quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const names = values.only === undefined ? Object.keys(BENCHES) : [values.only];
    const unknown = names.find((name) => BENCHES[name] === undefined);
    if (unknown !== undefined) {
      process.stderr.write(`keel bench: unknown benchmark '${unknown}' (one of: ${Object.keys(BENCHES).join(', ')})\n`);
      return 2;
    }
    const progress = ProgressReporter.open({ json: false, stream: progressStream });
    // The figures go to stdout above the status line, which stays at the bottom of the screen.
    const log = (line: string): void => progress.above(process.stdout, `${line}\n`);
    for (const [done, name] of names.entries()) {
      const started = progress.elapsedSeconds();
      const draw = (): void => progress.update(benchLine({ done, total: names.length, name, benchSeconds: progress.elapsedSeconds() - started, elapsedSeconds: progress.elapsedSeconds() }));
      draw();
      const redraw = progress.enabled ? setInterval(draw, REDRAW_EVERY_MS) : null;
      // The timer only redraws: it must not keep the process alive, nor outlive the benchmark.
      redraw?.unref();
      try {
        log(`\n== ${name} ==`);
        await (await BENCHES[name]!())({ quick: values.quick === true, log });
      } finally {
        if (redraw !== null) clearInterval(redraw);
      }
    }
    progress.finish();
    return 0;
  });
}

/**
 * One line of benchmark progress for a terminal: benchmarks done out of the
 * total, the one running and for how long, the time spent, and the time left
 * at the pace of those done (a rough guess: benchmarks differ in length).
 */
export function benchLine(progress: { done: number; total: number; name: string; benchSeconds: number; elapsedSeconds: number }): string {
  const left = progress.done > 0 ? `, ~${formatDuration(secondsLeft(progress.elapsedSeconds - progress.benchSeconds, progress.done, progress.total) - progress.benchSeconds)} left` : '';
  return (
    `${progressBar(progress.done, progress.total, 20)} ${progress.done}/${progress.total} benchmarks done, running ${progress.name} ` +
    `(${formatDuration(progress.benchSeconds)}); ${formatDuration(progress.elapsedSeconds)} elapsed${left}`
  );
}
