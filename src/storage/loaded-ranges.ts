import { entrySizeBytes } from '../core/types.js';
import type { Entry, Index } from '../core/types.js';
import { assert } from '../util/assert.js';
import type { ResidentRun } from './tail-cache.js';

/** The most segments kept at once, so that a lookup (a linear scan) stays cheap. */
export const MAX_LOADED_SEGMENTS = 64;

interface Segment {
  readonly start: Index;
  /** Contiguous entries from `start`. */
  entries: Entry[];
  bytes: number;
}

/**
 * Older entries loaded from disk on demand, for a follower that is catching
 * up or a node applying a long backlog. A separate cache from the tail so that
 * a slow follower reading old entries cannot evict the tail the others need.
 *
 * Bounded in bytes and in segment count; the least recently used segment is
 * evicted first. The newest segment stays even if it alone exceeds the budget,
 * so that a load always serves at least the call that asked for it.
 */
export class LoadedRanges {
  /** Map order is recency order: a hit re-inserts the segment at the end. */
  private readonly segments = new Map<Index, Segment>();
  /** Invariant: the sum of the segments' bytes. */
  private totalBytes = 0;

  /** @param maxBytes byte budget of all segments together. */
  constructor(private readonly maxBytes: number) {
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 0, () => `loaded ranges: invalid budget ${maxBytes}`);
  }

  /** Total bytes held. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Number of segments held. */
  get size(): number {
    return this.segments.size;
  }

  /** The loaded run containing `index`, or undefined. Marks the segment as recently used. */
  residentAt(index: Index): ResidentRun | undefined {
    for (const segment of this.segments.values()) {
      const offset = index - segment.start;
      if (offset < 0 || offset >= segment.entries.length) continue;
      this.segments.delete(segment.start);
      this.segments.set(segment.start, segment);
      return { entries: segment.entries, offset };
    }
    return undefined;
  }

  /** Adds contiguous `entries` as a segment, replacing segments it overlaps, then evicts down to the budget. */
  insert(entries: Entry[]): void {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    for (const segment of [...this.segments.values()]) {
      const segmentLast = segment.start + segment.entries.length - 1;
      if (segment.start <= last.index && segmentLast >= first.index) this.remove(segment);
    }
    const bytes = entries.reduce((sum, entry) => sum + entrySizeBytes(entry), 0);
    this.segments.set(first.index, { start: first.index, entries, bytes });
    this.totalBytes += bytes;
    this.evict(first.index);
  }

  /** Drops every loaded entry with index `>= index` (the log was truncated there). */
  truncateFrom(index: Index): void {
    for (const segment of [...this.segments.values()]) {
      if (segment.start >= index) {
        this.remove(segment);
      } else if (segment.start + segment.entries.length > index) {
        const dropped = segment.entries.splice(index - segment.start);
        const droppedBytes = dropped.reduce((sum, entry) => sum + entrySizeBytes(entry), 0);
        segment.bytes -= droppedBytes;
        this.totalBytes -= droppedBytes;
      }
    }
  }

  /** Drops every loaded entry with index `< index` (compacted into a snapshot). */
  dropBefore(index: Index): void {
    for (const segment of [...this.segments.values()]) {
      if (segment.start + segment.entries.length <= index) this.remove(segment);
    }
  }

  /** Drops everything. */
  clear(): void {
    this.segments.clear();
    this.totalBytes = 0;
  }

  private evict(keepStart: Index): void {
    for (const segment of [...this.segments.values()]) {
      const overBudget = this.totalBytes > this.maxBytes || this.segments.size > MAX_LOADED_SEGMENTS;
      if (!overBudget) break;
      if (segment.start !== keepStart) this.remove(segment);
    }
  }

  private remove(segment: Segment): void {
    this.segments.delete(segment.start);
    this.totalBytes -= segment.bytes;
    assert(this.totalBytes >= 0, () => `loaded ranges: byte count went negative (${this.totalBytes})`);
  }
}
