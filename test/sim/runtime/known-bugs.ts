/**
 * Bugs in `src/` that the runtime simulator found and that are not fixed
 * yet. Each entry says how to recognise its finding in a report and which
 * seed reproduces it. the CI swarm (`swarm.ts`) tolerates findings that match an entry
 * (and prints them); anything else fails it. `known-bugs.test.ts` replays
 * each seed and expects the bug to still be there: once a fix lands, that
 * test fails — delete the entry, and the swarm becomes strict about it again.
 */
import type { RunOptions, RunReport } from '../../../sim/runtime/run.js';
import type { WorldParams } from '../../../sim/world/params.js';

/** A known, reported, unfixed bug. */
export interface KnownBug {
  readonly id: string;
  /** What is wrong, in one sentence. */
  readonly summary: string;
  /** True when a report's finding is this bug. */
  matches(report: RunReport): boolean;
  /** A seed and options that reproduce it. */
  readonly seed: number;
  readonly options: RunOptions;
}

/** Snapshots every 10 entries, no log kept behind them, faults every 150 ms: snapshot transfers race with everything. */
export const snapshotPressure = (params: WorldParams): WorldParams => ({
  ...params,
  snapshotEntries: 10,
  keepEntries: 0,
  faultIntervalMsMean: 150,
  disk: { ...params.disk, latencyMsMin: 1, latencyMsMax: 8 },
});

/**
 * Runs that once reproduced bugs in src/, now fixed; each must stay clean.
 * (The snapshot-index race, a received snapshot committed before the log
 * recorded it, the snapshot sender reading a snapshot retention deleted, a
 * leader leaving a committed joint configuration while a leadership
 * transfer was under way — the core drops that proposal, and the runtime's
 * per-tick leave treated the drop as fatal — and removed nodes disrupting
 * the cluster under churn.) Each must run without violation and without a
 * liveness failure.
 */
export const FIXED_BUGS: readonly { readonly id: string; readonly seed: number; readonly options: RunOptions }[] = [
  { id: 'snapshot-index-race', seed: 18, options: { durationMs: 4000 } },
  { id: 'snapshot-index-race (snapshot pressure)', seed: 26, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'snapshot-store-ahead-of-log', seed: 2, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'snapshot-sender-read-throws', seed: 48, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'leave-joint-during-transfer', seed: 1191, options: { durationMs: 4000 } },
  // Without PreVote and CheckQuorum, removed nodes that never learned of their removal campaigned at ever higher terms and
  // deposed every leader; a member stranded at such a term was never answered. Now members ignore vote requests from
  // outside their configuration while they hear from a leader, and answer every stale request with their term.
  { id: 'churn-member-stranded-at-higher-term', seed: 1186, options: { durationMs: 20_000 } },
  // Not Keel's bug but the checker's (src/testing/invariants.ts): it held a leader of term 27, still acting, to an entry
  // that a leader of term 28 committed meanwhile. Leader Completeness binds leaders of later terms only.
  { id: 'checker-stale-leader-completeness', seed: 1581, options: { durationMs: 20_000 } },
];

/** Known, reported, unfixed bugs. */
export const KNOWN_BUGS: readonly KnownBug[] = [];

/** The known bug a failing report shows, if any. */
export function knownBugOf(report: RunReport): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.matches(report));
}
