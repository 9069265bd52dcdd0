import type { RawNode } from '../core/raw-node.js';
import type { Index, NodeId, Term } from '../core/types.js';

/**
 * Quiescence of a replica on a multi-group host (docs/multi-raft.md): an idle
 * group stops ticking, so its leader stops heartbeating, until a proposal, a
 * read or a message wakes it. The host decides when; these checks say whether
 * the replica may. Only ticks stop: Raft's safety never depends on timing,
 * and `RawNode.quiesce` voids the read lease (counted in ticks) as the group
 * goes quiet.
 */

/** A leader's word to its followers that it quiesced at this point of its log. */
export interface QuiesceNotice {
  /** The leader that quiesced. */
  readonly leader: NodeId;
  readonly term: Term;
  /** Its last index, committed and applied there. */
  readonly index: Index;
}

/** What the runtime has outstanding besides the core: any of it keeps the replica awake. */
export interface OutstandingWork {
  /** The owner loop has inputs, a Ready or applies to finish. */
  readonly loopBusy: boolean;
  /** Proposals, reads or transfers made here and not settled; snapshots being sent or received. */
  readonly requests: boolean;
  readonly appliedIndex: Index;
}

/**
 * A leader may quiesce when nothing is left to do in its group: its term's
 * entry is committed, everything in its log is committed and applied, every
 * member (learners too) holds the whole log, no transfer or joint
 * configuration is in progress, and nothing waits in the runtime. Read-only:
 * the host calls it between turns to decide when to ask.
 */
export function leaderMayQuiesce(core: RawNode, work: OutstandingWork): boolean {
  if (core.role !== 'leader' || work.loopBusy || work.requests) return false;
  const last = core.lastIndex();
  if (core.commitIndex !== last || work.appliedIndex !== last || core.leadTransferee !== null) return false;
  // The leader's no-op (or a later entry of its term) ends the log: committed, so its term's entries are all known to be committed.
  if (core.term(last) !== core.currentTerm) return false;
  const status = core.status();
  if (status.joint) return false;
  for (const progress of status.progress.values()) {
    if (progress.match !== last) return false;
  }
  return true;
}

/**
 * A follower may quiesce on its leader's notice when it agrees: same term,
 * same leader, its log ends at the notice's index and all of it is committed
 * and applied, and nothing waits in the runtime. A follower that does not
 * agree stays awake; without heartbeats it times out, and its campaign wakes
 * the leader, which brings it up to date and quiesces again later.
 */
export function followerMayQuiesce(core: RawNode, notice: QuiesceNotice, work: OutstandingWork): boolean {
  if (core.role !== 'follower' || work.loopBusy || work.requests) return false;
  if (core.currentTerm !== notice.term || core.leader !== notice.leader) return false;
  const last = core.lastIndex();
  return last === notice.index && core.commitIndex === last && work.appliedIndex === last;
}
