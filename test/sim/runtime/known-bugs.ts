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
 * recorded it, the snapshot sender reading a snapshot retention deleted, and
 * a leader leaving a committed joint configuration while a leadership
 * transfer was under way: the core drops that proposal, and the runtime's
 * per-tick leave treated the drop as fatal.)
 */
export const FIXED_BUGS: readonly { readonly id: string; readonly seed: number; readonly options: RunOptions }[] = [
  { id: 'snapshot-index-race', seed: 18, options: { durationMs: 4000 } },
  { id: 'snapshot-index-race (snapshot pressure)', seed: 26, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'snapshot-store-ahead-of-log', seed: 2, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'snapshot-sender-read-throws', seed: 48, options: { durationMs: 6000, faults: ['crash', 'partition', 'ioError'], adjustParams: snapshotPressure } },
  { id: 'leave-joint-during-transfer', seed: 1191, options: { durationMs: 4000 } },
];

/**
 * A core node that stays at a higher term without a leader, while the other
 * core nodes follow a leader of a lower term: the liveness detail reads
 * `n5:-@113 n8:n12@111 …`.
 */
function strandedAtHigherTerm(report: RunReport): boolean {
  const detail = report.livenessFailure?.detail ?? '';
  if (!report.world.faults.includes('churn') || !detail.includes('no leader the core agrees on')) return false;
  const leaderless = [...detail.matchAll(/n\d+:-@(\d+)/g)].map((match) => Number(match[1]));
  const following = [...detail.matchAll(/n\d+:n\d+@(\d+)/g)].map((match) => Number(match[1]));
  return leaderless.length > 0 && following.length > 0 && Math.max(...leaderless) > Math.max(...following);
}

/** Known, reported, unfixed bugs. */
export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'churn-member-stranded-at-higher-term',
    summary:
      'Under membership churn (found with the churn fault, not yet diagnosed): after healing, one member (n5, a founder) stays at term 113 ' +
      'with no leader while the rest of the core follows n12 (a node that joined) at term 111; n5 receives n12\'s heartbeats but the ' +
      'trace shows no answer from n5 to n12, so n12 never learns the higher term and n5 never catches up. Suspects: the runtime ' +
      'forgetting a peer (transport.removePeer) on a configuration applied during replay or from a stale view, so that n5 drops or ' +
      'cannot answer n12; or answerStaleTerm not reaching a leader that n5 does not know as a member.',
    matches: strandedAtHigherTerm,
    seed: 1186,
    options: { durationMs: 20_000 },
  },
];

/** The known bug a failing report shows, if any. */
export function knownBugOf(report: RunReport): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.matches(report));
}
