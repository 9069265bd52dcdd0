import type { JointConfig } from '../quorum/joint.js';
import type { Index, NodeId } from './types.js';

/** A linearizable read that may proceed once the node has applied up to `index`. */
export interface ReadState {
  /** The identifier the read was registered with (`RawNode.readIndex`). */
  readonly requestId: string;
  /** The read index: serve the read once the state machine has applied up to here. */
  readonly index: Index;
}

/** A read waiting for the leader to confirm it is still leader. */
export interface PendingRead {
  readonly requestId: string;
  /** The node that asked: the leader itself, or a follower to answer with a ReadIndexResponse. */
  readonly from: NodeId;
  /** The leader's commit index when the read arrived. */
  readonly index: Index;
  /** The heartbeat round that must be acknowledged by a quorum. */
  readonly round: number;
}

/**
 * The leader's heartbeat rounds, for ReadIndex reads and the read lease
 * (Raft dissertation §6.4).
 *
 * Every heartbeat broadcast is a numbered round, stamped with the leader's
 * tick. A follower's answer to round r shows it still accepted this leader
 * when it got that heartbeat. Once a quorum (the leader counts itself) has
 * answered round r:
 * - every read registered before round r was sent is confirmed;
 * - the lease starts at the tick round r was sent: no other leader can be
 *   elected until those followers' election timeouts (counted from when they
 *   received it, so later) have passed.
 */
export class ReadIndexTracker {
  private readonly pending: PendingRead[] = [];
  private readonly ackedRound = new Map<NodeId, number>();
  /** Send ticks of the rounds not yet confirmed, oldest first; older than a lease is long they are useless and pruned. */
  private readonly sentAt = new Map<number, number>();
  private lastRound = 0;
  private confirmedRound = 0;
  private leaseStartTick: number | null = null;
  /** Rounds at or below this cannot start a lease (it was invalidated after they were sent). */
  private leaseFloorRound = 0;

  constructor(
    private readonly self: NodeId,
    private readonly leaseTicks: number,
  ) {}

  /** Reads registered and not yet confirmed. */
  get size(): number {
    return this.pending.length;
  }

  /** Registers a read at the current commit index; the next heartbeat round confirms it. */
  add(requestId: string, from: NodeId, index: Index): void {
    this.pending.push({ requestId, from, index, round: this.lastRound + 1 });
  }

  /** Starts a heartbeat round sent at `tick` and returns its number. */
  nextRound(tick: number): number {
    this.lastRound++;
    this.sentAt.set(this.lastRound, tick);
    for (const [round, sentTick] of this.sentAt) {
      if (sentTick >= tick - this.leaseTicks) break;
      this.sentAt.delete(round);
    }
    return this.lastRound;
  }

  /**
   * Records that `from` answered heartbeat round `round` and returns the
   * reads that a quorum has now confirmed, oldest first.
   */
  acknowledge(from: NodeId, round: number, voters: JointConfig): PendingRead[] {
    if (round === 0 || round > this.lastRound) return [];
    this.ackedRound.set(from, Math.max(round, this.ackedRound.get(from) ?? 0));
    this.ackedRound.set(this.self, this.lastRound);
    const confirmed = voters.committedIndex((id) => this.ackedRound.get(id) ?? 0);
    if (confirmed > this.confirmedRound) {
      this.confirmedRound = confirmed;
      const sentTick = this.sentAt.get(confirmed);
      if (sentTick !== undefined && confirmed > this.leaseFloorRound) this.leaseStartTick = Math.max(this.leaseStartTick ?? sentTick, sentTick);
      for (const pruned of this.sentAt.keys()) {
        if (pruned > confirmed) break;
        this.sentAt.delete(pruned);
      }
    }
    let released = 0;
    while (released < this.pending.length && this.pending[released]!.round <= this.confirmedRound) released++;
    return this.pending.splice(0, released);
  }

  /** The tick at which the newest quorum-acknowledged heartbeat was sent, or null when there is none. */
  leaseStart(): number | null {
    return this.leaseStartTick;
  }

  /** Voids the lease, and any lease that heartbeats already sent could start (a leadership transfer bypasses followers' leases). */
  invalidateLease(): void {
    this.leaseStartTick = null;
    this.leaseFloorRound = this.lastRound;
  }
}
