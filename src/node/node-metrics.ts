import type { CoreReader } from '../core/raw-node.js';
import type { Index, NodeId, Role, Term } from '../core/types.js';

/**
 * A cheap snapshot of a node's numbers, from {@link RaftNode.metrics}, for a
 * monitoring exporter to read on every scrape. Unlike {@link RaftNode.status}
 * it copies no membership lists; its cost is one map entry per peer on the
 * leader and nothing per peer elsewhere.
 *
 * Everything here is a gauge (a value now). Counts of things that happened
 * (proposals, reads, snapshots) are the caller's to keep, from the promises
 * it awaits and the node's events (`snapshot`, `snapshotFailed`, `role`).
 */
export interface NodeMetrics {
  /** The node's role; `stopped` after `close()` or a fatal failure. */
  readonly role: Role | 'stopped';
  /** The current term. */
  readonly term: Term;
  /** The known leader, or null (none known, or the node stopped). */
  readonly leader: NodeId | null;
  /** The highest log index known to be committed. */
  readonly commitIndex: Index;
  /** The highest log index applied to the state machine on this node. */
  readonly appliedIndex: Index;
  /** The first index still in the log; entries before it are covered by a snapshot. */
  readonly firstIndex: Index;
  /** The last index in the log (durable or about to be written). */
  readonly lastIndex: Index;
  /** Proposals made on this node that have not settled (bounded by `limits.maxPendingProposals`). */
  readonly pendingProposals: number;
  /** Read barriers waiting on this node (bounded by `limits.maxPendingReads`). */
  readonly pendingReads: number;
  /**
   * On the leader: for every other member (voters and learners), how many
   * entries of the leader's log it is known not to have, `lastIndex - matchIndex`.
   * A peer that keeps up reads 0 or a few entries in flight; one that is
   * down or catching up grows. Empty on every other role.
   */
  readonly replicationLag: ReadonlyMap<NodeId, number>;
}

/** What {@link nodeMetrics} reads: the core and the runtime's own counts. */
export interface NodeMetricsSource {
  readonly core: CoreReader;
  readonly running: boolean;
  readonly appliedIndex: Index;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  /** On the leader: ids that may be members (itself and former members allowed: only the ones the core tracks count). */
  peers(): Iterable<NodeId>;
}

const NO_LAG: ReadonlyMap<NodeId, number> = new Map();

/** Builds a {@link NodeMetrics} from a node's parts. A stopped node reports role `stopped`, no leader and no lag. */
export function nodeMetrics(source: NodeMetricsSource): NodeMetrics {
  const core = source.core;
  const lastIndex = core.lastIndex();
  const leading = source.running && core.role === 'leader';
  let replicationLag = NO_LAG;
  if (leading) {
    const lags = new Map<NodeId, number>();
    for (const peer of source.peers()) {
      if (peer === core.leader) continue;
      const match = core.matchIndex(peer);
      if (match !== undefined) lags.set(peer, Math.max(0, lastIndex - match));
    }
    replicationLag = lags;
  }
  return {
    role: source.running ? core.role : 'stopped',
    term: core.currentTerm,
    leader: source.running ? core.leader : null,
    commitIndex: core.commitIndex,
    appliedIndex: source.appliedIndex,
    firstIndex: core.firstIndex(),
    lastIndex,
    pendingProposals: source.pendingProposals,
    pendingReads: source.pendingReads,
    replicationLag,
  };
}
