import { entrySizeBytes } from '../core/types.js';
import type { Entry, Index } from '../core/types.js';
import { assert } from '../util/assert.js';

/** A contiguous run of resident entries: `entries[offset]` is the entry asked for. */
export interface ResidentRun {
  readonly entries: readonly Entry[];
  readonly offset: number;
}

/**
 * One append's entries, kept as the array it arrived in (a copy of it).
 * Entries before `live` have been evicted; they stay in the array until the
 * segment is dropped or compacted, but are never handed out.
 */
interface Segment {
  readonly entries: readonly Entry[];
  /** Index of `entries[0]`. */
  readonly first: Index;
  live: number;
}

/**
 * The newest entries of the log, kept in memory so that the leader can send
 * them to followers and the node can apply them without touching the disk.
 *
 * It is bounded in bytes (by `entrySizeBytes`), except that it never evicts an
 * entry that is not yet durable: such an entry exists nowhere else, so a read
 * of it must be answered from here.
 *
 * Entries are kept per append, one array each, rather than pushed one by one
 * into a single array: appends arrive by the hundred and are evicted in the
 * same order, and an append then costs one array copy instead of a push (and
 * a later eviction) per entry. This was a fifth of LevelStorage's own CPU per
 * appended entry.
 */
export class TailCache {
  /** Resident segments are `segments[head..]`, contiguous and in index order; the prefix before `head` is dead space reclaimed lazily. */
  private segments: Segment[] = [];
  private head = 0;
  /** Sum of `entrySizeBytes` over the resident entries. */
  private residentBytes = 0;
  private residentCount = 0;
  /** The segment the last lookup found: reads walk forward through the tail, so the next lookup usually hits it or the one after. */
  private hint = 0;

  /** Total bytes of the resident entries. */
  get bytes(): number {
    return this.residentBytes;
  }

  /** Number of resident entries. */
  get size(): number {
    return this.residentCount;
  }

  /** Index of the oldest resident entry, or undefined when empty. */
  firstIndex(): Index | undefined {
    const segment = this.segments[this.head];
    return segment === undefined ? undefined : segment.first + segment.live;
  }

  /** The resident run starting at `index`, or undefined when `index` is not resident. */
  residentAt(index: Index): ResidentRun | undefined {
    const at = this.segmentAt(index);
    if (at === undefined) return undefined;
    const segment = this.segments[at]!;
    return { entries: segment.entries, offset: index - segment.first };
  }

  /**
   * Appends `entries`, which replace any resident entry at or after the first
   * one (a truncating append). When the first new entry is below the resident
   * range, the old tail is dropped and the new entries become the whole tail.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.truncateFrom(first.index);
    const last = this.lastIndex();
    assert(last === undefined || last + 1 === first.index,
      () => `tail cache: append at ${first.index} does not follow resident last ${String(last)}`);
    // A copy: the caller keeps its array, and may reuse it.
    this.segments.push({ entries: entries.slice(), first: first.index, live: 0 });
    this.residentBytes += sumBytes(entries, 0, entries.length);
    this.residentCount += entries.length;
  }

  /** Drops every resident entry with index `>= index`. */
  truncateFrom(index: Index): void {
    const first = this.firstIndex();
    if (first === undefined) return;
    if (index <= first) {
      this.clear();
      return;
    }
    while (this.segments.length > this.head) {
      const segment = this.segments[this.segments.length - 1]!;
      if (segment.first >= index) {
        this.segments.pop();
        this.forget(segment, segment.live, segment.entries.length);
        continue;
      }
      const keep = index - segment.first;
      if (keep < segment.entries.length) {
        this.forget(segment, keep, segment.entries.length);
        this.segments[this.segments.length - 1] = { entries: segment.entries.slice(0, keep), first: segment.first, live: segment.live };
      }
      break;
    }
    this.hint = this.head;
  }

  /** Drops every resident entry with index `< index`. */
  dropBefore(index: Index): void {
    this.dropHeadWhile(index, () => true);
  }

  /**
   * Evicts the oldest entries while the cache holds more than `maxBytes`,
   * stopping at `pinnedFrom`: entries from that index on are not yet durable.
   */
  evict(maxBytes: number, pinnedFrom: Index): void {
    if (this.residentBytes > maxBytes) this.dropHeadWhile(pinnedFrom, () => this.residentBytes > maxBytes);
  }

  /** Drops everything. */
  clear(): void {
    this.segments = [];
    this.head = 0;
    this.hint = 0;
    this.residentBytes = 0;
    this.residentCount = 0;
  }

  /** Drops the oldest entries, one at a time, while their index is below `below` and `more()` holds. */
  private dropHeadWhile(below: Index, more: () => boolean): void {
    while (this.head < this.segments.length) {
      const segment = this.segments[this.head]!;
      const end = Math.min(segment.entries.length, below - segment.first);
      while (segment.live < end && more()) {
        this.residentBytes -= entrySizeBytes(segment.entries[segment.live]!);
        this.residentCount--;
        segment.live++;
      }
      if (segment.live < segment.entries.length) break;
      // Release the segment so its entries can be collected before the array is compacted.
      (this.segments as (Segment | undefined)[])[this.head] = undefined;
      this.head++;
    }
    this.compact();
  }

  /**
   * Keeps dead space bounded: the dead prefix of the segment list once it is
   * at least half of it, and the evicted prefix of the head segment once it is
   * at least half of that segment, are dropped (amortised O(1) per entry).
   */
  private compact(): void {
    if (this.head > 0 && this.head * 2 >= this.segments.length) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
    const segment = this.segments[this.head];
    if (segment !== undefined && segment.live > 0 && segment.live * 2 >= segment.entries.length) {
      this.segments[this.head] = { entries: segment.entries.slice(segment.live), first: segment.first + segment.live, live: 0 };
    }
    this.hint = this.head;
  }

  /** The position in `segments` of the resident segment holding `index`, or undefined. */
  private segmentAt(index: Index): number | undefined {
    const count = this.segments.length;
    if (this.head >= count) return undefined;
    const hinted = this.hint < count ? this.hint : this.head;
    for (let at = hinted; at < count && at <= hinted + 1; at++) {
      if (this.holds(at, index)) return (this.hint = at);
    }
    let low = this.head;
    let high = count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const segment = this.segments[middle]!;
      if (index < segment.first + segment.live) high = middle - 1;
      else if (index >= segment.first + segment.entries.length) low = middle + 1;
      else return (this.hint = middle);
    }
    return undefined;
  }

  private holds(at: number, index: Index): boolean {
    const segment = this.segments[at]!;
    return index >= segment.first + segment.live && index < segment.first + segment.entries.length;
  }

  private lastIndex(): Index | undefined {
    if (this.head >= this.segments.length) return undefined;
    const segment = this.segments[this.segments.length - 1]!;
    return segment.first + segment.entries.length - 1;
  }

  /** Takes `entries[from..to)` of `segment` out of the resident totals. */
  private forget(segment: Segment, from: number, to: number): void {
    this.residentBytes -= sumBytes(segment.entries, from, to);
    this.residentCount -= to - from;
  }
}

function sumBytes(entries: readonly Entry[], from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) bytes += entrySizeBytes(entries[i]!);
  return bytes;
}
