import { assert } from '../util/assert.js';

/**
 * The AppendEntries messages a leader has sent to one follower in the
 * replicate state and not yet seen acknowledged: a sliding window bounded by
 * message count and by bytes. When the window is full, replication to that
 * follower pauses until acknowledgements free room.
 */
export class Inflights {
  /** Last entry index of each in-flight message, in send order (increasing). */
  private readonly lastIndexes: number[] = [];
  private readonly sizesBytes: number[] = [];
  private bytes = 0;

  /**
   * @param maxCount the most messages in flight (≥ 1).
   * @param maxBytes the most payload bytes in flight; 0 means no byte limit.
   */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    assert(Number.isSafeInteger(maxCount) && maxCount >= 1, `inflights: maxCount ${maxCount} must be ≥ 1`);
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, `inflights: maxBytes ${maxBytes} must be ≥ 0`);
  }

  /** Records a sent message whose last entry is `lastIndex`. */
  add(lastIndex: number, sizeBytes: number): void {
    if (this.full()) assert(false, `inflights: add(${lastIndex}) while full (${this.lastIndexes.length} msgs, ${this.bytes} bytes)`);
    const previous = this.lastIndexes[this.lastIndexes.length - 1];
    if (previous !== undefined && lastIndex <= previous) assert(false, `inflights: index ${lastIndex} not after ${previous}`);
    this.lastIndexes.push(lastIndex);
    this.sizesBytes.push(sizeBytes);
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is ≤ `index` (they were acknowledged). */
  freeLE(index: number): void {
    let freed = 0;
    while (freed < this.lastIndexes.length && this.lastIndexes[freed]! <= index) {
      this.bytes -= this.sizesBytes[freed]!;
      freed++;
    }
    if (freed > 0) {
      this.lastIndexes.splice(0, freed);
      this.sizesBytes.splice(0, freed);
    }
  }

  /** Frees the oldest message, whether or not it was acknowledged. */
  freeFirst(): void {
    const first = this.lastIndexes[0];
    if (first !== undefined) this.freeLE(first);
  }

  /** True when no further message may be sent. */
  full(): boolean {
    return this.lastIndexes.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.lastIndexes.length;
  }

  sizeBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.lastIndexes.length = 0;
    this.sizesBytes.length = 0;
    this.bytes = 0;
  }
}
