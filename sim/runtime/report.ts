/**
 * What a runtime simulation run and a swarm report, and how they print. A
 * report is plain data (JSON-serialisable) so the CLI can emit it with
 * `--json` and a test can assert on it.
 */
import { addCoverage, emptyCoverage, missedMarks } from '../world/coverage.js';
import type { Coverage } from '../world/coverage.js';
import type { BudgetFailure } from '../world/budget.js';
import { FAULT_KINDS } from '../world/params.js';
import type { FaultKind } from '../world/params.js';
import type { ResolvedRunOptions } from './options.js';
import { encodeScenario } from './scenario-codec.js';

/** A broken invariant found by a run. */
export interface Violation {
  /** Which invariant: `Election Safety`, `Linearizability`, `World crash`… */
  readonly invariant: string;
  /** What exactly broke. */
  readonly detail: string;
  /** Simulated time it was found at, in milliseconds. */
  readonly atMs: number;
  /** The last trace events before it, oldest first. */
  readonly trace: readonly string[];
}

/** The outcome of one seed. */
export interface RunReport {
  /** The seed that replays the run. */
  readonly seed: number;
  /** No violation, no liveness failure, within budget, and linearizability decided. */
  readonly ok: boolean;
  /** The first broken invariant, or null. */
  readonly violation: Violation | null;
  /** What the healed core failed to reach within the bound (with the last trace events), or null. */
  readonly livenessFailure: {
    /** What was not reached. */
    readonly detail: string;
    /** The last trace events, oldest first. */
    readonly trace: readonly string[];
  } | null;
  /**
   * The budget (events or held items) the run spent before it could finish,
   * or null. The run was stopped there: like a liveness failure, it means
   * the world did not reach a verdict in the time it was given.
   */
  readonly budgetFailure: BudgetFailure | null;
  /** `undecided` when the linearizability search ran out of budget (not a pass). */
  readonly linearizability: 'ok' | 'violation' | 'undecided' | 'not checked';
  /** Simulated time the run covered, in seconds. */
  readonly simulatedSeconds: number;
  /** Real time the run took, in seconds. */
  readonly wallSeconds: number;
  /** World events run (clock callbacks, each followed by a safety check). */
  readonly events: number;
  /** The most items the world held at once (what the held-items budget bounds; see `sim/world/budget.ts`). */
  readonly peakHeldItems: number;
  /** Fingerprint of the event trace: equal for two runs of the same seed and options. */
  readonly traceHash: string;
  /** How often each coverage mark was reached (faults struck, rare protocol situations seen). */
  readonly coverage: Coverage;
  /** The clients' operations. */
  readonly operations: {
    /** Operations invoked. */
    readonly total: number;
    /** Operations answered. */
    readonly ok: number;
    /** Operations given up on: their outcome is unknown. */
    readonly unknown: number;
  };
  /** The world this seed drew. */
  readonly world: {
    /** Cluster size. */
    readonly nodes: number;
    /** The fault kinds switched on. */
    readonly faults: readonly FaultKind[];
    /** Simulated milliseconds between two ticks. */
    readonly tickIntervalMs: number;
    /** The nodes' election timeout, in ticks. */
    readonly electionTicks: number;
    /** Simulated clients. */
    readonly clients: number;
    /** Whether clients used lease reads. */
    readonly leaseReads: boolean;
  };
  /** A command that replays this run. */
  readonly replay: string;
}

/** The outcome of many seeds. */
export interface SwarmReport {
  /** Seeds run. */
  readonly runs: number;
  /** Runs with a violation. */
  readonly violations: number;
  /** Runs with a liveness failure. */
  readonly livenessFailures: number;
  /** Runs stopped because they spent their event or held-items budget. */
  readonly budgetFailures: number;
  /** Runs whose linearizability check ran out of budget. */
  readonly undecided: number;
  /** Simulated time of all runs, in seconds. */
  readonly simulatedSeconds: number;
  /** Real time of all runs, in seconds. */
  readonly wallSeconds: number;
  /** Simulated time over real time. */
  readonly speedup: number;
  /** World events run per real second. */
  readonly eventsPerSecond: number;
  /** The most events one run took: how close the swarm came to its event budget. */
  readonly maxRunEvents: number;
  /** The most items one world held at once: how close the swarm came to its held-items budget. */
  readonly maxPeakHeldItems: number;
  /** Coverage marks summed over all runs. */
  readonly coverage: Coverage;
  /** The seeds whose run was not ok. */
  readonly failingSeeds: readonly number[];
  /** Every run's report, in seed order. */
  readonly reports: readonly RunReport[];
}

