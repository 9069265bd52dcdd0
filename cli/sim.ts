import { applyStep, emptyStats, healAndConverge, randomStep } from '../sim/core-schedule.js';
import type { ScheduleStats } from '../sim/core-schedule.js';
import { CoreCluster } from '../src/testing/core-cluster.js';
import { SeededRandom } from '../src/util/random.js';
import { integerOption, parseOptions, UsageError, withUsage } from './args.js';
import { defaultMaxEvents, defaultMaxHeldItems } from '../sim/runtime/options.js';
import { runHostSim } from './sim-hosts.js';
import { runRuntimeSim } from './sim-runtime.js';
import { formatDuration, progressBar, ProgressReporter, secondsLeft } from './progress.js';
import type { ProgressStream } from './progress.js';

/** A number as the help prints it: 1,000,000. */
const count = (value: number): string => value.toLocaleString('en-US');

const HELP = `Usage: keel sim [--seed N | --seeds A..B] [--duration S] [--nodes N] [--faults LIST] [--json]
       keel sim --seed N --shrink [--shrink-runs N] [options]
       keel sim --seed N --schedule SCENARIO [options]
       keel sim --seed N --trace run.html [options]
       keel sim --core [--seed N | --seeds A..B] [--steps N] [--nodes N] [--json]
       keel sim --hosts [--seed N | --seeds A..B] [--duration S] [--nodes N] [--groups N] [--faults LIST] [--rebalance | --no-rebalance] [--json]

Runs Keel under seeded, deterministic fault injection. One seed replays one
run exactly.

By default: the whole runtime (RaftNode, unchanged) in a simulated world with
a virtual clock, a faulty network and disk, crashes, pauses and clock drift,
and clients on a replicated key-value store. Every safety invariant is
checked after every event, the client history for linearizability at the
end, and liveness after healing a majority.

With --hosts: multi-group worlds: 3 to 5 hosts (--nodes) each running the
production RaftHost, 1 to 64 groups of three replicas (--groups), faults that
strike hosts, invariants checked per group, keys sharded over the groups.

With --core: random schedules of message deliveries and faults against the
pure core, checked after every step.

Options:
  --seed N        run one seed
  --seeds A..B    run every seed from A to B (default 1..100; 1..200 with --core)
  --duration S    simulated seconds of faults per run (default 10)
  --nodes N       cluster size 3 to 7 (default: drawn per seed)
  --faults LIST   fault kinds, comma-separated, all or none (default all): drop,
                  duplicate, reorder, partition, clog, crash, pause, drift,
                  ioError, transfer
  --trace FILE    with --seed: write the run's timeline to FILE, a self-contained
                  HTML page (roles, terms, messages, faults, client operations,
                  the violation); with --shrink, the timeline of the minimal run
  --shrink        run the seed and, if it fails, shrink its fault schedule,
                  cluster, clients and duration to a minimal failing scenario;
                  prints it with the one-line command that replays it
  --shrink-runs N most candidate runs of --shrink (default 300)
  --schedule SCENARIO
                  replace the seed's fault schedule with a scenario, e.g.
                  'nodes 3 clients 1; at 92 crash n2 down 979; at 729 pause n1 for 40'
                  (what --shrink prints; see docs/simulator.md)
  --plant-bug NAME
                  plant a bug in the simulated world to watch it being caught:
                  lying-disk (acknowledges writes before they are durable),
                  unsafe-reads (gets skip the read barrier),
                  flooding-clients (operations without pause or backpressure:
                  a run only a budget can stop)
  --max-events N  most world events one run may take (default ${count(defaultMaxEvents(0))} plus
                  ${count(defaultMaxEvents(1000) - defaultMaxEvents(0))} per simulated second of faults); a run that needs
                  more is a budget failure: printed with its seed and replay
                  command, counted as failing
  --max-held-items N
                  most items (log entries on the simulated disks, timers and
                  messages in flight, client operations) a world may hold at
                  once (default ${count(defaultMaxHeldItems(0))} plus ${count(defaultMaxHeldItems(1000) - defaultMaxHeldItems(0))} per simulated second of
                  faults); more is a budget failure, as above
  --hosts         run multi-group worlds (docs/simulator.md, "Hosts and groups")
  --groups N      with --hosts: groups per world, 1 to 64 (default: drawn per seed)
  --rebalance     with --hosts: every world runs the sharded service's rebalancer
                  while the layout changes (default: a quarter of the seeds;
                  --no-rebalance: none)
  --steps N       with --core: schedule steps per run (default 2000)
  --json          print one JSON summary object on stdout

On a terminal, progress goes to stderr while the work runs: runs done out of
the total, failures so far, the pace and the time left (with --shrink,
candidate runs out of --shrink-runs and the smallest failing scenario so far).
Nothing extra is printed with --json or when stderr is not a terminal.

Exit code: 0 when nothing was violated, 1 when something was (a budget
failure included), 2 on bad usage.
`;

