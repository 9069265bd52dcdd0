/**
 * Shrinking a failing seed (issue #5 §4): re-run the seed, take the scenario
 * it drew (its fault schedule, cluster and clients) and let fast-check
 * shrink it, and the fault phase's length, to a smaller scenario that still
 * fails the same way. The result replays from one command line.
 *
 * Every candidate is a full, deterministic run of the same seed with a
 * scenario in place of the drawn schedule, so the search is deterministic
 * too: the same seed and options always shrink to the same scenario. The
 * number of candidate runs is bounded (`maxRuns`); when the budget runs out,
 * the smallest failing scenario found so far is the answer.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Scenario } from '../world/scenario.js';
import { resolveRunOptions } from './options.js';
import type { RunOptions } from './options.js';
import type { RunReport } from './report.js';
import { drawSeed, runSeed } from './run.js';
import { boundsOf, faultSubsetArbitrary, inWholeMilliseconds, scenarioRunArbitrary } from './scenario-arbitrary.js';
import type { ScenarioBounds, ScenarioRun } from './scenario-arbitrary.js';

/** Options of {@link shrinkSeed}. */
export interface ShrinkOptions {
  /** Most candidate runs (each a whole simulated run). @defaultValue 300 */
  readonly maxRuns?: number;
  /** fast-check's seed. Shrinking an example draws nothing random, but the seed is fixed anyway. @defaultValue 1 */
  readonly fastCheckSeed?: number;
  /** Called after each candidate run, with whether it still failed the same way. */
  readonly onCandidate?: (candidate: ScenarioRun, failed: boolean, runs: number) => void;
}

/** What a shrink found. */
export interface ShrinkResult {
  /** The seed that was shrunk. */
  readonly seed: number;
  /** The first run of the seed, with the options as given. */
  readonly original: RunReport;
  /** What failed (`Election Safety`, `Linearizability`, `Liveness`, `Budget (events)`…), or null when the seed did not fail. */
  readonly failure: string | null;
  /** The scenario the seed drew (or was given) and its fault-phase length. */
  readonly initial: ScenarioRun;
  /** The smallest failing scenario found (equal to `initial` when nothing smaller fails). */
  readonly minimal: ScenarioRun;
  /** The run of the minimal scenario: fails with {@link failure}; its `replay` reproduces it. */
  readonly minimalReport: RunReport;
  /** Candidate runs made. */
  readonly runs: number;
  /** True when the budget ran out before fast-check had tried every smaller candidate. */
  readonly budgetExhausted: boolean;
}

/** What kind of failure a report shows, or null for a pass (or an undecided linearizability check). */
export function failureOf(report: RunReport): string | null {
  if (report.violation !== null) return report.violation.invariant;
  if (report.budgetFailure !== null) return `Budget (${report.budgetFailure.budget})`;
  if (report.livenessFailure !== null) return 'Liveness';
  return null;
}

/**
 * Runs `seed` and, if it fails, shrinks its scenario to a minimal one that
 * fails with the same invariant. Throws `InvalidArgumentError` for bad
 * options only; a seed that does not fail is reported with `failure: null`.
 */