/** Sums run reports into a swarm report. */
export function summarizeSwarm(reports: readonly RunReport[], wallSeconds: number): SwarmReport {
  const coverage = emptyCoverage();
  let simulatedSeconds = 0;
  let events = 0;
  for (const report of reports) {
    addCoverage(coverage, report.coverage);
    simulatedSeconds += report.simulatedSeconds;
    events += report.events;
  }
  const wall = Math.max(wallSeconds, 1e-9);
  return {
    runs: reports.length,
    violations: reports.filter((report) => report.violation !== null).length,
    livenessFailures: reports.filter((report) => report.livenessFailure !== null).length,
    budgetFailures: reports.filter((report) => report.budgetFailure !== null).length,
    undecided: reports.filter((report) => report.linearizability === 'undecided').length,
    simulatedSeconds: round(simulatedSeconds),
    wallSeconds: round(wallSeconds),
    speedup: round(simulatedSeconds / wall),
    eventsPerSecond: Math.round(events / wall),
    maxRunEvents: reports.reduce((most, report) => Math.max(most, report.events), 0),
    maxPeakHeldItems: reports.reduce((most, report) => Math.max(most, report.peakHeldItems), 0),
    coverage,
    failingSeeds: reports.filter((report) => !report.ok).map((report) => report.seed),
    reports,
  };
}

/** The command that replays `seed` with `options`. */
export function replayCommand(seed: number, options: ResolvedRunOptions): string {
  const parts = [`npx keel sim --seed ${seed}`, `--duration ${options.durationMs / 1000}`];
  if (options.nodes !== undefined) parts.push(`--nodes ${options.nodes}`);
  if (options.faults.length !== FAULT_KINDS.length) parts.push(`--faults ${options.faults.join(',') || 'none'}`);
  if (options.plantedBug !== undefined) parts.push(`--plant-bug ${options.plantedBug}`);
  if (options.maxEvents !== undefined) parts.push(`--max-events ${options.maxEvents}`);
  if (options.maxHeldItems !== undefined) parts.push(`--max-held-items ${options.maxHeldItems}`);
  // The codec's alphabet (letters, digits, '.', ',', ';', '-', spaces) is safe inside single quotes.
  if (options.scenario !== undefined) parts.push(`--schedule '${encodeScenario(options.scenario)}'`);
  // The command line cannot carry code: say so rather than print a command that replays something else.
  if (options.plugin !== undefined) parts.push(`  # with the same stateMachine and workload: runSeed(${seed}, options)`);
  return parts.join(' ');
}

/** A run report as text: one summary line, and for a failure the details, trace tail and replay command. */
export function formatRunReport(report: RunReport, verbose = false): string {
  const status = report.ok ? 'ok' : failureStatus(report);
  const world = report.world;
  const lines = [
    `seed ${report.seed}: ${status} — ${world.nodes} nodes, tick ${world.tickIntervalMs}ms×${world.electionTicks}, faults ${world.faults.join(',') || 'none'}; ` +
      `${report.simulatedSeconds}s simulated in ${report.wallSeconds}s, ${report.events} events, ${report.operations.ok}/${report.operations.total} ops ok, trace ${report.traceHash}`,
  ];
  if (report.violation !== null) {
    lines.push(`  ${report.violation.invariant} at ${report.violation.atMs.toFixed(3)}ms: ${report.violation.detail}`);
    if (verbose || !report.ok) lines.push('  last events:', ...report.violation.trace.slice(-40).map((event) => `    ${event}`));
  }
  if (report.livenessFailure !== null) {
    lines.push(`  liveness: ${report.livenessFailure.detail}`, '  last events:', ...report.livenessFailure.trace.slice(-40).map((event) => `    ${event}`));
  }
  if (report.budgetFailure !== null) {
    const spent = report.budgetFailure;
    lines.push(`  budget: ${spent.detail} (stopped at ${spent.atMs.toFixed(3)}ms)`, '  last events:', ...spent.trace.slice(-40).map((event) => `    ${event}`));
  }
  if (!report.ok || verbose) lines.push(`  replay: ${report.replay}`);
  return lines.join('\n');
}

function failureStatus(report: RunReport): string {
  if (report.violation !== null) return `VIOLATION ${report.violation.invariant}`;
  if (report.budgetFailure !== null) return `BUDGET ${report.budgetFailure.budget}`;
  if (report.livenessFailure !== null) return 'LIVENESS';
  return 'UNDECIDED';
}

/** A swarm report as a summary table. */
export function formatSwarmReport(report: SwarmReport): string {
  const rows: [string, string | number][] = [
    ['runs', report.runs],
    ['violations', report.violations],
    ['liveness failures', report.livenessFailures],
    ['budget failures', report.budgetFailures],
    ['linearizability undecided', report.undecided],
    ['simulated seconds', report.simulatedSeconds],
    ['wall seconds', report.wallSeconds],
    ['speedup (sim/real)', report.speedup],
    ['events/s', report.eventsPerSecond],
    ['most events in a run', report.maxRunEvents],
    ['most items held by a world', report.maxPeakHeldItems],
    ...Object.entries(report.coverage).map(([mark, count]): [string, number] => [`coverage: ${mark}`, count]),
  ];
  const missed = missedMarks(report.coverage);
  const table = rows.map(([label, value]) => `${label.padEnd(28)} ${value}`).join('\n');
  const failing = report.failingSeeds.length > 0 ? `\nfailing seeds: ${report.failingSeeds.join(', ')}` : '';
  return `${table}${missed.length > 0 ? `\nnever reached: ${missed.join(', ')}` : ''}${failing}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
