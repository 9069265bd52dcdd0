import type { NodeId } from '../core/types.js';
import type { Input } from '../node/inbox.js';
import type { QuiesceNotice } from '../node/quiescence.js';
import type { RaftNode } from '../node/raft-node.js';
import { assert } from '../util/assert.js';
import type { GroupId } from '../util/group-id.js';

/** Counters of quiescence on a host. */
export interface QuiescenceStats {
  /** Groups quiesced now. */
  readonly quiesced: number;
  /** Times a group quiesced (as leader or on its leader's notice). */
  readonly quiesces: number;
  /** Times a quiesced group woke: on a proposal, a read, a message or its leader's silence. */
  readonly wakes: number;
  /** Of those, wakes because the leader's host fell silent (host-level liveness). */
  readonly livenessWakes: number;
  /**
   * Every wake by what caused it: `propose`, `read`, `confChange`,
   * `transfer`, `snapshotStatus`, `liveness`, or `message:<type>` for a
   * peer's message (its Raft message type, e.g. `message:preVote`, or its
   * runtime kind, e.g. `message:forward`). For finding what keeps groups awake.
   */
  readonly wakesBy: Readonly<Record<string, number>>;
}

/** What the quiescence bookkeeping needs of its host. */
export interface QuiescenceHost {
  readonly hostId: NodeId;
  /** Ticks a leader must be idle before it asks to quiesce. */
  readonly afterTicks: number;
  /** This host's ticks without a word from a leader's host after which its quiesced groups wake and may elect another. */
  readonly livenessTicks: number;
  /** A value that changes whenever anything arrives from `host` (the transport's time of the last arrival). */
  lastHeardFrom(host: NodeId): number;
  sendNotice(to: NodeId, group: GroupId, term: number, index: number): void;
}

/** The leader and term a group quiesced under. */
interface QuiescedUnder {
  readonly leader: NodeId;
  readonly term: number;
}

/** A follower's silence count of one peer host. */
interface Silence {
  heardAt: number;
  ticks: number;
}

/**
 * Times a follower that refused its leader's notice asks again, one host
 * tick apart: a notice often arrives before the entries or the commit index
 * before it are applied, and the leader, quiesced, sends no second one.
 */
const NOTICE_RETRIES = 3;

/**
 * Which of a host's groups are quiesced, and the rules for entering and
 * leaving (docs/multi-raft.md, "Quiescence"):
 * - a group's leader replica that has had nothing to do for `afterTicks`
 *   consecutive ticks (`RaftNode.hostMayQuiesce`) asks its loop to quiesce,
 *   and asks again each tick it stays idle while refused; if it did, the host
 *   stops ticking it and tells each follower's host;
 * - a follower replica quiesces on that notice if it agrees (same term and
 *   leader, same last index, all committed and applied), asking again for a
 *   few ticks if it did not agree yet;
 * - any input but a tick, an unreachable report or a quiesce request wakes a
 *   group: a proposal, a read, a peer's message, a membership call; except
 *   the heartbeats of the term the group quiesced in between it and the
 *   leader it quiesced under (a heartbeat answered after the leader went
 *   quiet, a heartbeat of a leader woken for a read), which change nothing
 *   a tick is needed for;
 * - a follower's group also wakes when its leader's host has sent nothing
 *   for `livenessTicks` of this host's ticks (every host sends every peer
 *   host something each tick), so a dead leader's groups elect new leaders.
 *   Counting this host's own ticks, each after a turn of reading the
 *   sockets, means a host that stalls does not take its own stall for its
 *   peers' silence.
 * Only ticks stop; `RawNode.quiesce` voids the leader's read lease as it goes
 * quiet, and an answer to a heartbeat sent before cannot renew it.
 */
export class GroupQuiescence {
  /** Every group of the host, with its replica. */
  private readonly nodes = new Map<GroupId, RaftNode<unknown>>();
  /** The groups the host ticks: every group not quiesced. An idle host's tick costs nothing per quiesced group. */
  private readonly awake = new Map<GroupId, RaftNode<unknown>>();
  /** Quiesced groups and the leader and term each quiesced under. */
  private readonly quiesced = new Map<GroupId, QuiescedUnder>();
  /** Follower groups quiesced under each peer host's leader: woken together when that host falls silent. */
  private readonly quiescedUnderPeer = new Map<NodeId, Set<GroupId>>();
  /** Consecutive ticks each awake leader group may have quiesced. */
  private readonly calm = new Map<GroupId, number>();
  /** Groups with a quiesce request in their loop's inbox. */
  private readonly requested = new Set<GroupId>();
  /** Groups woken while their request was pending: its success must not put them back to sleep. */
  private readonly wokenWhileRequested = new Set<GroupId>();
  /** Follower groups that refused their leader's notice, with the notice and the tries left. */
  private readonly retries = new Map<GroupId, { readonly notice: QuiesceNotice; left: number }>();
  /** Each peer host's silence, in this host's ticks. */
  private readonly silence = new Map<NodeId, Silence>();
  private counters = { quiesces: 0, wakes: 0, livenessWakes: 0 };
  private readonly wakesBy = new Map<string, number>();

