import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import { isJoint } from '../confchange/confchange.js';
import { InvalidArgumentError, NotLeaderError, ProposalDroppedError, ProposalTooLargeError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { RaftConfig } from './config.js';
import { resolveConfig } from './config.js';
import type { Message } from './message.js';
import { isLeaderMessage } from './message.js';
import { Raft } from './raft.js';
import type { Ready } from './ready.js';
import { proposeConfChange, proposeLeaveJoint } from './membership.js';
import { handleReadIndexRequest } from './reads.js';
import { bcastAppend, maybeCommit } from './replication.js';
import { startTransfer } from './transfer.js';
import { validateMessage } from './validate-message.js';
import type { Entry, HardState, Index, Membership, NodeId, Role, SnapshotMeta, SoftState, Term } from './types.js';
import type { ProgressState } from '../progress/progress.js';

/**
 * The empty parts of a Ready, shared: a Ready's arrays are read-only (by type), and most of them are empty.
 * Not frozen: `for…of` over a frozen array took V8's slow path and allocated an iterator result per element.
 */
const NONE: readonly never[] = [];
const NO_MESSAGES = { messages: NONE, parallelMessages: NONE } as const;

/** Where a proposal landed in the leader's log. */
export interface ProposalReceipt {
  /** The leader's term when it appended the entries. */
  readonly term: Term;
  /** Index of the first appended entry. */
  readonly firstIndex: Index;
  /** Index of the last appended entry (equal to `firstIndex` for a single command). */
  readonly lastIndex: Index;
}

/** A leader's view of one follower, as reported by {@link RawNode.status}. */
export interface FollowerStatus {
  /** The highest index known to be replicated on the follower (Figure 2 matchIndex). */
  readonly match: Index;
  /** The index of the next entry to send to the follower (Figure 2 nextIndex). */
  readonly next: Index;
  /** How the leader currently replicates to the follower: probing, streaming, or sending a snapshot. */
  readonly state: ProgressState;
  /** AppendEntries sent to the follower and not yet acknowledged. */
  readonly inflight: number;
  /** True when the follower answered since the last CheckQuorum round. */
  readonly recentActive: boolean;
}

/**
 * Cheap reads of a core's current state, without building a {@link RaftStatus}:
 * for observers that look after every event (the simulator's checks).
 */
export interface CoreReader {
  /** The node's current role. */
  readonly role: Role;
  /** The node's current term. */
  readonly currentTerm: Term;
  /** The candidate this node voted for in the current term, or null. */
  readonly vote: NodeId | null;
  /** The leader this node follows (itself when leader), or null when unknown. */
  readonly leader: NodeId | null;
  /** The highest index known to be committed. */
  readonly commitIndex: Index;
  /** Highest index the runtime acknowledged as applied to the core. */
  readonly appliedIndex: Index;
  /** The first index still in the log (after the snapshot, if any). */
  firstIndex(): Index;
  /** The index of the last entry in the log, stable or not. */
  lastIndex(): Index;
  /** The term of the entry at `index`, or undefined when it is compacted away or beyond the log. */
  term(index: Index): Term | undefined;
  /** On the leader: the match index of voter `id`; undefined elsewhere. */
  matchIndex(id: NodeId): Index | undefined;
  /**
   * Ticks since the election timer last reset, and the randomized timeout it
   * runs to (a follower campaigns when they meet): for viewers such as the
   * playground. On a leader the timer counts towards its CheckQuorum.
   */
  readonly electionTimer: { readonly elapsedTicks: number; readonly timeoutTicks: number };
  /**
   * Grows with every call that may change the core (inputs, `ready`,
   * `advance`): an observer that reads the same count twice knows that the
   * core's own state did not change in between. Reads that reach into
   * storage (`firstIndex`, the `term` of a stable entry) also change when
   * the runtime writes to its storage; watch that separately.
   */
  readonly changeCount: number;
}

/** A snapshot of a core's state for observation and tests. */
export interface RaftStatus {
  /** The node's id. */
  readonly id: NodeId;
  /** The node's current role. */
  readonly role: Role;
  /** The node's current term. */
  readonly term: Term;
  /** The candidate this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  /** The leader this node follows (itself when leader), or null when unknown. */
  readonly leader: NodeId | null;
  /** The highest index known to be committed. */
  readonly commitIndex: Index;
  /** The highest index the runtime acknowledged as applied. */
  readonly appliedIndex: Index;
  /** The first index still in the log (after the snapshot, if any). */
  readonly firstIndex: Index;
  /** The index of the last entry in the log. */
  readonly lastIndex: Index;
  /** The voters of the configuration in force (its incoming half while joint). */
  readonly voters: readonly NodeId[];
  /** The configuration in force: voters, learners and, while joint, the outgoing voters. */
  readonly membership: Membership;
  /** True while the configuration is joint (decisions need a majority of both halves). */
  readonly joint: boolean;
  /** The index of the config entry that installed {@link membership} (the snapshot's index, or 0, when it came from there). */
  readonly configIndex: Index;
  /** On the leader: the node leadership is being transferred to, or null. */
  readonly leadTransferee: NodeId | null;
  /** On the leader: progress of every member (voters and learners), itself included while a member. Empty otherwise. */
  readonly progress: ReadonlyMap<NodeId, FollowerStatus>;
}

interface Handed {
  readonly lastEntry: { readonly index: Index; readonly term: Term } | null;
  readonly snapshot: SnapshotMeta | null;
  readonly committedEntries: readonly Entry[];
}

/**
 * The public face of Keel's pure Raft core, modelled on etcd's RawNode.
 *
 * Inputs: {@link tick}, {@link step}, {@link propose}, {@link campaign},
 * {@link readIndex}. Output: {@link ready} returns a {@link Ready} batch; the
 * runtime persists, sends and applies it as its TSDoc says, then calls
 * {@link advance}. Only one Ready is outstanding at a time; inputs may keep
 * arriving between `ready()` and `advance()`.
 *
 * Synchronous and deterministic: no I/O, timers, clock or `Math.random`.
 * Every method either completes or throws a typed error having changed nothing.
 */
export class RawNode implements CoreReader {
  private readonly raft: Raft;
  private previousSoftState: SoftState;
  /** The hard state last handed out (durable, or being made durable). */
  private previousHardState: HardState;
  private handed: Handed | null = null;
  /** See {@link CoreReader.changeCount}: bumped on entry to every method that may change the core, even one that throws. */
  private changes = 0;

  /** Throws `InvalidConfigError` for an invalid configuration. */
  constructor(config: RaftConfig) {
    this.raft = new Raft(resolveConfig(config));
    this.previousSoftState = this.raft.softState();
    this.previousHardState = this.raft.hardState();
  }

  /** This node's id. */
  get id(): NodeId {
    return this.raft.id;
  }

  /** This node's role; cheaper than {@link status} on hot paths. */
  get role(): Role {
    return this.raft.role;
  }

  /** The leader this node knows (itself when leader), or null; cheaper than {@link status}. */
  get leader(): NodeId | null {
    return this.raft.leader;
  }

  /** This node's current term (the paper's currentTerm); cheaper than {@link status}. */
  get currentTerm(): Term {
    return this.raft.term;
  }

  /** The vote cast in the current term, or null; cheaper than {@link status}. */
  get vote(): NodeId | null {
    return this.raft.vote;
  }

  /** The highest index known to be committed; cheaper than {@link status}. */
  get commitIndex(): Index {
    return this.raft.log.committed;
  }

  /** The highest index the runtime acknowledged as applied; cheaper than {@link status}. */
  get appliedIndex(): Index {
    return this.raft.log.applied;
  }

  /** The first index of the log (durable or not); cheaper than {@link status}. */
  firstIndex(): Index {
    return this.raft.log.firstIndex();
  }

  /** The last index of the log (durable or not); cheaper than {@link status}. */
  lastIndex(): Index {
    return this.raft.log.lastIndex();
  }

  /** On the leader: the match index of voter `id`; undefined elsewhere or for a non-voter. */
  matchIndex(id: NodeId): Index | undefined {
    return this.raft.role === 'leader' ? this.raft.progress.get(id)?.match : undefined;
  }

  get changeCount(): number {
    return this.changes;
  }

  get electionTimer(): { readonly elapsedTicks: number; readonly timeoutTicks: number } {
    return { elapsedTicks: this.raft.electionElapsed, timeoutTicks: this.raft.randomizedElectionTimeout };
  }

  /** On the leader: the node leadership is being transferred to, or null; cheaper than {@link status}. */
  get leadTransferee(): NodeId | null {
    return this.raft.leadTransferee;
  }

  /** Advances logical time by one tick: election timeouts, heartbeats and CheckQuorum are counted in ticks. */
  tick(): void {
    this.changes++;
    this.raft.tick();
  }

  /**
   * The runtime is about to stop ticking this node for a while (an idle group
   * of a multi-group host quiesces, docs/multi-raft.md). Makes it safe to
   * resume ticking at any later moment:
   * - a leader's read lease is voided: the lease is counted in ticks, so
   *   without ticks it would never run out, while followers woken by the
   *   host's liveness check may elect another leader meanwhile;
   * - the election and heartbeat counters restart, so that a woken leader
   *   heartbeats and hears back before CheckQuorum judges it, and a woken
   *   follower waits a whole election timeout before campaigning.
   * Safe at any time: it only delays timeouts and turns lease reads into
   * ReadIndex rounds until the next confirmed heartbeat round.
   */
  quiesce(): void {
    this.changes++;
    this.raft.quiesce();
  }

  /**
   * Feeds a message from a peer. Throws `InvalidMessageError` for a malformed
   * message or one of unknown type; the core is unchanged. Messages from
   * nodes outside the configuration are legitimate (a leader whose
   * configuration this node has not learned yet, a removed node): answers
   * from non-members are ignored, and with PreVote and CheckQuorum a removed
   * node cannot disrupt the cluster.
   */
  step(message: unknown): void {
    this.changes++;
    validateMessage(message, this.raft.id);
    this.raft.step(message);
  }

  /**
   * Proposes one or more entries. On the leader, appends them (they become
   * durable and replicated through the following Readies) and returns where
   * they landed; whether they commit is seen in `committedEntries`.
   * Throws `NotLeaderError` (with the known leader) elsewhere,
   * `ProposalTooLargeError` for an entry over `maxEntryBytes`, and
   * `ProposalDroppedError` when the uncommitted-bytes cap is reached or a
   * leadership transfer is in progress.
   */
  propose(data: Uint8Array | readonly Uint8Array[]): ProposalReceipt {
    this.changes++;
    const payloads = data instanceof Uint8Array ? [data] : [...data];
    if (payloads.length === 0) throw new InvalidArgumentError('propose: no entries given');
    for (const payload of payloads) {
      if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('propose: every entry must be a Uint8Array');
      if (payload.byteLength > this.raft.config.maxEntryBytes) {
        throw new ProposalTooLargeError(payload.byteLength, this.raft.config.maxEntryBytes);
      }
    }
    if (this.raft.role !== 'leader') throw new NotLeaderError(this.raft.leader);
    if (this.raft.leadTransferee !== null) throw new ProposalDroppedError(`leadership transfer to ${this.raft.leadTransferee} in progress`);
    const { firstIndex, lastIndex } = this.raft.appendEntries(payloads);
    bcastAppend(this.raft);
    return { term: this.raft.term, firstIndex, lastIndex };
  }

  /**
   * Proposes a configuration change (Raft dissertation §4): add voters or
   * learners, promote learners (`addVoter` of a learner), remove members.
   * One voter changing is done in one step; several go through a joint
   * configuration (`options.joint` forces either), which by default the
   * leader leaves by itself once it is committed (`options.autoLeave`).
   *
   * The new configuration takes effect on each node as soon as its entry is
   * in that node's log. Returns where the config entry landed; it is
   * committed when `committedEntries` carries it. Throws `NotLeaderError` off
   * the leader, `ProposalDroppedError` during a leadership transfer,
   * `LeaderNotReadyError` before this leader committed an entry of its term,
   * `ConfChangeInProgressError` while another change is uncommitted or the
   * configuration is joint, and `InvalidConfChangeError` for a change set
   * that does not apply (an unknown node, no voter left…).
   */
  proposeConfChange(changes: ConfChange | readonly ConfChange[], options: ConfChangeOptions = {}): ProposalReceipt {
    const list: readonly ConfChange[] = Array.isArray(changes) ? changes : [changes as ConfChange];
    for (const change of list) {
      if (typeof change !== 'object' || change === null || typeof change.node !== 'string') {
        throw new InvalidArgumentError('proposeConfChange: every change must be { type, node }');
      }
    }
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('proposeConfChange: options must be an object');
    return this.appendConfigChange(() => proposeConfChange(this.raft, list, options));
  }

  /**
   * Proposes leaving the joint configuration in force (needed when it was
   * entered with `autoLeave: false`). Throws as {@link proposeConfChange}
   * does, and `InvalidConfChangeError` when the configuration is not joint.
   */
  leaveJoint(): ProposalReceipt {
    return this.appendConfigChange(() => proposeLeaveJoint(this.raft));
  }

  private appendConfigChange(append: () => Index): ProposalReceipt {
    this.changes++;
    const raft = this.raft;
    if (raft.role !== 'leader') throw new NotLeaderError(raft.leader);
    if (raft.leadTransferee !== null) throw new ProposalDroppedError(`leadership transfer to ${raft.leadTransferee} in progress`);
    const index = append();
    // A smaller quorum (a removed voter) may already hold entries the old one did not.
    if (maybeCommit(raft) && raft.role !== 'leader') return { term: raft.term, firstIndex: index, lastIndex: index };
    bcastAppend(raft);
    return { term: raft.term, firstIndex: index, lastIndex: index };
  }

  /**
   * The configuration in force at log index `index`, for a snapshot taken
   * there: it must carry the configuration of its own position, not a newer
   * one from the uncommitted tail. `index` must lie within the log (from the
   * snapshot's index on).
   */
  membershipAt(index: Index): Membership {
    this.changes++;
    const raft = this.raft;
    if (!Number.isSafeInteger(index) || index < raft.log.firstIndex() - 1 || index > raft.log.lastIndex()) {
      throw new InvalidArgumentError(`membershipAt: ${String(index)} is outside the log [${raft.log.firstIndex() - 1}, ${raft.log.lastIndex()}]`);
    }
    raft.configs.compactTo(raft.log.firstIndex() - 1);
    return raft.configs.at(index);
  }

  /** The indexes of the config entries in this node's log above its base configuration, oldest first. For observers and checkers. */
  configIndexes(): readonly Index[] {
    const points = this.raft.configs.all();
    return points.slice(1).map((point) => point.index);
  }

  /** Starts an election now, as if the election timeout had elapsed (with a pre-vote round when PreVote is on). */
  campaign(): void {
    this.changes++;
    this.raft.hup();
  }

  /**
   * Requests a linearizable read barrier. When confirmed, a `ReadState` with
   * this `requestId` appears in a later Ready; the read may be served once
   * the state machine has applied its index. On a follower the request goes to
   * the leader. Throws `NotLeaderError` when no leader is known, and on the
   * leader `ReadDroppedError` while `maxPendingReadIndex` reads wait. A request is
   * dropped without an answer if leadership changes first: callers time out
   * and retry.
   *
   * With `lease: true` (needs CheckQuorum) a leader holding its read lease
   * answers at once, without a heartbeat round; otherwise the read falls back
   * to ReadIndex. The lease assumes clocks drift by at most
   * `maxClockDriftTicks` per election timeout.
   */
  readIndex(requestId: string, options: { readonly lease?: boolean } = {}): void {
    this.changes++;
    if (typeof requestId !== 'string') throw new InvalidArgumentError('readIndex: requestId must be a string');
    const raft = this.raft;
    if (options.lease === true && !raft.config.checkQuorum) throw new InvalidArgumentError('readIndex: lease reads need checkQuorum');
    if (options.lease === true && raft.role === 'leader' && raft.committedInCurrentTerm() && raft.leaseValid()) {
      // Within the lease no other leader can exist: the commit index is safe to read at without a round trip.
      raft.readStates.push({ requestId, index: raft.log.committed });
    } else if (raft.role === 'leader') {
      handleReadIndexRequest(raft, requestId, raft.id);
    } else if (raft.role === 'follower' && raft.leader !== null) {
      raft.send({ type: 'readIndex', to: raft.leader, requestId });
    } else {
      throw new NotLeaderError(raft.leader);
    }
  }

  /**
   * Hands leadership to the voter `target` (dissertation §3.10): the leader
   * brings its log up to date, then tells it to campaign at once. Proposals
   * are refused meanwhile; the transfer is abandoned if it has not completed
   * within one election timeout (watch `status().leadTransferee` and the
   * leader in `softState`). Transferring to this node itself cancels a
   * transfer. Throws `NotLeaderError` off the leader and
   * `InvalidArgumentError` for a target that is not a voter.
   */
  transferLeadership(target: NodeId): void {
    this.changes++;
    // Only a voter of the incoming configuration can lead it: an outgoing-only voter is on its way out.
    if (typeof target !== 'string' || !this.raft.membership.voters.includes(target)) {
      throw new InvalidArgumentError(`transferLeadership: ${String(target)} is not a voter`);
    }
    if (this.raft.role !== 'leader') throw new NotLeaderError(this.raft.leader);
    startTransfer(this.raft, target);
  }

  /** The runtime could not deliver to `id`: stop streaming to it optimistically and probe instead. */
  reportUnreachable(id: NodeId): void {
    this.changes++;
    const progress = this.raft.role === 'leader' ? this.raft.progress.get(id) : undefined;
    if (progress?.state === 'replicate') progress.becomeProbe();
  }

  /**
   * The runtime finished (or failed) sending a snapshot to `id`. Either way the
   * leader goes back to probing; after a success it waits for the follower's
   * answer or the next heartbeat before sending entries.
   */
  reportSnapshot(id: NodeId, succeeded: boolean): void {
    this.changes++;
    const progress = this.raft.role === 'leader' ? this.raft.progress.get(id) : undefined;
    if (progress?.state !== 'snapshot') return;
    if (!succeeded) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    progress.probeSent = true;
  }

  /** True when {@link ready} would return work and no Ready is outstanding. */
  hasReady(): boolean {
    if (this.handed !== null) return false;
    const raft = this.raft;
    const unstable = raft.log.unstable;
    if (raft.messages.length > 0 || raft.readStates.length > 0) return true;
    if (unstable.hasEntriesToPersist() || (unstable.snapshot !== null && !unstable.snapshotInProgress)) return true;
    // Field by field rather than through hardState()/softState(): the runtime asks after every input.
    const hard = this.previousHardState;
    if (raft.term !== hard.term || raft.vote !== hard.vote || raft.log.committed !== hard.commit) return true;
    if (raft.role !== this.previousSoftState.role || raft.leader !== this.previousSoftState.leader) return true;
    return raft.log.hasNextCommittedEntries() && (raft.log.nextCommittedEntries(raft.config.maxCommittedBytesPerReady)?.length ?? 0) > 0;
  }

  /**
   * Takes the pending work. Call {@link advance} once it has been handled
   * (see {@link Ready} for the order); until then `ready()` may not be called again.
   */
  ready(): Ready {
    this.changes++;
    assert(this.handed === null, 'ready() called again before advance()');
    const raft = this.raft;
    const log = raft.log;
    const unstable = log.unstable;
    // Field by field first: most Readies (a heartbeat, an acknowledgement) change neither state, and need no new objects.
    const previousHard = this.previousHardState;
    const termOrVoteChanged = raft.term !== previousHard.term || raft.vote !== previousHard.vote;
    const hardState = termOrVoteChanged || log.committed !== previousHard.commit ? raft.hardState() : null;
    const softChanged = raft.role !== this.previousSoftState.role || raft.leader !== this.previousSoftState.leader;
    const softState = softChanged ? raft.softState() : null;
    const entries = unstable.hasEntriesToPersist() ? unstable.entriesToPersist() : NONE;
    const snapshot = unstable.snapshot !== null && !unstable.snapshotInProgress ? unstable.snapshot : null;
    const committedEntries = log.hasNextCommittedEntries() ? (log.nextCommittedEntries(raft.config.maxCommittedBytesPerReady) ?? NONE) : NONE;
    const all = raft.messages.length > 0 ? raft.messages.splice(0) : NONE;
    const { messages, parallelMessages } = splitMessages(all, termOrVoteChanged);
    const ready: Ready = {
      softState,
      hardState,
      entries,
      snapshot,
      messages,
      parallelMessages,
      committedEntries,
      readStates: raft.readStates.length > 0 ? raft.readStates.splice(0) : NONE,
      mustSync: entries.length > 0 || termOrVoteChanged || snapshot !== null,
    };
    const last = entries[entries.length - 1];
    this.handed = { lastEntry: last === undefined ? null : { index: last.index, term: last.term }, snapshot, committedEntries };
    unstable.acceptInProgress();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) log.acceptApplying(lastCommitted.index);
    if (hardState !== null) this.previousHardState = hardState;
    if (softState !== null) this.previousSoftState = softState;
    return ready;
  }

  /**
   * Acknowledges the outstanding Ready: its snapshot, entries and hard state
   * are durable, its messages sent and its committed entries applied (or
   * owned by an apply loop that applies them in order).
   */
  advance(): void {
    this.changes++;
    const handed = this.handed;
    assert(handed !== null, 'advance() called without an outstanding ready()');
    const log = this.raft.log;
    if (handed.snapshot !== null) log.snapshotApplied(handed.snapshot.index);
    if (handed.lastEntry !== null) log.unstable.stableTo(handed.lastEntry.index, handed.lastEntry.term);
    const lastApplied = handed.committedEntries[handed.committedEntries.length - 1];
    if (lastApplied !== undefined) {
      log.appliedTo(lastApplied.index);
      this.raft.reduceUncommitted(handed.committedEntries);
    }
    this.handed = null;
    this.raft.onPersisted();
  }

  /**
   * The term of the entry at `index` in this node's log (durable or not), or
   * undefined when it is compacted or past the end. For observers and checkers.
   */
  term(index: Index): Term | undefined {
    return this.raft.log.term(index);
  }

  /** The core's current state. */
  status(): RaftStatus {
    const raft = this.raft;
    const progress = new Map<NodeId, FollowerStatus>();
    if (raft.role === 'leader') {
      for (const [id, p] of raft.progress) {
        progress.set(id, { match: p.match, next: p.next, state: p.state, inflight: p.inflights.count(), recentActive: p.recentActive });
      }
    }
    return {
      id: raft.id,
      role: raft.role,
      term: raft.term,
      vote: raft.vote,
      leader: raft.leader,
      commitIndex: raft.log.committed,
      appliedIndex: raft.log.applied,
      firstIndex: raft.log.firstIndex(),
      lastIndex: raft.log.lastIndex(),
      voters: raft.membership.voters,
      membership: raft.membership,
      joint: isJoint(raft.membership),
      configIndex: raft.configs.current().index,
      leadTransferee: raft.leadTransferee,
      progress,
    };
  }
}

/**
 * A leader's AppendEntries and heartbeats do not depend on anything in this
 * Ready being durable, provided the term and vote they are sent under already
 * are (§10.2.1 of the dissertation). Everything else waits for persistence.
 */
function splitMessages(all: readonly Message[], termOrVoteChanged: boolean): { messages: readonly Message[]; parallelMessages: readonly Message[] } {
  if (all.length === 0) return NO_MESSAGES;
  if (termOrVoteChanged) return { messages: all, parallelMessages: NONE };
  let leaderMessages = 0;
  for (const message of all) if (isLeaderMessage(message)) leaderMessages++;
  // A leader's Ready is often all heartbeats and appends, a follower's all answers: then no split is needed.
  if (leaderMessages === all.length) return { messages: NONE, parallelMessages: all };
  if (leaderMessages === 0) return { messages: all, parallelMessages: NONE };
  const messages: Message[] = [];
  const parallelMessages: Message[] = [];
  for (const message of all) {
    if (isLeaderMessage(message)) parallelMessages.push(message);
    else messages.push(message);
  }
  return { messages, parallelMessages };
}
