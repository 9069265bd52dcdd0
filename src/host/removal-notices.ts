import type { Index, NodeId } from '../core/types.js';
import { assert } from '../util/assert.js';
import type { Clock } from '../util/clock.js';
import type { GroupId } from '../util/group-id.js';

/** What {@link RemovalNotices} needs of its host. */
export interface RemovalNoticesOptions {
  readonly clock: Clock;
  /** At most one notice per (group, peer) per this many clock milliseconds: the groups' election timeout. */
  readonly intervalMs: number;
  /** The index of this host's replica's latest configuration of `group` if it is committed and leaves `peer` out; null otherwise (or no replica). */
  readonly configWithout: (group: GroupId, peer: NodeId) => Index | null;
  /** Sends the notice to `peer`'s host (host-transport.ts). */
  readonly send: (peer: NodeId, group: GroupId, configIndex: Index) => void;
}

/** Counters of the not-a-member notices of a host. */
export interface RemovalNoticeStats {
  /** Vote requests of peers' replicas checked for whether a notice was due. */
  readonly checked: number;
  /** Member queries of peers' learners without a leader, checked the same way. */
  readonly queried: number;
  /** Notices sent to the hosts of removed replicas that asked for votes or asked whether they are members. */
  readonly sent: number;
  /** Notices not sent because one went to the same (group, peer) less than an election timeout ago. */
  readonly rateLimited: number;
}

/**
 * Not-a-member notices (docs/multi-raft.md, "A removed replica learns it").
 * Raft never tells a node it was removed: once the removal commits, the
 * leader stops sending to it. A replica removed while its host was
 * partitioned, paused or down therefore keeps its old configuration, in which
 * it is a member, and campaigns for ever. So when a peer's replica asks this
 * host's replica for a vote, and this replica's latest configuration leaves
 * the peer out and is committed, the host tells the peer's host so, with the
 * index of that configuration; the peer's replica believes it only if its own
 * log has not reached that configuration (known-members.ts).
 *
 * Only vote requests (pre-votes included) are answered: they are what a
 * removed replica sends on its own, and they are rare, so the check (which
 * reads the replica's configuration) costs nothing on the hot path of appends
 * and heartbeats. A learner never campaigns: one that heard from no leader for
 * an election timeout sends a member query instead (known-members.ts), answered
 * the same way. At most one notice per (group, peer) per election timeout,
 * however often the peer campaigns or asks.
 */
export class RemovalNotices {
  /** When a notice last went to each (group, peer), by key `group \0 peer`. Pruned every tick. */
  private readonly lastSentAt = new Map<string, number>();
  private readonly counters = { checked: 0, queried: 0, sent: 0, rateLimited: 0 };

  constructor(private readonly options: RemovalNoticesOptions) {
    assert(Number.isFinite(options.intervalMs) && options.intervalMs > 0, () => `removal notices: interval ${options.intervalMs} must be positive`);
  }

  /** `peer`'s replica of `group` asked this host's replica for a vote: answer with a notice if the peer is not a member. */
  onVoteRequest(group: GroupId, peer: NodeId): void {
    this.counters.checked++;
    this.answer(group, peer);
  }

  /**
   * `peer`'s replica of `group`, a learner that heard from no leader for an
   * election timeout, asks whether it is still a member (a learner never
   * campaigns, so it would never ask for a vote): answered like a vote request.
   */
  onMemberQuery(group: GroupId, peer: NodeId): void {
    this.counters.queried++;
    this.answer(group, peer);
  }

  /** Sends `peer` a notice if this host's replica's committed configuration leaves it out, at most once per interval. */
  private answer(group: GroupId, peer: NodeId): void {
    const configIndex = this.options.configWithout(group, peer);
    if (configIndex === null) return;
    assert(configIndex > 0, () => `removal notices: configuration ${configIndex} of ${group} leaves ${peer} out at index 0`);
    const key = `${group}\u0000${peer}`;
    const now = this.options.clock.now();
    const last = this.lastSentAt.get(key);
    if (last !== undefined && now - last < this.options.intervalMs) {
      this.counters.rateLimited++;
      return;
    }
    this.lastSentAt.set(key, now);
    this.counters.sent++;
    this.options.send(peer, group, configIndex);
  }

  /** Forgets the notices older than the interval, so the table holds only peers heard from lately. Called every tick. */
  prune(): void {
    if (this.lastSentAt.size === 0) return;
    const now = this.options.clock.now();
    for (const [key, at] of this.lastSentAt) if (now - at >= this.options.intervalMs) this.lastSentAt.delete(key);
  }

  /** Counters since start. */
  stats(): RemovalNoticeStats {
    return { ...this.counters };
  }
}
