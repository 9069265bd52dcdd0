import type { Index } from '../core/types.js';
import { StorageIOError } from '../errors.js';
import type { LevelDb } from './level-db.js';
import { blockStartAt } from './entry-blocks.js';
import { entryKey } from './level-keys.js';

/**
 * Deletes entries that a snapshot compacted away: every block below the one
 * that holds the first index. That block may start below the first index; it
 * stays until a later compaction passes its last entry.
 *
 * Compaction is made atomic by the snapshot record, not by deleting the
 * prefix: once the new snapshot meta is durable, every entry below its index
 * is dead, because open and every read start at the snapshot index + 1. The
 * dead keys are then removed here with `db.clear`, which classic-level runs in
 * several internal batches (not atomically) and which can take a while for a
 * large prefix. That is fine for garbage: if the process dies halfway, the
 * keys left over are still below the first index, and the next open finds
 * them and collects them again.
 *
 * Runs one clear at a time and never clears at or above the first index of a
 * durable snapshot, so it cannot race with appends, which only write above it.
 */
export class PrefixCollector {
  /** Invariant: no entry key below `floor` remains on disk, except the block holding the first index. */
  private floor: Index;
  /** Everything below `target` is garbage. */
  private target: Index;
  /** Collections have run for every first index up to this one. */
  private collected: Index;
  private running: Promise<void> | null = null;

  /**
   * @param db the database.
   * @param floor lowest entry index that may still be on disk below `firstIndex`.
   * @param firstIndex the log's first index as stored: everything below it is garbage.
   * @param onFailure called when a clear fails; the storage then refuses further writes.
   */
  constructor(
    private readonly db: LevelDb,
    floor: Index,
    firstIndex: Index,
    private readonly onFailure: (error: StorageIOError) => void,
  ) {
    this.floor = Math.min(floor, firstIndex);
    this.target = firstIndex;
    this.collected = this.floor;
  }

  /** Starts collecting when there is garbage left from before the storage was opened. */
  start(): void {
    if (this.collected < this.target) this.run();
  }

  /** A snapshot with first index `firstIndex` is durable: collect the entries below it. */
  collectBelow(firstIndex: Index): void {
    if (firstIndex <= this.target) return;
    this.target = firstIndex;
    this.run();
  }

  /** Resolves when no clear is running. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private run(): void {
    if (this.running !== null) return;
    this.running = this.collect().finally(() => {
      this.running = null;
    });
  }

  private async collect(): Promise<void> {
    while (this.collected < this.target) {
      const upTo = this.target;
      let keep: Index;
      try {
        // The block holding the first index may start below it; it stays,
        // with everything from its key on (see entry-blocks.ts).
        keep = Math.min(upTo, (await blockStartAt(this.db, upTo)) ?? upTo);
        if (this.floor < keep) await this.db.clear({ gte: entryKey(this.floor), lt: entryKey(keep) });
      } catch (error) {
        this.onFailure(new StorageIOError(`cannot delete compacted entries ${this.floor}..${upTo - 1}`, { cause: error }));
        return;
      }
      this.floor = Math.max(this.floor, keep);
      this.collected = upTo;
    }
  }
}
