import { InvalidArgumentError } from '../src/errors.js';
import { formatRunReport } from '../sim/runtime/run.js';
import type { RunOptions } from '../sim/runtime/run.js';
import type { ScenarioRun } from '../sim/runtime/scenario-arbitrary.js';
import { shrinkSeed } from '../sim/runtime/shrink.js';
import type { ShrinkResult } from '../sim/runtime/shrink.js';
import { describeFault } from '../sim/world/faults.js';
import { traceSeed } from '../sim/timeline/trace-run.js';
import { UsageError } from './args.js';
import { formatDuration, progressBar, ProgressReporter, secondsLeft } from './progress.js';
import type { ProgressStream } from './progress.js';
import { writeTimeline } from './sim-trace.js';

/** How `keel sim --shrink` runs and reports. */
export interface ShrinkRequest {
  /** Most candidate runs. */
  readonly maxRuns: number;
  readonly json: boolean;
  /** Where to write the minimal run's timeline, if anywhere. */
  readonly tracePath?: string | undefined;
  /** Where progress goes when it is a terminal. @defaultValue process.stderr */
  readonly progressStream?: ProgressStream | undefined;
}

/** `keel sim --shrink --seed N`: exit 1 when the seed fails (and was shrunk), 0 when it does not fail. */
export async function runShrink(seed: number, options: RunOptions, request: ShrinkRequest): Promise<number> {
  const { maxRuns, json, tracePath } = request;
  const progress = ProgressReporter.open({ json, stream: request.progressStream });
  progress.update(`shrinking seed ${seed}: running the seed`);
  let stillFailing = 0;
  let smallest: ScenarioRun | null = null;
  let result: ShrinkResult;
  try {
    result = await shrinkSeed(seed, options, {
      maxRuns,
      onCandidate: (candidate, failed, runs) => {
        if (failed) {
          stillFailing++;
          smallest = candidate;
        }
        progress.update(shrinkLine({ seed, runs, maxRuns, stillFailing, smallest, elapsedSeconds: progress.elapsedSeconds() }));
      },
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
    throw error;
  } finally {
    progress.finish();
  }
  if (tracePath !== undefined && result.failure !== null) {
    // The timeline of the minimal run: the smallest picture of the failure.
    const { minimal } = result;
    writeTimeline(tracePath, (await traceSeed(seed, { ...options, durationMs: minimal.durationMs, scenario: minimal.scenario })).html);
    if (!json) process.stderr.write(`timeline of the minimal run: ${tracePath}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(shrinkJson(result))}\n`);
  else process.stdout.write(`${formatShrink(result)}\n`);
  return result.failure === null ? 0 : 1;
}

/**
 * One line of shrink progress for a terminal: candidate runs made out of the
 * budget, how many still failed, the smallest failing scenario so far, the
 * time spent and, at most, the time left (the search may end sooner).
 */
export function shrinkLine(progress: { seed: number; runs: number; maxRuns: number; stillFailing: number; smallest: ScenarioRun | null; elapsedSeconds: number }): string {
  const left = formatDuration(secondsLeft(progress.elapsedSeconds, progress.runs, progress.maxRuns));
  const smallest = progress.smallest === null ? 'no smaller failure yet' : `smallest failing: ${describeSize(progress.smallest)}`;
  return (
    `shrinking seed ${progress.seed}: ${progressBar(progress.runs, progress.maxRuns, 20)} ${progress.runs}/${progress.maxRuns} runs, ` +
    `${progress.stillFailing} still failing; ${smallest}; ${formatDuration(progress.elapsedSeconds)} elapsed, at most ~${left} left`
  );
}

function describeSize(run: ScenarioRun): string {
  const { nodes, clients, faults } = run.scenario;
  return `${faults.length} faults, ${nodes} nodes, ${clients} clients, ${run.durationMs / 1000}s of faults`;
}

/** The shrink as text: the original failure, the minimal scenario, and the command that replays it. */
export function formatShrink(result: ShrinkResult): string {
  if (result.failure === null) return `${formatRunReport(result.original)}\nseed ${result.seed} does not fail: nothing to shrink.`;
  const minimal = result.minimalReport;
  const stopped = minimal.violation ?? minimal.budgetFailure;
  const found = stopped !== null ? `${result.failure} at ${stopped.atMs.toFixed(1)}ms` : result.failure;
  const lines = [
    formatRunReport(result.original),
    '',
    `shrunk in ${result.runs} runs${result.budgetExhausted ? ' (budget used up: a larger --shrink-runs may shrink further)' : ''}:`,
    `  from ${describeSize(result.initial)}`,
    `  to   ${describeSize(result.minimal)}`,
    `minimal scenario, fails with ${found}:`,
    ...result.minimal.scenario.faults.map((fault) => `  at ${fault.atMs}ms: ${describeFault(fault.action)}`),
  ];
  if (result.minimal.scenario.faults.length === 0) lines.push('  (no faults at all)');
  lines.push(`replay: ${minimal.replay}`);
  return lines.join('\n');
}

function shrinkJson(result: ShrinkResult): object {
  return {
    seed: result.seed,
    failure: result.failure,
    runs: result.runs,
    budgetExhausted: result.budgetExhausted,
    initial: result.initial,
    minimal: result.minimal,
    violation: result.minimalReport.violation,
    livenessFailure: result.minimalReport.livenessFailure,
    budgetFailure: result.minimalReport.budgetFailure,
    replay: result.minimalReport.replay,
  };
}
