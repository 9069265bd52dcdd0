import type { Index, Membership, NodeId, Term } from '../../core/types.js';
import { InvalidArgumentError } from '../../errors.js';
import type { NodeMessage, Transport } from '../../transport/transport.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { MemberAddresses } from './member-addresses.js';
import { membersOf } from './membership-changes.js';

/** What {@link KnownMembers} needs from its node. */
export interface KnownMembersHost {
  readonly id: NodeId;
  readonly clock: Clock;
  /** Addresses of members added at runtime, replicated through the log and snapshots (see member-addresses.ts). */
  readonly addresses: MemberAddresses;
  readonly transport: Pick<Transport, 'addPeer' | 'removePeer'>;
  /** How long a member that left stays known: an election timeout, in clock milliseconds. */
  readonly forgetAfterMs: number;
  /** The configuration in force in the core. */
  membership(): Membership;
  /** False once the node is closed or failed. */
  isRunning(): boolean;
  /** The index of the config entry that installed the configuration in force (the log's latest). */
  configIndex(): Index;
  /** The highest index known to be committed. */
  commitIndex(): Index;
  /** Whether this node leads, or heard from a leader within its election timeout. */
  heardFromLeader(): boolean;
  /** The index and term of the last entry of the log (stable or not). */
  logEnd(): { readonly index: Index; readonly term: Term };
  /** This node learned it was removed: stop ticking and tell the listeners. */
  removed(): void;
  /** A node marked removed appended a configuration that lists it again: tick again. */
  readded(): void;
  /**
   * A learner that heard from no leader for an election timeout asks the
   * hosts of `voters` whether it is still a member (they answer with a
   * not-a-member notice if not); absent for a node that is not hosted.
   */
  readonly askMembership?: (voters: readonly NodeId[]) => void;
}

/**
 * Why and when a node marked itself removed: what a host checks before it
 * deletes the node's log (`RaftHost.dropRemovedGroup`, docs/multi-raft.md).
 */
export interface RemovalMark {
  /** `configuration`: it applied a configuration that leaves it out; `notice`: a member's committed configuration leaves it out. */
  readonly cause: 'configuration' | 'notice';
  /** The index of the last entry of its log when it was marked. */
  readonly lastIndex: Index;
  /** The term of that entry (0 for an empty log). */
  readonly lastTerm: Term;
  /** The index of the latest configuration of its log when it was marked. */
  readonly configIndex: Index;
  /** On a notice: the index of the committed configuration that leaves it out; null otherwise. */
  readonly noticeConfigIndex: Index | null;
}

/**
 * The members this node's transport knows, kept in step with the applied
 * configurations and member addresses; and whether this node was removed.
 */
export class KnownMembers {
  /** Every node this node's transport may know as a member, so that the ones that leave are forgotten. */
  private readonly knownMembers = new Set<NodeId>();
  /** This node has been a member of an applied configuration (a joining node is not, until it is added). */
  private wasMember: boolean;
  /** Set while this node knows it was removed (it applied its removal, or was told): it does not tick. */
  private mark: RemovalMark | null = null;
  /** When an acknowledgement last cleared the mark (clock milliseconds), or null: see {@link onTick}. */
  private clearedByAckAt: number | null = null;
  /** When this node, a learner without a leader, last asked the voters whether it is a member (clock milliseconds), or null. */
  private askedAt: number | null = null;
  /** For each node, the number of the last {@link learnAddress} of its address (a counter, {@link learnings}). */
  private readonly learnedAt = new Map<NodeId, number>();
  /** Addresses learned so far. */
  private learnings = 0;
  /** Pending timers that will forget members that left; cleared by {@link stop}. */
  private readonly forgetTimers = new Set<TimerHandle>();

  constructor(
    private readonly host: KnownMembersHost,
    membership: Membership,
  ) {
    for (const id of membersOf(membership)) this.knownMembers.add(id);
    for (const [id, address] of host.addresses.entries()) this.applyAddress(id, address);
    this.wasMember = this.knownMembers.has(host.id);
  }

  /** Every node the transport may know as a member: the members of the configurations in force, and ones that left less than `forgetAfterMs` ago. */
  get ids(): ReadonlySet<NodeId> {
    return this.knownMembers;
  }

  /** True while this node knows it was removed: it applied a configuration that removed it, or a member told it so. */
  get removed(): boolean {
    return this.mark !== null;
  }

