/**
 * Coverage marks ("sometimes" assertions, FoundationDB's CODE_PROBE): how
 * often each interesting situation happened in a run. A swarm that never
 * reaches a situation cannot find the bugs that hide there, so reports show
 * these counters and the swarm test requires the important ones to be hit.
 */

/** Every coverage mark, in report order. */
export const COVERAGE_MARKS = [
  'leaderElected',
  'leaderChanged',
  'conflictTruncated',
  'unsyncedWriteLost',
  'unsyncedWriteSurvived',
  'snapshotTaken',
  'snapshotTransferred',
  'readServed',
  'readServedOnFollower',
  'readDuringPartition',
  'leaseReadServed',
  'proposalForwarded',
  'transferStarted',
  'transferCompleted',
  'crash',
  'restart',
  'pause',
  'partition',
  'clog',
  'ioErrorStopped',
  'messageDuplicated',
  'messageDropped',
  'clientOk',
  'clientUnknown',
  'clientRetried',
  'nodeJoined',
  'learnerAdded',
  'voterAdded',
  'memberRemoved',
  'leaderRemoved',
  'memberReplaced',
  'leaderReplaced',
  'jointEntered',
  'jointLeft',
  'changeRefused',
  'changeSkipped',
  // The windows where known Raft bugs bite (Raft notes §4); a swarm that never opens one cannot find its bug.
  /** Bug 4: a node crashed while its vote for another node was not yet durable. */
  'votedThenCrashedUnsynced',
  /** Bug 7: a leader crashed with entries a follower had acknowledged still unsynced on its own disk. */
  'leaderCrashedAckedUnsynced',
  /** Bug 8: a pre-candidate received a pre-vote answer of a higher term. */
  'preCandidateSawHigherTerm',
  /** Bug 10: a leader's snapshot left more log behind than keepEntries: a snapshot being sent bounded the compaction. */
  'compactionHeldBack',
] as const;

/** The name of one coverage mark. */
export type CoverageMark = (typeof COVERAGE_MARKS)[number];

/** Counters of every mark. */
export type Coverage = Record<CoverageMark, number>;

/** All counters at zero, in {@link COVERAGE_MARKS} order. */
export function emptyCoverage(): Coverage {
  const coverage = {} as Coverage;
  for (const mark of COVERAGE_MARKS) coverage[mark] = 0;
  return coverage;
}

/** Adds `more` into `total`. */
export function addCoverage(total: Coverage, more: Readonly<Coverage>): void {
  for (const mark of COVERAGE_MARKS) total[mark] += more[mark];
}

/** The marks a set of runs never hit. */
export function missedMarks(coverage: Readonly<Coverage>): CoverageMark[] {
  return COVERAGE_MARKS.filter((mark) => coverage[mark] === 0);
}
