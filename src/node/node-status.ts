import type { FollowerStatus, RaftStatus } from '../core/raw-node.js';
import type { Index, NodeId, Role, Term } from '../core/types.js';
import type { RemovalMark } from './membership/known-members.js';

/** A node's state, from {@link RaftNode.status}. */
export interface NodeStatus {
  /** The node's id. */
  readonly id: NodeId;
  /** `stopped` after `close()` or a fatal failure. */
  readonly role: Role | 'stopped';
  /** The node's current term. */
  readonly term: Term;
  /** The leader this node follows (itself when leader), or null when unknown or stopped. */
  readonly leader: NodeId | null;
  /** The highest log index known to be committed. */
  readonly commitIndex: Index;
  /** The highest log index applied to the state machine on this node. */
  readonly appliedIndex: Index;
  /** The voters of the configuration in force (its incoming half while joint). */
  readonly members: readonly NodeId[];
  /** Non-voting members: they receive the log but do not vote. */
  readonly learners: readonly NodeId[];
  /** While a change of several voters is under way: the voters of the configuration being left; otherwise null. */
  readonly joint: {
    /** The voters of the configuration being left. */
    readonly outgoingVoters: readonly NodeId[];
  } | null;
  /** Log index of the entry that installed the configuration in force. */
  readonly configIndex: Index;
  /**
   * True while this node knows it was removed: it applied a configuration
   * that removed it, or a member's host told it that a committed
   * configuration leaves it out. It does not tick (see the `removed` event);
   * a configuration that lists it again clears this.
   */
  readonly removed: boolean;
  /** True when {@link NodeStatus.removed} comes from a member's notice rather than from a configuration this node applied. */
  readonly removedByNotice: boolean;
  /** On the leader: every voter's replication progress. */
  readonly progress: ReadonlyMap<NodeId, FollowerStatus>;
}

/**
 * Builds a node's public status from the core's full status and the runtime's
 * own state. A node that is not running reports the role `stopped` and no
 * leader, whatever its core last knew.
 */
export function nodeStatus(core: RaftStatus, running: boolean, appliedIndex: Index, removal: RemovalMark | null): NodeStatus {
  return {
    id: core.id,
    role: running ? core.role : 'stopped',
    term: core.term,
    leader: running ? core.leader : null,
    commitIndex: core.commitIndex,
    appliedIndex,
    members: core.voters,
    learners: core.membership.learners ?? [],
    joint: core.joint ? { outgoingVoters: core.membership.outgoingVoters ?? [] } : null,
    configIndex: core.configIndex,
    removed: removal !== null,
    removedByNotice: removal?.cause === 'notice',
    progress: core.progress,
  };
}
