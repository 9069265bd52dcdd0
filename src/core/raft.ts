import { isVoter } from '../confchange/confchange.js';
import { encodeMembership } from '../confchange/encoding.js';
import { JointConfig } from '../quorum/joint.js';
import { Progress } from '../progress/progress.js';
import { InvalidConfigError, ProposalDroppedError } from '../errors.js';
import { assert, assertNever } from '../util/assert.js';
import type { ResolvedConfig } from './config.js';
import { ConfigHistory } from './config-history.js';
import { campaign, handleVoteRequest, handleVoteResponse } from './election.js';
import { handleAppendEntries, handleHeartbeat, handleInstallSnapshot } from './follower.js';
import type { Message } from './message.js';
import { isLeaderMessage } from './message.js';
import { RaftLog } from './raft-log.js';
import { ReadIndexTracker } from './read-index.js';
import type { ReadState } from './read-index.js';
import { replicatedMembers, trackMembers } from './membership.js';
import { handleReadIndexRequest } from './reads.js';
import { bcastAppend, bcastHeartbeat, handleAppendResponse, handleHeartbeatResponse, maybeCommit } from './replication.js';
import { entrySizeBytes } from './types.js';
import type { Entry, EntryType, HardState, Index, Membership, NodeId, Role, SnapshotMeta, SoftState, Term } from './types.js';

/** Distributes a message's fields except the envelope, which {@link Raft.send} fills in. */
export type Outgoing = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'term'> & { term?: Term } : never) : never;

/**
 * The Raft state machine of one node: roles, terms, votes, the log and, on the
 * leader, replication progress. Synchronous and free of I/O: inputs are
 * `tick()` and `step()`, outputs accumulate in `messages` and `readStates`
 * and in the log's unstable part until {@link RawNode} hands them out.
 *
 * Handlers for each concern live in their own modules (election, follower,
 * replication, reads) as functions over this object.
 */
export class Raft {
  readonly id: NodeId;
  readonly config: ResolvedConfig;
  readonly log: RaftLog;

  /** Invariant: never decreases. */
  term: Term;
  /** The candidate voted for in `term`; at most one per term. */
  vote: NodeId | null;
  role: Role = 'follower';
  leader: NodeId | null = null;
  /** The configurations in this node's log; the newest is in force from the moment its entry is appended (dissertation §4.1). */
  readonly configs: ConfigHistory;
  /** The quorums of the configuration in force: majorities of both halves while it is joint. */
  quorum: JointConfig;
  /** Replication progress of every member — voters of both halves and learners (meaningful on the leader only). */
  progress = new Map<NodeId, Progress>();
  /** Votes received in the current (pre-)campaign. */
  readonly votes = new Map<NodeId, boolean>();

  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Ticks since this node started: the timeline of the read lease. */
  ticks = 0;
  /** Drawn from [electionTicks, 2·electionTicks) on every term change and election. */
  randomizedElectionTimeout = 0;

  /** Messages produced and not yet handed out in a Ready. */
  messages: Message[] = [];
  readStates: ReadState[] = [];
  reads: ReadIndexTracker;
  /** Reads that arrived before this leader committed an entry of its term (§6.4: they must wait). */
  readsBeforeCommit: { requestId: string; from: NodeId }[] = [];
  /** Payload bytes of entries appended by this leader and not yet applied. */
  uncommittedBytes = 0;
  /** On the leader: the node leadership is being handed to, or null. */
  leadTransferee: NodeId | null = null;