const ELECTION_TICKS = 5;

interface RunResult {
  readonly seed: number;
  readonly stats: ScheduleStats;
  readonly violation: string | null;
  readonly livenessFailure: boolean;
}

/** `keel sim`. Progress goes to `progressStream` (stderr) when it is a terminal. */
export function runSim(args: readonly string[], progressStream: ProgressStream = process.stderr): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      steps: { type: 'string' },
      nodes: { type: 'string' },
      duration: { type: 'string' },
      faults: { type: 'string' },
      shrink: { type: 'boolean' },
      trace: { type: 'string' },
      'shrink-runs': { type: 'string' },
      schedule: { type: 'string' },
      'plant-bug': { type: 'string' },
      'max-events': { type: 'string' },
      'max-held-items': { type: 'string' },
      core: { type: 'boolean' },
      hosts: { type: 'boolean' },
      groups: { type: 'string' },
      rebalance: { type: 'boolean' },
      'no-rebalance': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values.hosts === true) {
      const other = (['core', 'steps', 'shrink', 'shrink-runs', 'schedule', 'plant-bug', 'trace'] as const).find((name) => values[name] !== undefined);
      if (other !== undefined) throw new UsageError(`--${other} does not go with --hosts`);
      const [first, last] = seedRange(values.seed, values.seeds, 100);
      return runHostSim({
        first, last, duration: values.duration, hosts: values.nodes, groups: values.groups, faults: values.faults,
        maxEvents: values['max-events'], maxHeldItems: values['max-held-items'], json: values.json === true,
        rebalance: values.rebalance === true ? true : values['no-rebalance'] === true ? false : undefined,
      });
    }
    if (values.groups !== undefined) throw new UsageError('--groups goes with --hosts');
    if (values.rebalance !== undefined || values['no-rebalance'] !== undefined) throw new UsageError('--rebalance goes with --hosts');
    if (values.core !== true) {
      if (values.steps !== undefined) throw new UsageError('--steps goes with --core');
      if (values.shrink !== true && values['shrink-runs'] !== undefined) throw new UsageError('--shrink-runs goes with --shrink');
      if (values.shrink === true && values.seed === undefined) throw new UsageError('--shrink needs one --seed');
      const [first, last] = seedRange(values.seed, values.seeds, 100);
      return runRuntimeSim({
        first,
        last,
        duration: values.duration,
        nodes: values.nodes,
        faults: values.faults,
        schedule: values.schedule,
        plantBug: values['plant-bug'],
        maxEvents: values['max-events'],
        maxHeldItems: values['max-held-items'],
        trace: values.trace,
        shrinkRuns: values.shrink === true ? integerOption('shrink-runs', values['shrink-runs'], 300, 1, 100_000) : undefined,
        json: values.json === true,
      }, progressStream);
    }
    const runtimeOnly = ['duration', 'faults', 'shrink', 'shrink-runs', 'schedule', 'plant-bug', 'trace', 'max-events', 'max-held-items'] as const;
    const misplaced = runtimeOnly.find((name) => values[name] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} is an option of the runtime simulator, not --core`);
    const [first, last] = seedRange(values.seed, values.seeds, 200);
    const steps = integerOption('steps', values.steps, 2000, 1, 1_000_000);
    const nodes = values.nodes === undefined ? undefined : integerOption('nodes', values.nodes, 3, 3, 7);
    const progress = ProgressReporter.open({ json: values.json === true, stream: progressStream });
    const results: RunResult[] = [];
    let failing = 0;
    for (let seed = first; seed <= last; seed++) {
      const result = runSeed(seed, steps, nodes);
      results.push(result);
      if (result.violation !== null || result.livenessFailure) {
        failing++;
        progress.above(process.stderr, findingText(result, steps, nodes));
      }
      progress.update(coreProgressLine(results.length, last - first + 1, failing, progress.elapsedSeconds()));
    }
    progress.finish();
    const summary = summarize(results, progress.elapsedSeconds());
    if (values.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else printSummary(summary);
    return summary.violations + summary.livenessFailures > 0 ? 1 : 0;
  });
}

/** Parses --seed / --seeds A..B (default 1..`defaultLast`). */
export function seedRange(seed: string | undefined, seeds: string | undefined, defaultLast: number): [number, number] {
  if (seed !== undefined && seeds !== undefined) throw new UsageError('give --seed or --seeds, not both');
  if (seed !== undefined) {
    const value = integerOption('seed', seed, 0, 0, 2 ** 31 - 1);
    return [value, value];
  }
  if (seeds === undefined) return [1, defaultLast];
  const match = /^(\d+)\.\.(\d+)$/.exec(seeds);
  if (match === null) throw new UsageError(`--seeds must look like A..B, got '${seeds}'`);
  const first = integerOption('seeds', match[1], 0, 0, 2 ** 31 - 1);
  const last = integerOption('seeds', match[2], 0, 0, 2 ** 31 - 1);
  if (last < first) throw new UsageError(`--seeds ${seeds}: the range is empty`);
  return [first, last];
}

function runSeed(seed: number, steps: number, nodes: number | undefined): RunResult {
  const random = new SeededRandom(seed);
  const size = nodes ?? 3 + random.nextInt(3);
  const preVote = random.nextInt(2) === 1;
  const cluster = new CoreCluster({
    ids: Array.from({ length: size }, (_, i) => `n${i + 1}`),
    seed: random.nextUint32(),
    raft: { electionTicks: ELECTION_TICKS, heartbeatTicks: 1, preVote, checkQuorum: preVote, maxInflightMsgs: 4, maxMsgBytes: 64 },
  });
  const stats = emptyStats();
  const run = { next: 0, lastLeader: null };
  try {
    for (let i = 0; i < steps; i++) applyStep(cluster, randomStep(random), run, stats);
    const ticks = healAndConverge(cluster, 40 * ELECTION_TICKS);
    return { seed, stats, violation: null, livenessFailure: ticks === null };
  } catch (error) {
    // A crash inside the simulated world is a finding, reported with its seed, not an unhandled exception.
    return { seed, stats, violation: error instanceof Error ? `${error.name}: ${error.message}` : String(error), livenessFailure: false };
  }
}

function findingText(result: RunResult, steps: number, nodes: number | undefined): string {
  const what = result.violation ?? `liveness: no stable leader and convergence within ${40 * ELECTION_TICKS} ticks after healing`;
  const replay = `npx keel sim --core --seed ${result.seed} --steps ${steps}${nodes === undefined ? '' : ` --nodes ${nodes}`}`;
  return `seed ${result.seed}: ${what}\n  after step ${result.stats.steps}; replay: ${replay}\n`;
}

/** The --core swarm's status line: runs done, failures so far, runs per second, time left. */
function coreProgressLine(done: number, total: number, failing: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  return `${progressBar(done, total)} ${done}/${total} runs, ${failing} failing, ${rate.toFixed(1)} runs/s, ~${formatDuration(secondsLeft(elapsedSeconds, done, total))} left`;
}

interface Summary {
  readonly runs: number;
  readonly violations: number;
  readonly livenessFailures: number;
  readonly steps: number;
  readonly wallSeconds: number;
  readonly stepsPerSecond: number;
  readonly coverage: Omit<ScheduleStats, 'steps'>;
  readonly failingSeeds: readonly number[];
}

function summarize(results: readonly RunResult[], wallSeconds: number): Summary {
  const totals = emptyStats();
  for (const result of results) {
    for (const key of Object.keys(totals) as (keyof ScheduleStats)[]) totals[key] += result.stats[key];
  }
  const { steps, ...coverage } = totals;
  return {
    runs: results.length,
    violations: results.filter((result) => result.violation !== null).length,
    livenessFailures: results.filter((result) => result.livenessFailure).length,
    steps,
    wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    stepsPerSecond: Math.round(steps / Math.max(wallSeconds, 1e-9)),
    coverage,
    failingSeeds: results.filter((result) => result.violation !== null || result.livenessFailure).map((result) => result.seed),
  };
}

function printSummary(summary: Summary): void {
  const rows: [string, string | number][] = [
    ['runs', summary.runs],
    ['safety violations', summary.violations],
    ['liveness failures', summary.livenessFailures],
    ['steps checked', summary.steps],
    ['wall time (s)', summary.wallSeconds],
    ['steps/s', summary.stepsPerSecond],
    ...Object.entries(summary.coverage).map(([key, value]): [string, number] => [`coverage: ${key}`, value]),
  ];
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(24)} ${value}\n`);
}
