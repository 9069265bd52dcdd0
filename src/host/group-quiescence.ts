import type { NodeId } from '../core/types.js';
import type { Input } from '../node/inbox.js';
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
}

/** What the quiescence bookkeeping needs of its host. */
export interface QuiescenceHost {
  readonly hostId: NodeId;
  /** Ticks a leader must be idle before it asks to quiesce. */
  readonly afterTicks: number;
  /** Silence from a leader's host after which its quiesced groups wake and may elect another. */
  readonly livenessTimeoutMs: number;
  now(): number;
  lastHeardFrom(host: NodeId): number;
  sendNotice(to: NodeId, group: GroupId, term: number, index: number): void;
}

/**
 * Which of a host's groups are quiesced, and the rules for entering and
 * leaving (docs/multi-raft.md, "Quiescence"):
 * - a group's leader replica that has had nothing to do for `afterTicks`
 *   consecutive ticks (`RaftNode.hostMayQuiesce`) asks its loop to quiesce; if
 *   it did, the host stops ticking it and tells each follower's host;
 * - a follower replica quiesces on that notice if it agrees (same term and
 *   leader, same last index, all committed and applied);
 * - any input but a tick, an unreachable report or a quiesce request wakes a
 *   group: a proposal, a read, a peer's message, a membership call;
 * - a follower's group also wakes when its leader's host has been silent for
 *   `livenessTimeoutMs` (every host sends every peer host something each
 *   tick), so a dead leader's groups elect new leaders.
 * Only ticks stop; `RawNode.quiesce` voids the leader's read lease as it goes quiet.
 */
export class GroupQuiescence {
  /** Quiesced groups and the leader each quiesced under. */
  private readonly quiesced = new Map<GroupId, NodeId>();
  /** Consecutive ticks each awake leader group may have quiesced. */
  private readonly calm = new Map<GroupId, number>();
  /** Groups with a quiesce request in their loop's inbox. */
  private readonly requested = new Set<GroupId>();
  /** Groups woken while their request was pending: its success must not put them back to sleep. */
  private readonly wokenWhileRequested = new Set<GroupId>();
  private counters = { quiesces: 0, wakes: 0, livenessWakes: 0 };

  constructor(private readonly host: QuiescenceHost) {
    assert(Number.isSafeInteger(host.afterTicks) && host.afterTicks > 0, 'quiescence: afterTicks must be a positive integer');
  }

  /** Whether `group` is quiesced (the host does not tick it). */
  isQuiesced(group: GroupId): boolean {
    return this.quiesced.has(group);
  }

  /**
   * An input reached `group`'s loop. Every kind but ticks, unreachable
   * reports and quiesce requests wakes a quiesced group. In an awake group,
   * heartbeats and their responses are the background of being idle; any
   * other input (a proposal, a read, an append) starts the idle count again.
   */
  onInput(group: GroupId, input: Input): void {
    if (input.kind === 'tick' || input.kind === 'unreachable' || input.kind === 'quiesce') return;
    if (!this.quiesced.has(group) && isHeartbeat(input)) return;
    this.wake(group);
  }

  /**
   * One host tick for one awake group: ticks it, or, when its leader replica
   * has been idle long enough, asks it to quiesce instead.
   */
  tick(group: GroupId, node: RaftNode<unknown>): void {
    if (this.quiesced.has(group)) return;
    if (!this.requested.has(group) && node.hostMayQuiesce()) {
      const calm = (this.calm.get(group) ?? 0) + 1;
      this.calm.set(group, calm);
      if (calm >= this.host.afterTicks) {
        this.request(group, node, null);
        return;
      }
    } else {
      this.calm.delete(group);
    }
    node.hostTick();
  }

  /** A peer host's leader replica of `group` quiesced: this host's follower replica quiesces too, if it agrees. */
  onNotice(group: GroupId, node: RaftNode<unknown> | undefined, leader: NodeId, term: number, index: number): void {
    if (node === undefined || this.quiesced.has(group) || this.requested.has(group)) return;
    this.request(group, node, { leader, term, index });
  }

  /** Wakes the quiesced groups whose leader's host has been silent too long. */
  checkLiveness(): void {
    const now = this.host.now();
    for (const [group, leader] of this.quiesced) {
      if (leader === this.host.hostId) continue;
      if (now - this.host.lastHeardFrom(leader) > this.host.livenessTimeoutMs) {
        this.counters.livenessWakes++;
        this.wake(group);
      }
    }
  }

  /** `group` left the host. */
  forget(group: GroupId): void {
    this.quiesced.delete(group);
    this.calm.delete(group);
    this.requested.delete(group);
    this.wokenWhileRequested.delete(group);
  }

  stats(): QuiescenceStats {
    return { quiesced: this.quiesced.size, ...this.counters };
  }

  private request(group: GroupId, node: RaftNode<unknown>, notice: { leader: NodeId; term: number; index: number } | null): void {
    this.requested.add(group);
    this.calm.delete(group);
    node.hostQuiesce(notice, (quiesced) => {
      this.requested.delete(group);
      const woken = this.wokenWhileRequested.delete(group);
      if (!quiesced || woken) return;
      this.counters.quiesces++;
      if (notice !== null) {
        this.quiesced.set(group, notice.leader);
        return;
      }
      this.quiesced.set(group, this.host.hostId);
      const { notice: own, peers } = node.hostQuiesceNotice();
      for (const peer of peers) this.host.sendNotice(peer, group, own.term, own.index);
    });
  }

  private wake(group: GroupId): void {
    if (this.requested.has(group)) this.wokenWhileRequested.add(group);
    this.calm.delete(group);
    if (this.quiesced.delete(group)) this.counters.wakes++;
  }
}

function isHeartbeat(input: Input): boolean {
  if (input.kind !== 'message' || input.message.kind !== 'raft') return false;
  const type = input.message.message.type;
  return type === 'heartbeat' || type === 'heartbeatResponse';
}