  constructor(config: ResolvedConfig) {
    this.id = config.id;
    this.config = config;
    const storage = config.storage;
    const { hardState, membership } = storage.initialState();
    const snapshotIndex = storage.firstIndex() - 1;
    // Configuration is part of the log: the snapshot's, then every config entry after it (§4.1).
    this.configs = ConfigHistory.fromStorage(storage, {
      index: snapshotIndex,
      membership: membership ?? { voters: config.voters, learners: config.learners },
    });
    this.quorum = this.quorumOf(this.configs.current().membership);
    const applied = config.applied ?? snapshotIndex;
    // Applied entries must exist in the stored log (or its snapshot); they are committed by definition.
    if (applied < snapshotIndex || applied > storage.lastIndex()) {
      throw new InvalidConfigError('applied', `${applied} is outside the stored log [snapshot ${snapshotIndex}, last index ${storage.lastIndex()}]`);
    }
    this.log = new RaftLog(storage, hardState.commit, applied, (entries) => this.onLogAppend(entries));
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.reads = this.newReadTracker();
    this.becomeFollower(this.term, null);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader };
  }

  /** The configuration in force. */
  get membership(): Membership {
    return this.configs.current().membership;
  }

  /**
   * This node may campaign: it is a voter of the configuration in force (of
   * either half while joint) — or it was a voter before an uncommitted
   * configuration that leaves it out. Until that configuration commits the
   * node may still be needed to commit it: a leader that removed itself and
   * lost leadership holds the entry that the others lack, so only it can win
   * (dissertation §4.2.2, Figure 4.6). It counts votes with its latest configuration.
   */
  promotable(): boolean {
    if (this.quorum.has(this.id)) return true;
    const previous = this.configs.beforePending(this.log.committed);
    return previous !== null && isVoter(previous, this.id);
  }

  /** Queues a message, filling in the sender and (unless given) the current term. Messages are fresh literals, so they are completed in place. */
  send(message: Outgoing): void {
    const full = message as { from?: NodeId; term?: Term } & Outgoing;
    full.from = this.id;
    full.term ??= this.term;
    if (full.to === this.id) assert(false, `raft ${this.id}: ${full.type} addressed to itself`);
    this.messages.push(full as Message);
  }

  // ---- role transitions -------------------------------------------------

  becomeFollower(term: Term, leader: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leader = leader;
  }

  /** PreVote phase: neither the term nor the vote changes (dissertation §9.6). */
  becomePreCandidate(): void {
    assert(this.role !== 'leader', `raft ${this.id}: leader cannot become pre-candidate`);
    this.role = 'preCandidate';
    this.leader = null;
    this.votes.clear();
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', `raft ${this.id}: leader cannot become candidate`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomeLeader(): void {
    assert(this.role === 'candidate', () => `raft ${this.id}: becomeLeader from ${this.role}`);
    this.reset(this.term);
    this.role = 'leader';
    this.leader = this.id;
    const self = this.progress.get(this.id);
    assert(self !== undefined, `raft ${this.id}: leader is not a voter`);
    // The leader counts itself only for what is durable (etcd#14370): entries still being written count once advance() reports them.
    self.maybeUpdate(this.log.persistedIndex());
    self.becomeReplicate();
    // §5.4.2 / §8: a no-op of the new term lets the leader commit, and so learn the commit index.
    this.appendEntries([new Uint8Array(0)], true);
    bcastAppend(this);
  }

  private reset(term: Term): void {
    if (term !== this.term) {
      assert(term > this.term, () => `raft ${this.id}: term would go back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
    this.votes.clear();
    this.progress = new Map();
    // Nodes an uncommitted change removes are still replicated to, so that they learn of their removal (see trackMembers).
    for (const id of replicatedMembers(this)) {
      this.progress.set(id, new Progress(this.log.lastIndex() + 1, this.config.maxInflightMsgs, this.config.maxInflightBytes));
    }
    this.reads = this.newReadTracker();
    this.readsBeforeCommit = [];
    this.uncommittedBytes = 0;
    this.leadTransferee = null;
  }

  // ---- inputs -----------------------------------------------------------

  private newReadTracker(): ReadIndexTracker {
    return new ReadIndexTracker(this.id, this.config.electionTicks - this.config.maxClockDriftTicks);
  }

  /**
   * True while this leader holds a read lease: a quorum acknowledged a
   * heartbeat sent less than `electionTicks - maxClockDriftTicks` ticks ago,
   * so no other leader can have been elected since (that needs CheckQuorum,
   * which makes followers ignore votes for an election timeout after hearing
   * from a leader). Never during a leadership transfer.
   */
  leaseValid(): boolean {
    if (this.role !== 'leader' || !this.config.checkQuorum || this.leadTransferee !== null) return false;
    if (this.quorum.isSoleQuorum(this.id)) return true;
    const start = this.reads.leaseStart();
    return start !== null && this.ticks < start + this.config.electionTicks - this.config.maxClockDriftTicks;
  }

  /** See `RawNode.quiesce`: no lease to trust, timeouts counted afresh. */
  quiesce(): void {
    this.reads.invalidateLease();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
  }

  tick(): void {
    this.ticks++;
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      // A transfer that has not completed within an election timeout is abandoned; proposals flow again.
      this.leadTransferee = null;
      if (this.config.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  /** CheckQuorum: true when a quorum answered during the last election timeout; starts a new round. */
  private checkQuorumActive(): boolean {
    const active = this.quorum.isQuorumActive((id) => id === this.id || this.progress.get(id)?.recentActive === true);
    for (const [id, progress] of this.progress) progress.recentActive = id === this.id;
    return active;
  }

  /** Starts an election now (with a pre-vote round when PreVote is on). */
  hup(): void {
    if (this.role === 'leader' || !this.promotable()) return;
    campaign(this, this.config.preVote ? 'preVote' : 'vote');
  }

  step(message: Message): void {
    if (!this.acceptTerm(message)) return;
    if (message.type === 'requestVote') {
      handleVoteRequest(this, message);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(message);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(message);
        return;
      case 'follower':
        this.stepFollower(message);
        return;
      default:
        assertNever(this.role, 'role');
    }
  }

  /**
   * The term rules that come before any handler (§5.1, dissertation §9.6).
   * Returns false when the message is done with (ignored or answered here).
   */
  private acceptTerm(message: Message): boolean {
    if (message.term > this.term) return this.acceptHigherTerm(message);
    if (message.term < this.term) {
      this.answerStaleTerm(message);
      return false;
    }
    return true;
  }

  private acceptHigherTerm(message: Message): boolean {
    if (message.type === 'requestVote') {
      // The lease of dissertation §4.2.3: a node that heard from a live leader within the election timeout ignores vote requests,
      // so a rejoining node cannot depose it. A campaign the leader itself asked for (leadership transfer) is the exception.
      // Without CheckQuorum a leader that lost its quorum could hold followers in this lease forever, so then it protects
      // only against candidates outside our configuration: removed nodes that never learned of their removal, and that no
      // PreVote holds back. Ignoring a vote request is always safe; one from a voter we do not know yet (our log is behind)
      // waits until the leader has brought us up to date.
      const heardFromLeader = this.leader !== null && this.electionElapsed < this.config.electionTicks && message.transfer !== true;
      if (heardFromLeader && (this.config.checkQuorum || !this.quorum.has(message.from))) return false;
      // A pre-vote asks about a future term; answering it changes nothing here.
      if (message.preVote) return true;
    }
    // A granted pre-vote echoes the term we would campaign in: not a reason to adopt it.
    if (message.type === 'requestVoteResponse' && message.preVote && message.granted) return true;
    this.becomeFollower(message.term, isLeaderMessage(message) ? message.from : null);
    return true;
  }

  /**
   * A message from an older term is answered with our term (Figure 2: every reply carries currentTerm), so that its sender
   * catches up. A leader learns that it was deposed; a node at a stale term that we cannot reach otherwise learns the new
   * one. That matters after configuration changes, when nodes disagree on who votes: a member a step behind (say a
   * learner that still takes itself for a voter) may campaign to a higher term that the others ignore (see
   * acceptHigherTerm); without our answer its leader would never learn that term, nor could it ever reach the node. With
   * CheckQuorum or PreVote a node may also keep a higher term than a leader it was cut off from: the answer makes that
   * leader step down (etcd's fix for a stuck cluster). A stale pre-candidate learns our term too (etcd#8243: otherwise it
   * can deadlock).
   */
  private answerStaleTerm(message: Message): void {
    if (message.type === 'appendEntries' || message.type === 'heartbeat') {
      this.send({ type: 'appendEntriesResponse', to: message.from, success: false, index: 0, hintIndex: 0, hintTerm: 0 });
    } else if (message.type === 'requestVote') {
      this.send({ type: 'requestVoteResponse', to: message.from, preVote: message.preVote, granted: false });
    }
  }

  private stepLeader(message: Message): void {
    switch (message.type) {
      case 'appendEntriesResponse':
        handleAppendResponse(this, message);
        return;
      case 'heartbeatResponse':
        handleHeartbeatResponse(this, message);
        return;
      case 'readIndex':
        handleReadIndexRequest(this, message.requestId, message.from);
        return;
      case 'appendEntries':
      case 'heartbeat':
      case 'installSnapshot':
        assert(false, () => `raft ${this.id}: two leaders in term ${this.term}: ${message.from} sent ${message.type}`);
        return;
      case 'requestVoteResponse':
      case 'readIndexResponse':
      case 'requestVote':
      case 'timeoutNow':
        return;
      default:
        assertNever(message, 'message');
    }
  }

  private stepCandidate(message: Message): void {
    if (isLeaderMessage(message)) {
      // A leader exists in our term: stand down and take its message as a follower.
      this.becomeFollower(this.term, message.from);
      this.stepFollower(message);
    } else if (message.type === 'requestVoteResponse') {
      handleVoteResponse(this, message);
    }
  }

  private stepFollower(message: Message): void {
    if (isLeaderMessage(message)) {
      this.electionElapsed = 0;
      this.leader = message.from;
    }
    switch (message.type) {
      case 'appendEntries':
        handleAppendEntries(this, message);
        return;
      case 'heartbeat':
        handleHeartbeat(this, message);
        return;
      case 'installSnapshot':
        handleInstallSnapshot(this, message);
        return;
      case 'readIndexResponse':
        this.readStates.push({ requestId: message.requestId, index: message.index });
        return;
      case 'timeoutNow':
        // The leader hands leadership to us: campaign now, skipping PreVote (the leader vouches for us).
        if (this.promotable()) campaign(this, 'transfer');
        return;
      default:
        return;
    }
  }

  // ---- leader helpers ---------------------------------------------------

  /**
   * Appends entries of this leader's term. Rejects with {@link ProposalDroppedError}
   * when the uncommitted-bytes cap would be exceeded (the no-op bypasses it).
   */
  appendEntries(payloads: readonly Uint8Array[], bypassCap = false, type: EntryType = 'normal'): { firstIndex: Index; lastIndex: Index } {
    assert(this.role === 'leader', () => `raft ${this.id}: append as ${this.role}`);
    const firstIndex = this.log.lastIndex() + 1;
    const entries: Entry[] = payloads.map((data, i) => ({ index: firstIndex + i, term: this.term, type, data }));
    const bytes = entries.reduce((sum, entry) => sum + entry.data.byteLength, 0);
    // An empty backlog always accepts one proposal, however large, so a big entry cannot be refused forever.
    if (!bypassCap && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.config.maxUncommittedBytes) {
      throw new ProposalDroppedError(`uncommitted entries would exceed ${this.config.maxUncommittedBytes} bytes`);
    }
    this.uncommittedBytes += bytes;
    const lastIndex = this.log.append(entries);
    return { firstIndex, lastIndex };
  }

  /**
   * Leader: appends a config entry installing `membership`. It takes effect at
   * once (this leader's quorums change now), so the caller must have checked
   * that no other change is uncommitted.
   */
  appendConfig(membership: Membership): Index {
    assert(this.configs.current().index <= this.log.committed, () => `raft ${this.id}: config change while ${this.configs.current().index} is uncommitted`);
    assert(this.committedInCurrentTerm(), () => `raft ${this.id}: config change before committing in term ${this.term}`);
    return this.appendEntries([encodeMembership(membership)], true, 'config').lastIndex;
  }

  /** True while a config entry of this node's log is not yet known to be committed. */
  configChangePending(): boolean {
    return this.configs.current().index > this.log.committed;
  }

  /** Replaces the log with a snapshot from the leader; its configuration replaces ours. */
  restoreSnapshot(snapshot: SnapshotMeta): void {
    this.log.restore(snapshot);
    this.configs.restore({ index: snapshot.index, membership: snapshot.membership });
    this.onConfigChanged();
  }

  /** Every batch written to the log passes here: a config entry takes effect as soon as it is in the log (§4.1). */
  private onLogAppend(entries: readonly Entry[]): void {
    if (this.configs.append(entries)) this.onConfigChanged();
  }

  private quorumOf(membership: Membership): JointConfig {
    return new JointConfig(membership.voters, membership.outgoingVoters ?? []);
  }

  /**
   * The configuration in force changed (an entry appended or truncated, a
   * snapshot installed). A leader starts tracking new members and forgets
   * departed ones; its read lease is void, since the quorum that granted it
   * may no longer be a quorum.
   */
  private onConfigChanged(): void {
    this.quorum = this.quorumOf(this.membership);
    if (this.role === 'leader') trackMembers(this);
  }

  /** True when `id` is a voter of the configuration in force. */
  isVoter(id: NodeId): boolean {
    return isVoter(this.membership, id);
  }

  /** Called when the runtime reports entries applied: they no longer count as uncommitted backlog. */
  reduceUncommitted(applied: readonly Entry[]): void {
    if (this.role !== 'leader') return;
    let bytes = 0;
    for (const entry of applied) bytes += entry.data.byteLength;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /** Called after the runtime made the log durable up to `log.persistedIndex()`: the leader may now count itself. */
  onPersisted(): void {
    if (this.role !== 'leader') return;
    // A leader that appended a configuration without itself no longer counts toward any quorum (§4.2.2).
    const self = this.progress.get(this.id);
    if (self === undefined) return;
    if (self.maybeUpdate(this.log.persistedIndex()) && maybeCommit(this) && this.role === 'leader') bcastAppend(this);
  }

  /** True once this leader has committed an entry of its own term (required before serving reads). */
  committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Sum of entry sizes, for flow control. */
  static sizeOf(entries: readonly Entry[]): number {
    let bytes = 0;
    for (const entry of entries) bytes += entrySizeBytes(entry);
    return bytes;
  }
}
