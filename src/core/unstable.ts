import { assert } from '../util/assert.js';
import type { Entry, Index, SnapshotMeta, Term } from './types.js';

/**
 * The part of a node's log that is not yet durable: entries (and possibly a
 * snapshot) the core has accepted and handed, or will hand, to the runtime in
 * a Ready. Once the runtime reports them durable (`advance()`), they are
 * dropped from here and read from storage instead.
 *
 * Invariant: `entries[i].index === offset + i`; everything below `offset`
 * that the log holds is durable in storage (or covered by `snapshot`).
 */
export class Unstable {
  /** A snapshot received from the leader and not yet durable. */
  snapshot: SnapshotMeta | null = null;
  entries: Entry[] = [];
  offset: Index;
  /** Entries from `offset` up to (not including) this index were handed out in the outstanding Ready. */
  offsetInProgress: Index;
  /** The snapshot was handed out in the outstanding Ready. */
  snapshotInProgress = false;

  constructor(offset: Index) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The term at `index` if this part of the log knows it. */
  maybeTerm(index: Index): Term | undefined {
    if (index < this.offset) {
      return this.snapshot !== null && this.snapshot.index === index ? this.snapshot.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.index;
  }

  maybeFirstIndex(): Index | undefined {
    return this.snapshot === null ? undefined : this.snapshot.index + 1;
  }

  /** True when {@link entriesToPersist} would return entries; without copying them. */
  hasEntriesToPersist(): boolean {
    return this.offsetInProgress < this.offset + this.entries.length;
  }

  /** Entries not yet handed out in a Ready. */
  entriesToPersist(): readonly Entry[] {
    return this.entries.slice(this.offsetInProgress - this.offset);
  }

  /** Marks everything currently here as handed out. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /** The runtime made entries up to `index` (with `term` at that index) durable. */
  stableTo(index: Index, term: Term): void {
    // A later append may have replaced the entry since it was handed out; then it is not stable yet.
    if (this.maybeTerm(index) !== term || index < this.offset) return;
    const count = index + 1 - this.offset;
    this.entries = this.entries.slice(count);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  /** The runtime made the snapshot at `index` durable. */
  stableSnapshotTo(index: Index): void {
    if (this.snapshot !== null && this.snapshot.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces the whole unstable log with a snapshot received from the leader. */
  restore(snapshot: SnapshotMeta): void {
    this.offset = snapshot.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
  }

  /** Appends `entries`, first dropping any unstable entries at or after `entries[0].index`. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const end = this.offset + this.entries.length;
    if (first.index === end) {
      this.entries.push(...entries);
    } else if (first.index <= this.offset) {
      // The whole unstable tail is replaced; storage entries from first.index on are overwritten when this is persisted.
      this.offset = first.index;
      this.entries = [...entries];
    } else {
      if (!(first.index < end)) assert(false, `unstable: append at ${first.index} leaves a gap after ${end - 1}`);
      this.entries = [...this.entries.slice(0, first.index - this.offset), ...entries];
    }
    // Anything replaced must be handed out again, even if an earlier Ready already carried it.
    this.offsetInProgress = Math.min(this.offsetInProgress, first.index);
  }
}
