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

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** Leader → follower: entries following (prevLogIndex, prevLogTerm), and the leader's commit index (Figure 2). */
export interface AppendEntries extends Envelope {
  readonly type: 'appendEntries';
  readonly prevLogIndex: Index;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
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
  readonly type: 'appendEntriesResponse';
  readonly success: boolean;
  readonly index: Index;
  readonly hintIndex: Index;
  readonly hintTerm: Term;
}

/**
 * Leader → follower, every heartbeat interval. `commit` is min(the follower's
 * match, the leader's commit), so it never names an entry the follower might
 * not hold. `readRound` numbers this heartbeat round; the answer echoes it, which
 * confirms pending ReadIndex reads and the leader's read lease.
 */
export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: Index;
  readonly readRound: number;
}

/** Follower → leader: the heartbeat was accepted in this term; echoes its `readRound`. */
export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeatResponse';
  readonly readRound: number;
}

/**
 * Candidate → voter (§5.2), or pre-candidate → voter when `preVote` is set
 * (dissertation §9.6). A pre-vote carries the term the sender would campaign
 * in (its term + 1) without having adopted it.
 */
export interface RequestVote extends Envelope {
  readonly type: 'requestVote';
  readonly preVote: boolean;
  readonly lastLogIndex: Index;
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
  readonly type: 'requestVoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

/**
 * Leader → follower whose next entry the leader has compacted away. Carries
 * only the snapshot's metadata: the runtime moves the snapshot's bytes (in
 * chunks) and steps this message into the follower's core once they are stored.
 */
export interface InstallSnapshot extends Envelope {
  readonly type: 'installSnapshot';
  readonly snapshot: SnapshotMeta;
}

/** Follower → leader: asks for a read index on behalf of a local linearizable read. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'readIndex';
  readonly requestId: string;
}

/** Leader → follower: the read index for `requestId`, once the leader confirmed it was still leader. */
export interface ReadIndexResponse extends Envelope {
  readonly type: 'readIndexResponse';
  readonly requestId: string;
  readonly index: Index;
}

/**
 * Leader → the follower it hands leadership to, once that follower's log is
 * up to date: campaign now, without waiting for an election timeout.
 */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeoutNow';
}

/** Message types a leader sends in its term; receiving one of them tells a node who the leader is. */
export function isLeaderMessage(message: Message): message is AppendEntries | Heartbeat | InstallSnapshot {
  return message.type === 'appendEntries' || message.type === 'heartbeat' || message.type === 'installSnapshot';
}
