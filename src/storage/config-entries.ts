import type { Entry, Index } from '../core/types.js';
import { assert } from '../util/assert.js';

/** What a change to the configuration entries requires on disk: keys to delete, then entries to write. */
export interface ConfigEntryChanges {
  /** Indexes whose configuration entry is gone (their `c` keys are deleted). */
  readonly removed: readonly Index[];
  /** Configuration entries to write (their `c` keys are put after the deletions). */
  readonly added: readonly Entry[];
}

/**
 * The configuration entries of the stored log, kept in memory whole, so that
 * `configEntries()` answers at once however far below the tail they lie.
 *
 * A restarted core recomputes its configuration from every configuration
 * entry of its log (dissertation §4.1), and {@link LevelStorage} keeps only a
 * bounded tail of entries in memory. Configuration changes are rare (one per
 * membership change, as term runs are one per election), so the list is small
 * and is read whole from its own key range when the storage opens; each change
 * to it is written in the same batch as the entries it follows.
 *
 * Like the term runs, it covers the entries `firstIndex .. lastIndex` and
 * nothing else.
 */
export class ConfigEntries {
  /** Invariant: indexes strictly increase; every entry has type `config`. */
  private readonly entries: Entry[];

  /** @param entries the entries as stored, in index order; the caller has validated them. */
  constructor(entries: readonly Entry[] = []) {
    this.entries = [...entries];
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      assert(entry.type === 'config', () => `config entries: entry ${entry.index} has type ${entry.type}`);
      if (i > 0) {
        const previous = this.entries[i - 1]!;
        assert(entry.index > previous.index, () => `config entries: index ${entry.index} after ${previous.index}`);
      }
    }
  }

  /** Number of configuration entries held. */
  get size(): number {
    return this.entries.length;
  }

  /** A copy of the entries in index order. */
  list(): readonly Entry[] {
    return [...this.entries];
  }

  /**
   * Records an append of contiguous `entries`: the configuration entries at
   * or after the first one go (they are being replaced), and every
   * configuration entry among `entries` is added.
   */
  append(entries: readonly Entry[]): ConfigEntryChanges {
    const first = entries[0];
    if (first === undefined) return { removed: [], added: [] };
    const removed = this.removeWhere((entry) => entry.index >= first.index);
    const added = entries.filter((entry) => entry.type === 'config');
    for (const entry of added) this.entries.push(entry);
    return { removed, added };
  }

  /** Drops the entries below `firstIndex` (compaction into a snapshot). */
  compactTo(firstIndex: Index): ConfigEntryChanges {
    return { removed: this.removeWhere((entry) => entry.index < firstIndex), added: [] };
  }

  /** Drops every entry (the log is discarded). */
  clear(): ConfigEntryChanges {
    return { removed: this.removeWhere(() => true), added: [] };
  }

  private removeWhere(remove: (entry: Entry) => boolean): Index[] {
    const removed: Index[] = [];
    let kept = 0;
    for (const entry of this.entries) {
      if (remove(entry)) removed.push(entry.index);
      else this.entries[kept++] = entry;
    }
    this.entries.length = kept;
    return removed;
  }
}
