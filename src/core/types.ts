/**
 * Plain data types shared by the core, storage, runtime and simulator.
 *
 * Indexes and terms are non-negative safe integers. Index 0 and term 0 stand
 * for "before the first entry": an empty log has lastIndex 0 and term(0) = 0.
 */

/** A node's identity: a non-empty string, unique within a cluster. */
export type NodeId = string;

/** A Raft term (§5.1). Starts at 0 and never decreases on a node. */
export type Term = number;

/** A position in the replicated log. The first entry has index 1. */
export type Index = number;

/**
 * The kind of a log entry: `normal` carries a command for the state machine
 * (or nothing: a leader's no-op); `config` carries a cluster configuration
 * (see {@link Membership}) that takes effect as soon as the entry is in a log.
 */
export type EntryType = 'normal' | 'config';

/**
 * One replicated log entry.
 *
 * An entry with empty `data` is a no-op: a new leader appends one so that it
 * can commit an entry of its own term (§5.4.2 and §8 of the Raft paper).
 */
export interface Entry {
  /** The entry's position in the log (the first entry has index 1). */
  readonly index: Index;
  /** The term of the leader that created the entry. */
  readonly term: Term;
  /** Whether `data` is a command (`normal`) or an encoded configuration (`config`). */
  readonly type: EntryType;
  /** The command bytes, empty for a leader's no-op; for `config` the encoded {@link Membership}. */
  readonly data: Uint8Array;
}

/**
 * The state that must be durable before a node answers anyone (Figure 2:
 * "updated on stable storage before responding to RPCs"). `commit` is kept
 * too so that a restarted node can apply without waiting for a leader; losing
 * it is safe (it is recomputed), but it never goes backwards while stored.
 */
export interface HardState {
  /** The latest term this node has seen (Figure 2 `currentTerm`). */
  readonly term: Term;
  /** The candidate this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** The highest index known to be committed when this state was saved. */
  readonly commit: Index;
}

/**
 * A cluster configuration (Raft dissertation §4.3).
 *
 * - `voters` elect leaders and form commit quorums (a majority of them).
 * - `learners` receive the log but neither vote nor count toward any quorum.
 * - While a change of several voters is under way the configuration is
 *   *joint*: `outgoingVoters` lists the voters of the configuration being left
 *   and every decision needs a majority of `voters` **and** a majority of
 *   `outgoingVoters`. Absent or empty means not joint.
 * - `autoLeave` (joint only): the leader leaves the joint configuration by
 *   itself once it is committed; otherwise the application asks for it.
 *
 * A node is in at most one of `voters` and `learners`; a learner is never an
 * outgoing voter.
 */
export interface Membership {
  /** The voters: they elect leaders, and a majority of them commits entries. */
  readonly voters: readonly NodeId[];
  /** Non-voting members that receive the log; absent means none. */
  readonly learners?: readonly NodeId[];
  /** While joint: the voters of the configuration being left; absent or empty means not joint. */
  readonly outgoingVoters?: readonly NodeId[];
  /** Joint only: the leader leaves the joint configuration by itself once it is committed. */
  readonly autoLeave?: boolean;
}

/** What identifies a snapshot: the last log position it covers and the membership at that point. */
export interface SnapshotMeta {
  /** The last log index the snapshot covers. */
  readonly index: Index;
  /** The term of the entry at `index`. */
  readonly term: Term;
  /** The configuration in force at `index`. */
  readonly membership: Membership;
}

/** The four roles of a Raft node; `preCandidate` is the PreVote phase (dissertation §9.6). */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** State that is useful to observe but need not be persisted. */
export interface SoftState {
  /** The node's current role. */
  readonly role: Role;
  /** The leader this node currently follows (itself when leader), or null when unknown. */
  readonly leader: NodeId | null;
}

/** The hard state of a node that has never run: term 0, no vote, nothing committed. */
export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

/** True when two hard states are equal field by field. */
export function hardStateEquals(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** True when the hard state carries nothing (a node that has never run). */
export function isEmptyHardState(state: HardState): boolean {
  return hardStateEquals(state, EMPTY_HARD_STATE);
}

/** Bytes an entry counts for in size limits: its payload plus a fixed overhead for index, term and type. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/** The fixed per-entry overhead counted by {@link entrySizeBytes}. */
export const ENTRY_OVERHEAD_BYTES = 24;
