/**
 * Coverage marks of the multi-group world, beside the single-group marks
 * (coverage.ts), which it counts too: what is new with hosts and groups.
 * A swarm that never reaches one of these cannot find the bugs hiding there.
 */

/** Every multi-group coverage mark, in report order. */
export const HOST_COVERAGE_MARKS = [
  /** A group quiesced (its leader on idleness, or a follower on its leader's notice). */
  'groupQuiesced',
  /** A client's proposal or read reached a quiesced replica, which woke. */
  'wokenByProposal',
  /** A peer's message for a quiesced group reached its replica, which woke. */
  'wokenByMessage',
  /** A quiesced follower woke because its leader's host fell silent (host-level liveness). */
  'wokenByLeaderSilence',
  /** A batch between two hosts carried the heartbeats (or their answers) of two groups or more. */
  'heartbeatsCoalesced',
  /** A host crashed while it led a quiesced group. */
  'leaderHostLostWhileQuiesced',
  /** A host crashed, taking every replica it held down. */
  'hostCrashed',
  /** A host paused, every replica it held with it. */
  'hostPaused',
  /** One group's disk failed on a host whose other groups ran on. */
  'groupDiskFailed',
  /** A host restarted and reopened every group it held from its disks. */
  'hostReopenedGroups',
  /** Rebalance worlds (sim-rebalance.ts): the sharded service's layout changed (a host joined or left it). */
  'layoutChanged',
  /** A host's rebalancer completed a move: a replica added (learner caught up and promoted) or an old one removed. */
  'rebalanceMoved',
  /** Such a move completed while a fault was active (a host down or paused, a partition, a replica stopped on its disk). */
  'rebalanceMovedDuringFault',
  /** A host dropped its replica of a group after the replica applied its removal (or was told of it). */
  'replicaDroppedAfterRemoval',
  /** A host dropped a replica that learned of its removal from a member's not-a-member notice, not from its own log. */
  'replicaDroppedAfterNotice',
  /** A host's safe drop refused to delete a removed replica (a leader appended to it since it was marked) and started it again. */
  'replicaDropRefused',
] as const;

/** The name of one multi-group coverage mark. */
export type HostCoverageMark = (typeof HOST_COVERAGE_MARKS)[number];

/** Counters of every multi-group mark. */
export type HostCoverage = Record<HostCoverageMark, number>;

/** All counters at zero. */
export function emptyHostCoverage(): HostCoverage {
  const coverage = {} as HostCoverage;
  for (const mark of HOST_COVERAGE_MARKS) coverage[mark] = 0;
  return coverage;
}

/** Adds `more` into `total`. */
export function addHostCoverage(total: HostCoverage, more: Readonly<HostCoverage>): void {
  for (const mark of HOST_COVERAGE_MARKS) total[mark] += more[mark];
}
