import { entrySizeBytes } from '../core/types.js';
import type { Entry, Index } from '../core/types.js';
import { assert } from '../util/assert.js';

/** A contiguous run of resident entries: `entries[offset]` is the entry asked for. */
export interface ResidentRun {
  readonly entries: readonly Entry[];
  readonly offset: number;
}

/**
 * The newest entries of the log, kept in memory so that the leader can send
 * them to followers and the node can apply them without touching the disk.
 *
 * It is bounded in bytes (by `entrySizeBytes`), except that it never evicts an
 * entry that is not yet durable: such an entry exists nowhere else, so a read
 * of it must be answered from here.
 */
export class TailCache {
  /** Resident entries are `entries[head..]`; the prefix before `head` is dead space reclaimed lazily. */
  private entries: Entry[] = [];
  private head = 0;
  /**
   * Sum of `entrySizeBytes` over the resident entries.
   * Invariant: resident entries are contiguous, and the last is the log's last entry.
   */
  private residentBytes = 0;

  /** Total bytes of the resident entries. */
  get bytes(): number {
    return this.residentBytes;
  }

  /** Number of resident entries. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Index of the oldest resident entry, or undefined when empty. */
  firstIndex(): Index | undefined {
    return this.entries[this.head]?.index;
  }

  /** The resident run starting at `index`, or undefined when `index` is not resident. */
  residentAt(index: Index): ResidentRun | undefined {
    const first = this.firstIndex();
    if (first === undefined || index < first) return undefined;
    const offset = this.head + index - first;
    if (offset >= this.entries.length) return undefined;
    return { entries: this.entries, offset };
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
    const last = this.entries[this.entries.length - 1];
    assert(last === undefined || last.index + 1 === first.index,
      () => `tail cache: append at ${first.index} does not follow resident last ${String(last?.index)}`);
    for (const entry of entries) {
      this.entries.push(entry);
      this.residentBytes += entrySizeBytes(entry);
    }
  }

  /** Drops every resident entry with index `>= index`. */
  truncateFrom(index: Index): void {
    const first = this.firstIndex();
    if (first === undefined) return;
    if (index <= first) {
      this.clear();
      return;
    }
    const keep = this.head + index - first;
    while (this.entries.length > keep) this.residentBytes -= entrySizeBytes(this.entries.pop()!);
  }

  /** Drops every resident entry with index `< index`. */
  dropBefore(index: Index): void {
    while (this.head < this.entries.length && this.entries[this.head]!.index < index) this.dropHead();
    this.reclaim();
  }

  /**
   * Evicts the oldest entries while the cache holds more than `maxBytes`,
   * stopping at `pinnedFrom`: entries from that index on are not yet durable.
   */
  evict(maxBytes: number, pinnedFrom: Index): void {
    while (this.residentBytes > maxBytes && this.head < this.entries.length && this.entries[this.head]!.index < pinnedFrom) {
      this.dropHead();
    }
    this.reclaim();
  }

  /** Drops everything. */
  clear(): void {
    this.entries = [];
    this.head = 0;
    this.residentBytes = 0;
  }

  private dropHead(): void {
    const entry = this.entries[this.head]!;
    // Release the reference so the entry's bytes can be collected before the array is compacted.
    (this.entries as (Entry | undefined)[])[this.head] = undefined;
    this.head++;
    this.residentBytes -= entrySizeBytes(entry);
  }

  /** Compacts the array once the dead prefix is at least half of it, so eviction stays amortised O(1). */
  private reclaim(): void {
    if (this.head === 0 || this.head * 2 < this.entries.length) return;
    this.entries = this.entries.slice(this.head);
    this.head = 0;
  }
}