export async function shrinkSeed(seed: number, options: RunOptions = {}, shrinkOptions: ShrinkOptions = {}): Promise<ShrinkResult> {
  const maxRuns = shrinkOptions.maxRuns ?? 300;
  if (!(Number.isSafeInteger(maxRuns) && maxRuns >= 1)) throw new InvalidArgumentError(`maxRuns must be a positive integer, got ${String(maxRuns)}`);
  const original = await runSeed(seed, options);
  const failure = failureOf(original);
  const drawn = drawSeed(seed, options);
  const initial: ScenarioRun = {
    durationMs: Math.ceil(resolveRunOptions(options).durationMs),
    scenario: withoutLaterFaults(options.scenario ?? drawn.scenario, original),
  };
  const result = { seed, original, failure, initial, minimal: initial, minimalReport: original, runs: 0, budgetExhausted: false };
  if (failure === null) return result;

  // A safety violation stops the world where it is found: the linearizability check after the run cannot
  // change whether a candidate reproduces it, so candidates skip that (possibly long) search. A linearizability
  // or liveness failure is only judged once the check has run (a violation it finds would take precedence).
  const judgedAtTheEnd = failure === 'Linearizability' || failure === 'Liveness';
  const candidateOptions: RunOptions = judgedAtTheEnd ? options : { ...options, linearizabilityStepsPerKey: 1 };
  const runCandidate = (candidate: ScenarioRun, runOptions: RunOptions): Promise<RunReport> =>
    runSeed(seed, { ...runOptions, durationMs: candidate.durationMs, scenario: candidate.scenario });
  let runs = 0;
  let budgetExhausted = false;
  const stillFails = async (candidate: ScenarioRun): Promise<boolean> => {
    if (runs >= maxRuns) {
      budgetExhausted = true;
      return false;
    }
    runs++;
    let failed: boolean;
    try {
      failed = failureOf(await runCandidate(candidate, candidateOptions)) === failure;
    } catch {
      // A candidate the world rejects is not a smaller failure; it must not be mistaken for one.
      failed = false;
    }
    shrinkOptions.onCandidate?.(candidate, failed, runs);
    return failed;
  };
  const shrink = async (arbitrary: fc.Arbitrary<ScenarioRun>, start: ScenarioRun): Promise<ScenarioRun | undefined> => {
    const property = fc.asyncProperty(arbitrary, async (candidate) => !(await stillFails(candidate)));
    const details = await fc.check(property, { examples: [[start]], numRuns: 1, seed: shrinkOptions.fastCheckSeed ?? 1 });
    return details.counterexample?.[0];
  };
  const boundsFor = (start: ScenarioRun, wholeMilliseconds: boolean): ScenarioBounds =>
    boundsOf(drawn.drawnParams, start.durationMs, start.scenario, wholeMilliseconds);
  // Rounded times shrink in far fewer steps; if rounding loses the failure, shrink the exact times.
  const rounded = { durationMs: initial.durationMs, scenario: inWholeMilliseconds(initial.scenario) };
  let wholeMilliseconds = true;
  let subset = await shrink(faultSubsetArbitrary(boundsFor(rounded, true), rounded.scenario), rounded);
  if (subset === undefined) {
    wholeMilliseconds = false;
    subset = await shrink(faultSubsetArbitrary(boundsFor(initial, false), initial.scenario), initial);
  }
  // Then the faults that matter: earlier, shorter, on other nodes.
  const shrunk = subset === undefined ? undefined : ((await shrink(scenarioRunArbitrary(boundsFor(subset, wholeMilliseconds)), subset)) ?? subset);
  if (shrunk === undefined) return { ...result, runs, budgetExhausted };
  const minimal = await tidy(shrunk, drawn.drawnParams.ids, (candidate) => stillFails(candidate));
  const minimalReport = await runCandidate(minimal, options);
  return { ...result, minimal, minimalReport, runs, budgetExhausted };
}

/**
 * The world stops at a safety violation (or when it spends its budget), so faults scheduled after it never
 * struck and dropping them changes nothing before it: the first candidate is
 * already smaller, and fast-check does not spend runs on faults that cannot
 * matter. (A linearizability or liveness failure is judged at the end, so
 * every fault may matter.)
 */
function withoutLaterFaults(scenario: Scenario, report: RunReport): Scenario {
  const stopped = report.violation ?? report.budgetFailure;
  if (stopped === null || report.violation?.invariant === 'Linearizability') return scenario;
  return { ...scenario, faults: scenario.faults.filter((fault) => fault.atMs <= stopped.atMs) };
}

/**
 * Drops the faults that cannot strike (on nodes the scenario does not run,
 * or after the fault phase) and sorts the rest by time, if the tidy scenario
 * still fails: it reads better and replays from a shorter line.
 */
async function tidy(run: ScenarioRun, drawnIds: readonly string[], stillFails: (candidate: ScenarioRun) => Promise<boolean>): Promise<ScenarioRun> {
  const ids = drawnIds.slice(0, run.scenario.nodes);
  const named = (fault: Scenario['faults'][number]): readonly string[] => {
    const action = fault.action;
    if (action.kind === 'partition') return action.order.filter((id) => ids.includes(id)).length >= 2 ? [] : ['-'];
    if (action.kind === 'clog') return [action.a, action.b];
    return [action.kind === 'transfer' ? action.target : action.node];
  };
  const faults = run.scenario.faults
    .filter((fault) => fault.atMs < run.durationMs && named(fault).every((id) => ids.includes(id)))
    .sort((a, b) => a.atMs - b.atMs);
  if (faults.length === run.scenario.faults.length && faults.every((fault, i) => fault === run.scenario.faults[i])) return run;
  const tidied = { durationMs: run.durationMs, scenario: { ...run.scenario, faults } };
  return (await stillFails(tidied)) ? tidied : run;
}
