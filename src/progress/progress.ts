import { assert } from '../util/assert.js';
import { Inflights } from './inflights.js';

/**
 * How a leader replicates to one follower:
 * - `probe`: the leader does not know where the follower's log matches; it
 *   sends one AppendEntries at a time (one per heartbeat interval) and backs
 *   `next` off on each rejection until one succeeds;
 * - `replicate`: the logs match up to `match`; the leader streams entries
 *   optimistically, bounded by the inflight window;
 * - `snapshot`: the follower needs entries the leader has compacted; the leader
 *   sends a snapshot and waits until it is applied or reported failed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A leader's view of one follower's log (Figure 2's matchIndex and nextIndex, plus flow control). */
export class Progress {
  /** Highest index known to be replicated on the follower. Invariant: 0 ≤ match < next; never decreases within a term. */
  match: number;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In the snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** In the probe state: an AppendEntries is out and the leader waits for its answer or the next heartbeat. */
  probeSent = false;
  /** The follower answered something since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, maxInflightBytes: number) {
    this.match = 0;
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
    this.assertInvariant();
  }

  /** Enters probe: restart from just after the known match (or after a snapshot just sent). */
  becomeProbe(): void {
    const afterSnapshot = this.state === 'snapshot' ? this.pendingSnapshot + 1 : 0;
    this.reset('probe');
    this.next = Math.max(this.match + 1, afterSnapshot);
    this.assertInvariant();
  }

  /** Enters replicate: stream from just after the known match. */
  becomeReplicate(): void {
    this.reset('replicate');
    this.next = this.match + 1;
    this.assertInvariant();
  }

  /** Enters snapshot: a snapshot at `snapshotIndex` is being sent. */
  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = Math.max(this.match + 1, snapshotIndex + 1);
    this.assertInvariant();
  }

  /**
   * Records that the follower acknowledged entries up to `index`. Returns false
   * when the acknowledgement is stale (not beyond what was known).
   */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.assertInvariant();
    return updated;
  }

  /**
   * Handles a rejection of the AppendEntries whose prevLogIndex was
   * `rejected`; `matchHint` is the highest index the follower's hint says may
   * match. Returns false when the rejection is stale and must be ignored.
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below match is a duplicate or reordered answer.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe, only the answer to the one probe outstanding counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    this.assertInvariant();
    return true;
  }

  /** Records that an AppendEntries carrying `entryCount` entries, ending at `lastIndex`, was sent. */
  sentEntries(entryCount: number, lastIndex: number, sizeBytes: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, sizeBytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
    this.assertInvariant();
  }

  /** True when the leader should not send this follower more entries now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  private assertInvariant(): void {
    // Checked on every update, so no message is built unless it fails.
    if (!(this.match >= 0 && this.match < this.next)) assert(false, `progress: invariant 0 ≤ match ${this.match} < next ${this.next} broken`);
  }
}
