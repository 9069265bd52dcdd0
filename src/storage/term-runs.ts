import type { Entry, Index, Term } from '../core/types.js';
import { assert } from '../util/assert.js';
import type { TermRun } from './level-records.js';

/** What a change to the run table requires on disk: keys to delete, then runs to write. */
export interface TermRunChanges {
  /** Starts of runs that no longer exist (their keys are deleted). */
  readonly removed: readonly Index[];
  /** Runs to write (their keys are put after the deletions, so a start in both ends up written). */
  readonly added: readonly TermRun[];
}

/**
 * The run-length table of terms over the stored entries: one run per place
 * where the term changes. It answers `term(index)` for every stored index
 * without the entry in memory, and it is small, since terms change only on
 * elections, so it is read whole when the storage opens instead of scanning
 * the log.
 *
 * The table covers the entries `firstIndex .. lastIndex` of the log and nothing
 * else; the snapshot's term is kept by the snapshot meta.
 */
export class TermRuns {
  /**
   * Invariant: starts strictly increase; adjacent runs have different terms;
   * when non-empty, `runs[0].start` is the log's first entry index.
   */
  private readonly runs: TermRun[];

  /** @param runs the runs as stored, in start order; the caller has validated them. */
  constructor(runs: readonly TermRun[] = []) {
    this.runs = [...runs];
    for (let i = 1; i < this.runs.length; i++) {
      const previous = this.runs[i - 1]!;
      const run = this.runs[i]!;
      assert(run.start > previous.start, () => `term runs: start ${run.start} after ${previous.start}`);
      assert(run.term !== previous.term, () => `term runs: runs at ${previous.start} and ${run.start} share term ${run.term}`);
    }
  }

  /** Number of runs. */
  get size(): number {
    return this.runs.length;
  }

  /** A copy of the runs in start order. */
  list(): readonly TermRun[] {
    return [...this.runs];
  }

  /** The term of the entry at `index`. The caller guarantees `index` is a stored entry's index. */
  termAt(index: Index): Term {
    const run = this.runs[this.runIndexAt(index)];
    assert(run !== undefined, () => `term runs: no run covers index ${index}`);
    return run.term;
  }

  /**
   * Records an append of contiguous `entries`: runs starting at or after the
   * first entry are dropped (the entries they describe are being replaced), and
   * a run is added wherever the term changes.
   */
  append(entries: readonly Entry[]): TermRunChanges {
    const first = entries[0];
    if (first === undefined) return { removed: [], added: [] };
    const removed: Index[] = [];
    while (this.runs.length > 0 && this.runs[this.runs.length - 1]!.start >= first.index) {
      removed.push(this.runs.pop()!.start);
    }
    const added: TermRun[] = [];
    for (const entry of entries) {
      const last = this.runs[this.runs.length - 1];
      if (last !== undefined && last.term === entry.term) continue;
      const run = { start: entry.index, term: entry.term };
      this.runs.push(run);
      added.push(run);
    }
    return { removed, added };
  }

  /**
   * Drops the runs of entries below `firstIndex` (compaction into a snapshot,
   * with entries kept up to `lastIndex`). The run that covers `firstIndex` is
   * moved to start there, so that the table keeps covering exactly the log.
   */
  compactTo(firstIndex: Index, lastIndex: Index): TermRunChanges {
    if (firstIndex > lastIndex) return this.clear();
    const covering = this.runIndexAt(firstIndex);
    const dropped = this.runs.splice(0, covering + 1);
    const kept = dropped[dropped.length - 1];
    assert(kept !== undefined, () => `term runs: no run covers new first index ${firstIndex}`);
    const removed = dropped.filter((run) => run.start !== firstIndex).map((run) => run.start);
    const moved = { start: firstIndex, term: kept.term };
    this.runs.unshift(moved);
    return { removed, added: kept.start === firstIndex ? [] : [moved] };
  }

  /** Drops every run (the log is discarded). */
  clear(): TermRunChanges {
    const removed = this.runs.map((run) => run.start);
    this.runs.length = 0;
    return { removed, added: [] };
  }

  /** Position of the run covering `index`: the last run whose start is at or below it. */
  private runIndexAt(index: Index): number {
    let low = 0;
    let high = this.runs.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.runs[middle]!.start <= index) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    assert(found >= 0, () => `term runs: index ${index} is below the first run start ${String(this.runs[0]?.start)}`);
    return found;
  }
}