  /** Whether acknowledgements concern this node: it is marked removed, or an acknowledgement cleared its mark lately. */
  get watchesAcknowledgements(): boolean {
    return this.mark !== null || this.clearedByAckAt !== null;
  }

  /** Why and where this node was marked removed; null while it is not. */
  get removal(): RemovalMark | null {
    return this.mark;
  }

  /**
   * A member of the group told this node (through its host) that its
   * committed configuration, installed at `noticeConfigIndex`, leaves this
   * node out. Believed when this node's log has not reached that
   * configuration (its latest is older), or holds it as its latest (without
   * knowing it committed: the leader stops sending to a node once the
   * configuration that removes it is appended). A node whose log holds a newer
   * configuration knows better. Returns whether the node is now marked removed.
   */
  notMember(noticeConfigIndex: Index): boolean {
    if (this.mark !== null) return true;
    const configIndex = this.host.configIndex();
    const believed = configIndex < noticeConfigIndex || (configIndex === noticeConfigIndex && !membersOf(this.host.membership()).has(this.host.id));
    if (!believed) return false;
    this.markRemoved('notice', configIndex, noticeConfigIndex);
    return true;
  }

  /**
   * Called after every turn while marked removed: a configuration in force
   * that lists this node, other than the one it was marked under, means it
   * was added back (or the removal it held was truncated away); it clears
   * the mark and ticks again (an added voter that never ticks would never
   * campaign). Clearing only resumes ticking; a removed node that campaigns
   * again is told again.
   */
  checkReadded(): void {
    const mark = this.mark;
    if (mark === null) return;
    if (this.host.configIndex() === mark.configIndex || !membersOf(this.host.membership()).has(this.host.id)) return;
    this.mark = null;
    this.clearedByAckAt = null;
    this.wasMember = true;
    this.host.readded();
  }

  /**
   * This node, marked removed, acknowledged a leader's append (a match index
   * above 0 leaves with it): some leader treats it as a member, perhaps one
   * that added it back. The mark goes, so that no host deletes the node while
   * that leader counts on what it acknowledged; the node ticks again, and if
   * it was not added back, it is told again when it campaigns.
   */
  acknowledged(): void {
    if (this.mark === null && this.clearedByAckAt === null) return;
    this.clearedByAckAt = this.host.clock.now();
    if (this.mark === null) return;
    this.mark = null;
    this.host.readded();
  }

  /**
   * Every tick: a node whose committed configuration leaves it out (and
   * lists someone: a joining node not yet added has none) is marked
   * removed, if an acknowledgement cleared its mark an election timeout
   * ago or more and none followed (a leader that added it back would have
   * sent it that configuration by then: the acknowledgement answered a late
   * append of the leader that removed it), or if no leader spoke to it for
   * an election timeout (it started with its removal already in its log,
   * from a snapshot taken after it, and never applied it as a member). A node told by a notice
   * and cleared campaigns, and is told again. First, a learner without a
   * leader asks the voters whether it is still a member ({@link maybeAskMembership}).
   */
  onTick(): void {
    if (this.mark !== null) return;
    this.maybeAskMembership();
    const clearedAt = this.clearedByAckAt;
    if (clearedAt === null ? this.host.heardFromLeader() : this.host.clock.now() - clearedAt < this.host.forgetAfterMs) return;
    this.clearedByAckAt = null;
    // Also a node that starts with its removal already in its log (a snapshot taken after it, replayed on a
    // restart) and never applied it as a member: without a leader, nobody will tell it anything else.
    const membership = this.host.membership();
    const members = membersOf(membership);
    const configIndex = this.host.configIndex();
    if (members.size > 0 && !members.has(this.host.id) && configIndex <= this.host.commitIndex()) this.markRemoved('configuration', configIndex, null);
  }

  /**
   * A learner never campaigns, so a learner removed while cut off would never
   * hear a not-a-member notice (they answer vote requests): its latest
   * configuration lists it as a learner, and no leader speaks to it. So a
   * learner that heard from no leader for an election timeout asks the voters
   * of its configuration, at most once per election timeout; a voter's host
   * whose committed configuration leaves it out answers with the same notice
   * as to a vote request (removal-notices.ts), which the node checks as
   * any other ({@link notMember}). A learner that is still one is answered
   * nothing: its leader will reach it.
   */
  private maybeAskMembership(): void {
    const ask = this.host.askMembership;
    if (ask === undefined || this.host.heardFromLeader()) return;
    const membership = this.host.membership();
    const id = this.host.id;
    const voters = [...new Set([...membership.voters, ...(membership.outgoingVoters ?? [])])];
    if (voters.includes(id) || !(membership.learners ?? []).includes(id)) return;
    const now = this.host.clock.now();
    if (this.askedAt !== null && now - this.askedAt < this.host.forgetAfterMs) return;
    this.askedAt = now;
    ask(voters);
  }