  constructor(private readonly host: QuiescenceHost) {
    assert(Number.isSafeInteger(host.afterTicks) && host.afterTicks > 0, 'quiescence: afterTicks must be a positive integer');
    assert(Number.isSafeInteger(host.livenessTicks) && host.livenessTicks > 0, 'quiescence: livenessTicks must be a positive integer');
  }

  /** `group`'s replica started on the host: it is awake. */
  add(group: GroupId, node: RaftNode<unknown>): void {
    this.nodes.set(group, node);
    this.awake.set(group, node);
  }

  /** One host tick for every awake group (see {@link GroupQuiescence.tick}); quiesced groups are not visited. */
  tickAll(): void {
    for (const [group, node] of this.awake) this.tick(group, node);
  }

  /** Whether `group` is quiesced (the host does not tick it). */
  isQuiesced(group: GroupId): boolean {
    return this.quiesced.has(group);
  }

  /**
   * An input reached `group`'s loop. Every kind but ticks, unreachable
   * reports and quiesce requests wakes a quiesced group, except the
   * heartbeats of the term and leader it quiesced under. In an awake group,
   * heartbeats and their responses are the background of being idle; any
   * other input (a proposal, a read, an append) starts the idle count again.
   */
  onInput(group: GroupId, input: Input): void {
    if (input.kind === 'tick' || input.kind === 'unreachable' || input.kind === 'quiesce') return;
    const under = this.quiesced.get(group);
    if (under === undefined ? isHeartbeat(input) : this.keepsQuiet(input, under)) return;
    this.wake(group, input);
  }

  /**
   * One host tick for one awake group: ticks it, or, when its leader replica
   * has been idle long enough (or it is a follower retrying its leader's
   * notice), asks it to quiesce instead. No tick goes in behind a quiesce
   * request: queued behind it, it would make the request fail.
   */
  tick(group: GroupId, node: RaftNode<unknown>): void {
    if (this.quiesced.has(group) || this.requested.has(group)) return;
    const retry = this.retries.get(group);
    if (retry !== undefined) {
      if (--retry.left <= 0) this.retries.delete(group);
      this.request(group, node, retry.notice, false);
      return;
    }
    if (node.hostMayQuiesce()) {
      const calm = (this.calm.get(group) ?? 0) + 1;
      this.calm.set(group, calm);
      // A refused request leaves the count where it is: the next idle tick asks again.
      if (calm >= this.host.afterTicks) {
        this.request(group, node, null, false);
        return;
      }
    } else {
      this.calm.delete(group);
    }
    node.hostTick();
  }

  /** A peer host's leader replica of `group` quiesced: this host's follower replica quiesces too, if it agrees. */
  onNotice(group: GroupId, node: RaftNode<unknown> | undefined, leader: NodeId, term: number, index: number): void {
    if (node === undefined || this.quiesced.has(group)) return;
    const notice = { leader, term, index };
    if (this.requested.has(group)) {
      // Tried at the next tick, after the request in flight (for an older notice, say) is answered.
      this.retries.set(group, { notice, left: NOTICE_RETRIES });
      return;
    }
    this.retries.delete(group);
    this.request(group, node, notice, true);
  }

  /**
   * Once per host tick, after the groups' ticks: counts each peer host's
   * silence in this host's ticks, and wakes the quiesced groups whose
   * leader's host has been silent for more than `livenessTicks`.
   */
  checkLiveness(peers: Iterable<NodeId>): void {
    for (const peer of peers) {
      const heardAt = this.host.lastHeardFrom(peer);
      const silence = this.silence.get(peer);
      if (silence === undefined || silence.heardAt !== heardAt) this.silence.set(peer, { heardAt, ticks: 0 });
      else silence.ticks++;
    }
    for (const [peer, groups] of this.quiescedUnderPeer) {
      if ((this.silence.get(peer)?.ticks ?? 0) <= this.host.livenessTicks) continue;
      for (const group of [...groups]) {
        this.counters.livenessWakes++;
        this.wake(group, null);
      }
    }
  }

