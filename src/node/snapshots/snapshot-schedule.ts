import type { Index, NodeId } from '../../core/types.js';
import { assert } from '../../util/assert.js';

/** The thresholds of a {@link SnapshotSchedule} (from `SnapshotPolicy`), and the backoff after a failure. */
export interface SnapshotScheduleOptions {
  /** Entries applied since the last snapshot that make the next one due. */
  readonly entries: number;
  /** Payload bytes applied since the last snapshot that make the next one due. */
  readonly bytes: number;
  /** The first retry after a failed snapshot waits this long; each further failure doubles it. */
  readonly retryMinMs: number;
  /** The longest wait between retries. */
  readonly retryMaxMs: number;
}

/**
 * At most this fraction of a threshold is taken off by the jitter: a node
 * snapshots after between 3/4 and all of `entries` (or `bytes`), never later,
 * so the bound on the log's length that the policy promises still holds.
 */
const JITTER_FRACTION = 0.25;

/**
 * When this node's next snapshot is due: enough entries or payload bytes
 * applied since the last one, staggered per node, and not while a failed
 * attempt is backing off.
 *
 * **Stagger.** Nodes of a cluster apply the same entries at about the same
 * time, so one fixed threshold would have every node snapshot at the same
 * index, in lock-step. Each round's threshold is lowered by a jitter of up to
 * a quarter, a hash of the node's id and the last snapshot's index: it differs
 * between nodes and between rounds, and a run is still a function of its seed
 * (no `Math.random`, and no draw from the core's random stream, whose election
 * timeouts it would shift).
 */
export class SnapshotSchedule {
  /** Index of the newest snapshot this node holds (taken or installed). */
  private snapshotIndex: Index;
  /** Payload bytes applied since the newest snapshot's capture. */
  private bytesSinceSnapshot = 0;
  /** The jittered thresholds of the current round. */
  private entriesDue = 0;
  private bytesDue = 0;
  /** Consecutive failed attempts; 0 after a success. */
  private failures = 0;
  /** No attempt before this clock time (after a failure). */
  private retryAtMs = 0;

  constructor(
    private readonly id: NodeId,
    private readonly options: SnapshotScheduleOptions,
    snapshotIndex: Index,
  ) {
    assert(options.retryMinMs > 0 && options.retryMaxMs >= options.retryMinMs, () => `snapshot schedule: retry ${options.retryMinMs}..${options.retryMaxMs} ms`);
    this.snapshotIndex = snapshotIndex;
    this.startRound();
  }

  /** An entry carrying `bytes` of payload was applied. */
  applied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /** True when a snapshot should be taken now, with `appliedIndex` applied at clock time `nowMs`. */
  due(appliedIndex: Index, nowMs: number): boolean {
    if (nowMs < this.retryAtMs) return false;
    return appliedIndex - this.snapshotIndex >= this.entriesDue || this.bytesSinceSnapshot >= this.bytesDue;
  }

  /**
   * A snapshot at `index` is durable; `bytesCovered` is what {@link bytesApplied}
   * said when it was captured (bytes applied since then count toward the next).
   */
  succeeded(index: Index, bytesCovered: number): void {
    if (index > this.snapshotIndex) this.snapshotIndex = index;
    this.bytesSinceSnapshot = Math.max(0, this.bytesSinceSnapshot - bytesCovered);
    this.failures = 0;
    this.retryAtMs = 0;
    this.startRound();
  }

  /** An attempt failed at clock time `nowMs`: back off exponentially before the next. */
  failed(nowMs: number): void {
    this.failures++;
    const delayMs = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(this.failures - 1, 30));
    this.retryAtMs = nowMs + delayMs;
  }

  /** A snapshot at `index` from the leader was installed: it covers everything applied so far. */
  installed(index: Index): void {
    if (index <= this.snapshotIndex) return;
    this.snapshotIndex = index;
    this.bytesSinceSnapshot = 0;
    this.startRound();
  }

  /** Payload bytes applied since the newest snapshot. */
  get bytesApplied(): number {
    return this.bytesSinceSnapshot;
  }

  /** The entries threshold of the current round (for tests and docs). */
  get entriesThreshold(): number {
    return this.entriesDue;
  }

  private startRound(): void {
    const fraction = JITTER_FRACTION * (hash32(`${this.id}\u0000${this.snapshotIndex}`) / 0x1_0000_0000);
    this.entriesDue = Math.max(1, Math.ceil(this.options.entries * (1 - fraction)));
    this.bytesDue = Math.max(1, Math.ceil(this.options.bytes * (1 - fraction)));
    assert(this.entriesDue <= this.options.entries && this.bytesDue <= this.options.bytes, () =>
      `snapshot schedule: jittered thresholds ${this.entriesDue}/${this.bytesDue} above ${this.options.entries}/${this.options.bytes}`);
  }
}

/** FNV-1a over the UTF-16 code units of `text`, then a murmur3 finaliser so that nearby inputs spread. */
function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