  private markRemoved(cause: RemovalMark['cause'], configIndex: Index, noticeConfigIndex: Index | null): void {
    const end = this.host.logEnd();
    this.mark = { cause, lastIndex: end.index, lastTerm: end.term, configIndex, noticeConfigIndex };
    this.host.removed();
  }

  /** Records that `id` is reachable at `address` and tells the transport (this node needs no address of its own). */
  learnAddress(id: NodeId, address: string): void {
    this.learnedAt.set(id, ++this.learnings);
    this.host.addresses.set(id, address);
    this.knownMembers.add(id);
    if (id !== this.host.id) this.host.transport.addPeer(id, address);
  }

  /**
   * An address entry was applied. The leader's transport accepted the address
   * before it was logged; should this node's transport refuse it, the peer is
   * merely unreachable from here, which Raft tolerates — no reason to stop.
   */
  applyAddress(id: NodeId, address: string): void {
    try {
      this.learnAddress(id, address);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
    }
  }

  /**
   * A configuration was applied (committed): members that left it are
   * forgotten, after an election timeout so that the leader's last append
   * (telling them the commit index) still reaches them; and this node learns
   * whether it was removed.
   */
  configurationApplied(applied: Membership): void {
    const host = this.host;
    const members = new Set([...membersOf(applied), ...membersOf(host.membership())]);
    // A joining node learns the members it was started with from the configurations it applies.
    for (const id of members) this.knownMembers.add(id);
    const leavers = [...this.knownMembers].filter((id) => !members.has(id));
    if (leavers.length > 0) {
      const learningsThen = this.learnings;
      const timer = host.clock.setTimeout(() => {
        this.forgetTimers.delete(timer);
        // After close() the storage may be closed too: nothing to forget then.
        if (!host.isRunning()) return;
        const now = membersOf(host.membership());
        for (const id of leavers) {
          // Still a member, or its address was learned again since it left (it is being added back, the
          // configuration naming it not appended yet): forgetting it now would cut it off from this group for good.
          if (now.has(id) || (this.learnedAt.get(id) ?? 0) > learningsThen) continue;
          this.knownMembers.delete(id);
          host.addresses.delete(id);
          if (id !== host.id) host.transport.removePeer(id);
        }
      }, host.forgetAfterMs);
      this.forgetTimers.add(timer);
    }
    if (membersOf(applied).has(host.id)) this.wasMember = true;
    // Removed only if the configuration in force (the log's latest) leaves this node out too. A restarted
    // node replays the configurations before it was added; its log's latest, which has it, says it is a member.
    else if (this.wasMember && this.mark === null && !membersOf(host.membership()).has(host.id)) {
      // Removed: stop ticking, so this node never campaigns again; it still answers messages.
      this.markRemoved('configuration', host.configIndex(), null);
    }
  }

  /**
   * The node stopped (closed or failed): clears the pending timers, so that a
   * closed node leaves no timer behind to keep the process alive.
   */
  stop(): void {
    for (const timer of this.forgetTimers) this.host.clock.clearTimeout(timer);
    this.forgetTimers.clear();
  }
}

/**
 * The owner loop's view of `transport`: every successful append
 * acknowledgement (match index above 0) that leaves while `members` is
 * marked removed clears the mark, and while an acknowledgement cleared it
 * lately, postpones marking it again ({@link KnownMembers.acknowledged}).
 */
export function watchAcknowledgements<T extends Pick<Transport, 'send' | 'flush'>>(transport: T, members: KnownMembers): Pick<Transport, 'send' | 'flush'> {
  return {
    send: (to: NodeId, message: NodeMessage): void => {
      if (members.watchesAcknowledgements && isAcknowledgement(message)) members.acknowledged();
      transport.send(to, message);
    },
    flush: (): void => transport.flush?.(),
  };
}

function isAcknowledgement(message: NodeMessage): boolean {
  return message.kind === 'raft' && message.message.type === 'appendEntriesResponse' && message.message.success && message.message.index > 0;
}

