import type { Entry, Index, NodeId, SnapshotMeta, Term } from './types.js';

/**
 * The messages Raft nodes exchange. Every message carries the sender's term;
 * a node that sees a higher term adopts it (§5.1), with the PreVote and
 * CheckQuorum exceptions of dissertation §9.6.
 */
export type Message =
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | RequestVote
  | RequestVoteResponse
  | InstallSnapshot
  | ReadIndexRequest
  | ReadIndexResponse
  | TimeoutNow;

/** The type tag of every message. */
export type MessageType = Message['type'];

/** The fields every message carries. */
interface Envelope {
  /** The sender. */
  readonly from: NodeId;
  /** The recipient. */
  readonly to: NodeId;
  /** The sender's current term (for a pre-vote request: the term it would campaign in). */
  readonly term: Term;
}

/** Leader → follower: entries following (prevLogIndex, prevLogTerm), and the leader's commit index (Figure 2). */
export interface AppendEntries extends Envelope {
  /** The message tag. */
  readonly type: 'appendEntries';
  /** Index of the log entry immediately preceding `entries`. */
  readonly prevLogIndex: Index;
  /** Term of the entry at `prevLogIndex`; the follower rejects the append unless its own entry there has this term (Log Matching, §5.3). */
  readonly prevLogTerm: Term;
  /** The entries to store, consecutive from `prevLogIndex + 1`; empty for a probe. */
  readonly entries: readonly Entry[];
  /** The leader's commit index; the follower commits up to min(leaderCommit, the last entry this append verified). */
  readonly leaderCommit: Index;
}

/**
 * Follower → leader. On success `index` is the last index this append
 * verified. On rejection `index` is the rejected prevLogIndex and the hint
 * lets the leader skip back a whole term at once: `hintIndex` is the largest
 * index ≤ min(prevLogIndex, lastIndex) whose term is ≤ prevLogTerm, and
 * `hintTerm` is that entry's term (0 when unknown).
 */
export interface AppendEntriesResponse extends Envelope {
  /** The message tag. */
  readonly type: 'appendEntriesResponse';
  /** True when the follower's log matched at `prevLogIndex` and it stored the entries. */
  readonly success: boolean;
  /** On success the last index this append verified; on rejection the rejected `prevLogIndex`. */
  readonly index: Index;
  /** On rejection: the largest index ≤ min(prevLogIndex, lastIndex) whose term is ≤ prevLogTerm, where the leader may retry. */
  readonly hintIndex: Index;
  /** On rejection: the term of the entry at `hintIndex` (0 when unknown). */
  readonly hintTerm: Term;
}

/**
 * Leader → follower, every heartbeat interval. `commit` is min(the follower's
 * match, the leader's commit), so it never names an entry the follower might
 * not hold. `readRound` numbers this heartbeat round; the answer echoes it, which
 * confirms pending ReadIndex reads and the leader's read lease.
 */
export interface Heartbeat extends Envelope {
  /** The message tag. */
  readonly type: 'heartbeat';
  /** min(the follower's match index, the leader's commit index): an index the follower is known to hold. */
  readonly commit: Index;
  /** The number of this heartbeat round, echoed in the answer to confirm reads and the lease. */
  readonly readRound: number;
}

/** Follower → leader: the heartbeat was accepted in this term; echoes its `readRound`. */
export interface HeartbeatResponse extends Envelope {
  /** The message tag. */
  readonly type: 'heartbeatResponse';
  /** The `readRound` of the heartbeat this answers. */
  readonly readRound: number;
}

/**
 * Candidate → voter (§5.2), or pre-candidate → voter when `preVote` is set
 * (dissertation §9.6). A pre-vote carries the term the sender would campaign
 * in (its term + 1) without having adopted it.
 */
export interface RequestVote extends Envelope {
  /** The message tag. */
  readonly type: 'requestVote';
  /** True for a pre-vote (dissertation §9.6): the voter records nothing and the sender's term does not change. */
  readonly preVote: boolean;
  /** Index of the candidate's last log entry (§5.4.1 election restriction). */
  readonly lastLogIndex: Index;
  /** Term of the candidate's last log entry. */
  readonly lastLogTerm: Term;
  /**
   * Set when the candidate campaigns because the leader handed leadership to
   * it (TimeoutNow): voters then answer even if they heard from that leader
   * recently. Absent means false.
   */
  readonly transfer?: boolean;
}

/** Voter → (pre-)candidate. A granted pre-vote echoes the requested term; a rejection carries the voter's own term. */
export interface RequestVoteResponse extends Envelope {
  /** The message tag. */
  readonly type: 'requestVoteResponse';
  /** True when this answers a pre-vote request. */
  readonly preVote: boolean;
  /** True when the vote (or pre-vote) is granted. */
  readonly granted: boolean;
}

/**
 * Leader → follower whose next entry the leader has compacted away. Carries
 * only the snapshot's metadata: the runtime moves the snapshot's bytes (in
 * chunks) and steps this message into the follower's core once they are stored.
 */
export interface InstallSnapshot extends Envelope {
  /** The message tag. */
  readonly type: 'installSnapshot';
  /** The snapshot's last included index and term and its membership. */
  readonly snapshot: SnapshotMeta;
}

/** Follower → leader: asks for a read index on behalf of a local linearizable read. */
export interface ReadIndexRequest extends Envelope {
  /** The message tag. */
  readonly type: 'readIndex';
  /** The follower's identifier of the read, echoed in the response. */
  readonly requestId: string;
}

/** Leader → follower: the read index for `requestId`, once the leader confirmed it was still leader. */
export interface ReadIndexResponse extends Envelope {
  /** The message tag. */
  readonly type: 'readIndexResponse';
  /** The `requestId` of the request this answers. */
  readonly requestId: string;
  /** The read index: the follower may serve the read once it has applied up to here. */
  readonly index: Index;
}

/**
 * Leader → the follower it hands leadership to, once that follower's log is
 * up to date: campaign now, without waiting for an election timeout.
 */
export interface TimeoutNow extends Envelope {
  /** The message tag. */
  readonly type: 'timeoutNow';
}

/** Message types a leader sends in its term; receiving one of them tells a node who the leader is. */
export function isLeaderMessage(message: Message): message is AppendEntries | Heartbeat | InstallSnapshot {
  return message.type === 'appendEntries' || message.type === 'heartbeat' || message.type === 'installSnapshot';
}
