import { formatRunReport, formatSwarmReport, runSwarm } from '../sim/runtime/run.js';
import type { RunOptions, RunReport } from '../sim/runtime/run.js';
import { FAULT_KINDS } from '../sim/world/params.js';
import type { FaultKind } from '../sim/world/params.js';
import { InvalidArgumentError } from '../src/errors.js';
import { resolveRunOptions } from '../sim/runtime/options.js';
import { PLANTED_BUG_NAMES } from '../sim/runtime/planted-bugs.js';
import type { PlantedBugName } from '../sim/runtime/planted-bugs.js';
import { decodeScenario } from '../sim/runtime/scenario-codec.js';
import { integerOption, UsageError } from './args.js';
import { formatDuration, progressBar, ProgressReporter, secondsLeft } from './progress.js';
import type { ProgressStream } from './progress.js';
import { runShrink } from './sim-shrink.js';
import { runTraced } from './sim-trace.js';

/** What `keel sim` (the runtime simulator) was asked to run. */
export interface RuntimeSimRequest {
  readonly first: number;
  readonly last: number;
  readonly duration: string | undefined;
  readonly nodes: string | undefined;
  readonly faults: string | undefined;
  /** A scenario in the one-line format of `sim/runtime/scenario-codec.ts` (needs a single seed). */
  readonly schedule: string | undefined;
  readonly plantBug: string | undefined;
  /** The run's event budget (`RunOptions.maxEvents`). */
  readonly maxEvents: string | undefined;
  /** The run's held-items budget (`RunOptions.maxHeldItems`). */
  readonly maxHeldItems: string | undefined;
  /** Where to write the HTML timeline of the (single, or shrunk) run. */
  readonly trace: string | undefined;
  /** Shrink the seed's failure; the number is the budget of candidate runs. */
  readonly shrinkRuns: number | undefined;
  readonly json: boolean;
}

/**
 * Runs the runtime simulator over a seed range; exit code 0 when nothing was
 * found, 1 otherwise. Progress goes to `progressStream` when it is a terminal.
 */
export async function runRuntimeSim(request: RuntimeSimRequest, progressStream: ProgressStream = process.stderr): Promise<number> {
  const options = asUsage(() => runOptions(request));
  if (request.shrinkRuns !== undefined) {
    if (request.first !== request.last) throw new UsageError('--shrink needs one --seed');
    return runShrink(request.first, options, { maxRuns: request.shrinkRuns, json: request.json, tracePath: request.trace, progressStream });
  }
  if (request.trace !== undefined) {
    if (request.first !== request.last) throw new UsageError('--trace draws one run: give --seed');
    return runTraced(request.first, options, request.trace, request.json);
  }
  const progress = ProgressReporter.open({ json: request.json, stream: progressStream });
  const total = request.last - request.first + 1;
  let done = 0;
  let failing = 0;
  let simulatedSeconds = 0;
  const onReport = (report: RunReport): void => {
    done++;
    simulatedSeconds += report.simulatedSeconds;
    if (!report.ok) failing++;
    // A failure is printed at once, with its seed and replay command, above the status line.
    if (!report.ok) progress.above(process.stderr, `${formatRunReport(report)}\n`);
    progress.update(progressLine({ done, total, failing, simulatedSeconds, wallSeconds: progress.elapsedSeconds() }));
  };
  const seeds = Array.from({ length: total }, (_, i) => request.first + i);
  // Bad options (a scenario that does not fit the seed's world) only show once the seed is drawn.
  const swarm = await runSwarm(seeds, options, onReport).catch((error: unknown) => {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
    throw error;
  });
  progress.finish();
  if (request.json) {
    const { reports, ...summary } = swarm;
    const single = reports.length === 1 ? { traceHash: reports[0]!.traceHash } : {};
    process.stdout.write(`${JSON.stringify({ ...summary, ...single })}\n`);
  } else {
    process.stdout.write(`${formatSwarmReport(swarm)}\n`);
  }
  return swarm.violations + swarm.livenessFailures + swarm.budgetFailures > 0 ? 1 : 0;
}

function runOptions(request: RuntimeSimRequest): RunOptions {
  const seconds = request.duration === undefined ? 10 : Number(request.duration);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError(`--duration must be a number of seconds in (0, 3600], got '${request.duration}'`);
  const options: { -readonly [K in keyof RunOptions]: RunOptions[K] } = { durationMs: Math.round(seconds * 1000) };
  if (request.nodes !== undefined) options.nodes = integerOption('nodes', request.nodes, 3, 3, 7);
  if (request.faults !== undefined) options.faults = parseFaults(request.faults);
  if (request.maxEvents !== undefined) options.maxEvents = integerOption('max-events', request.maxEvents, 0, 1, 1e15);
  if (request.maxHeldItems !== undefined) options.maxHeldItems = integerOption('max-held-items', request.maxHeldItems, 0, 1, 1e15);
  if (request.schedule !== undefined) {
    if (request.first !== request.last) throw new UsageError('--schedule replays one seed: give --seed');
    options.scenario = decodeScenario(request.schedule);
  }
  if (request.plantBug !== undefined) {
    if (!(PLANTED_BUG_NAMES as readonly string[]).includes(request.plantBug)) {
      throw new UsageError(`unknown bug to plant '${request.plantBug}'; known: ${PLANTED_BUG_NAMES.join(', ')}`);
    }
    options.plantedBug = request.plantBug as PlantedBugName;
  }
  // Validates everything else now, so bad values exit 2 before any run starts.
  resolveRunOptions(options);
  return options;
}

/** Runs `parse`, turning the simulator's `InvalidArgumentError` into a usage error (exit 2). */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
    throw error;
  }
}

function parseFaults(list: string): readonly FaultKind[] | 'all' {
  if (list === 'all') return 'all';
  if (list === 'none') return [];
  const kinds = list.split(',').map((kind) => kind.trim()).filter((kind) => kind.length > 0);
  for (const kind of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown fault kind '${kind}'; known: ${FAULT_KINDS.join(', ')}, or all`);
  }
  return kinds as FaultKind[];
}

/**
 * One line of swarm progress for a terminal: a bar, runs done, failures so
 * far, simulated seconds per wall second, and the time left at that pace.
 */
export function progressLine(progress: { done: number; total: number; failing: number; simulatedSeconds: number; wallSeconds: number }): string {
  const pace = progress.wallSeconds > 0 ? progress.simulatedSeconds / progress.wallSeconds : 0;
  const left = formatDuration(secondsLeft(progress.wallSeconds, progress.done, progress.total));
  return `${progressBar(progress.done, progress.total)} ${progress.done}/${progress.total} runs, ${progress.failing} failing, ${pace.toFixed(0)}× real time, ~${left} left`;
}