  /** `group` left the host. */
  forget(group: GroupId): void {
    this.unmarkQuiesced(group);
    this.nodes.delete(group);
    this.awake.delete(group);
    this.calm.delete(group);
    this.requested.delete(group);
    this.wokenWhileRequested.delete(group);
    this.retries.delete(group);
  }

  stats(): QuiescenceStats {
    return { quiesced: this.quiesced.size, ...this.counters, wakesBy: Object.fromEntries(this.wakesBy) };
  }

  /**
   * Whether `input` leaves a group quiesced under `under` asleep: a heartbeat
   * answer to the leader, or the leader's heartbeat to a follower, of the term
   * it quiesced in. The loop still steps it (the follower answers, a read
   * round is confirmed); it only needs no ticks. Anything of another term
   * (a campaign, a new leader) or of another kind wakes the group.
   */
  private keepsQuiet(input: Input, under: QuiescedUnder): boolean {
    if (input.kind !== 'message' || input.message.kind !== 'raft') return false;
    const message = input.message.message;
    if (message.term !== under.term) return false;
    if (under.leader === this.host.hostId) return message.type === 'heartbeatResponse';
    return message.type === 'heartbeat' && message.from === under.leader;
  }

  /** Asks `group`'s loop to quiesce: as leader (`notice` null) or on its leader's notice, `first` time or as a retry. */
  private request(group: GroupId, node: RaftNode<unknown>, notice: QuiesceNotice | null, first: boolean): void {
    this.requested.add(group);
    node.hostQuiesce(notice, (quiesced) => {
      this.requested.delete(group);
      const woken = this.wokenWhileRequested.delete(group);
      if (!quiesced) {
        // A follower tries a new notice again at its next ticks; a retry that fails uses up one of the tries.
        if (notice !== null && first && !woken && !this.retries.has(group)) this.retries.set(group, { notice, left: NOTICE_RETRIES });
        return;
      }
      this.calm.delete(group);
      this.retries.delete(group);
      if (woken) return;
      this.counters.quiesces++;
      if (notice !== null) {
        this.markQuiesced(group, { leader: notice.leader, term: notice.term });
        return;
      }
      const { notice: own, peers } = node.hostQuiesceNotice();
      this.markQuiesced(group, { leader: this.host.hostId, term: own.term });
      for (const peer of peers) this.host.sendNotice(peer, group, own.term, own.index);
    });
  }

  private markQuiesced(group: GroupId, under: QuiescedUnder): void {
    this.quiesced.set(group, under);
    this.awake.delete(group);
    if (under.leader === this.host.hostId) return;
    let groups = this.quiescedUnderPeer.get(under.leader);
    if (groups === undefined) this.quiescedUnderPeer.set(under.leader, (groups = new Set()));
    groups.add(group);
  }

  /** Takes `group` out of the quiesced bookkeeping; false if it was not quiesced. */
  private unmarkQuiesced(group: GroupId): boolean {
    const under = this.quiesced.get(group);
    if (under === undefined) return false;
    this.quiesced.delete(group);
    const groups = this.quiescedUnderPeer.get(under.leader);
    groups?.delete(group);
    if (groups?.size === 0) this.quiescedUnderPeer.delete(under.leader);
    return true;
  }

  /** Wakes `group` because of `input`, or of its leader host's silence (null). */
  private wake(group: GroupId, input: Input | null): void {
    if (this.requested.has(group)) this.wokenWhileRequested.add(group);
    this.calm.delete(group);
    if (!this.unmarkQuiesced(group)) return;
    const node = this.nodes.get(group);
    if (node !== undefined) this.awake.set(group, node);
    this.counters.wakes++;
    const reason = wakeReason(input);
    this.wakesBy.set(reason, (this.wakesBy.get(reason) ?? 0) + 1);
  }
}

function wakeReason(input: Input | null): string {
  if (input === null) return 'liveness';
  if (input.kind !== 'message') return input.kind;
  const message = input.message;
  return `message:${message.kind === 'raft' ? message.message.type : message.kind}`;
}

function isHeartbeat(input: Input): boolean {
  if (input.kind !== 'message' || input.message.kind !== 'raft') return false;
  const type = input.message.message.type;
  return type === 'heartbeat' || type === 'heartbeatResponse';
}
