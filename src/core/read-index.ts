import type { MajorityConfig } from '../quorum/majority.js';
import type { Index, NodeId } from './types.js';

/** A linearizable read that may proceed once the node has applied up to `index`. */
export interface ReadState {
  readonly requestId: string;
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
 * The leader's ReadIndex bookkeeping (Raft dissertation §6.4). Each read gets
 * a round number; heartbeats carry the newest round; a follower's answer to a
 * heartbeat of round r shows it still accepted this leader after every read
 * of round ≤ r arrived. A read is confirmed once a quorum (the leader counts
 * itself) has acknowledged its round.
 */
export class ReadIndexTracker {
  private readonly pending: PendingRead[] = [];
  private readonly ackedRound = new Map<NodeId, number>();
  private lastRound = 0;

  constructor(private readonly self: NodeId) {}

  /** Registers a read at the current commit index and returns the round a heartbeat must carry. */
  add(requestId: string, from: NodeId, index: Index): number {
    this.lastRound++;
    this.pending.push({ requestId, from, index, round: this.lastRound });
    return this.lastRound;
  }

  /** The round heartbeats should carry now (0 when no read waits). */
  currentRound(): number {
    return this.pending.length === 0 ? 0 : this.lastRound;
  }

  /**
   * Records that `from` acknowledged heartbeats up to `round` and returns the
   * reads that a quorum has now confirmed, oldest first.
   */
  acknowledge(from: NodeId, round: number, voters: MajorityConfig): PendingRead[] {
    if (round === 0 || this.pending.length === 0) return [];
    this.ackedRound.set(from, Math.max(round, this.ackedRound.get(from) ?? 0));
    this.ackedRound.set(this.self, this.lastRound);
    const confirmed = voters.committedIndex((id) => this.ackedRound.get(id) ?? 0);
    let released = 0;
    while (released < this.pending.length && this.pending[released]!.round <= confirmed) released++;
    return this.pending.splice(0, released);
  }

  /** Confirms every pending read at once: only correct when this node is the sole voter. */
  releaseAll(): PendingRead[] {
    return this.pending.splice(0, this.pending.length);
  }

  pendingCount(): number {
    return this.pending.length;
  }
}
