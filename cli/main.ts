import { runBench } from './bench.js';
import { runDemo } from './demo.js';
import { runKv } from './kv.js';
import { runPlayground } from './playground.js';
import { runSim } from './sim.js';

/** One `keel` subcommand. */
interface Command {
  readonly summary: string;
  /** Runs the command; resolves to the process exit code (0 ok, 1 failure found, 2 bad usage). */
  run(args: readonly string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: { summary: 'start a 3-node key-value cluster as local processes, show it working, keep it running', run: runDemo },
  kv: { summary: 'run one node of the replicated key-value service (Raft over TCP, HTTP API)', run: runKv },
  sim: { summary: 'run the deterministic simulator: seeded faults against the whole runtime, every invariant checked; shrink and draw failures', run: runSim },
  playground: { summary: 'serve the playground: the real runtime and simulator in a browser page, replayable from a seed (or --out DIR: a static build)', run: runPlayground },
  bench: { summary: 'run the benchmarks and print their figures', run: runBench },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return ['Usage: keel <command> [options]', '', 'Commands:', ...lines, '', 'Run `keel <command> --help` for the options of a command.', ''].join('\n');
}

/** Dispatches `keel <command> ...`; returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`keel: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}
