import { entrySizeBytes } from '../core/types.js';
import type { Entry, Index, Term } from '../core/types.js';
import { CorruptionError, KeelError } from '../errors.js';
import { assert } from '../util/assert.js';
import { scanRange } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { blockStartAt, decodeBlock, entriesWithin } from './entry-blocks.js';
import { entryKey } from './level-keys.js';
import { LoadedRanges } from './loaded-ranges.js';
import type { ResidentRun } from './tail-cache.js';

/** Loads running at once; more requests are refused until one finishes (the caller retries). */
export const MAX_INFLIGHT_LOADS = 4;

/** The least a load reads, so that a caller asking for a few bytes at a time does not cost one disk read per entry. */
export const LOAD_BYTES_MIN = 64 * 1024;

interface Load {
  readonly low: Index;
  readonly stop: Index;
  readonly done: Promise<void>;
}

/** A load that failed: the error is reported to the next request that would read `index`. */
interface LoadFailure {
  readonly index: Index;
  readonly error: KeelError;
}

/**
 * Loads entries older than the tail from disk when the synchronous
 * `entries()` cannot answer, into a bounded {@link LoadedRanges} cache; a later
 * call is served from there.
 *
 * Every change of the log below the tail (a truncating append, a snapshot)
 * bumps `generation`. A load that finishes in a later generation than it
 * started in is discarded whole, result or error: it may have read entries
 * that have since been replaced or compacted away.
 */
export class EntryLoader {
  private readonly cache: LoadedRanges;
  private readonly loads: Load[] = [];
  private generation = 0;
  private failure: LoadFailure | null = null;

  /**
   * @param db the database to read.
   * @param cacheBytesMax byte budget of the loaded-ranges cache.
   * @param termAt the current term of a stored index, to cross-check loaded entries against the term runs.
   */
  constructor(
    private readonly db: LevelDb,
    private readonly cacheBytesMax: number,
    private readonly termAt: (index: Index) => Term,
  ) {
    this.cache = new LoadedRanges(cacheBytesMax);
  }

  /** Bytes and segments held by the loaded-ranges cache. */
  stats(): { readonly bytes: number; readonly segments: number } {
    return { bytes: this.cache.bytes, segments: this.cache.size };
  }

  /** The loaded run containing `index`, or undefined. */
  residentAt(index: Index): ResidentRun | undefined {
    return this.cache.residentAt(index);
  }

  /** The log changed from `index` on (a truncating append). */
  truncateFrom(index: Index): void {
    this.generation++;
    this.cache.truncateFrom(index);
    if (this.failure !== null && this.failure.index >= index) this.failure = null;
  }

  /** The log lost its entries below `index` (compaction into a snapshot). */
  dropBefore(index: Index): void {
    this.generation++;
    this.cache.dropBefore(index);
    if (this.failure !== null && this.failure.index < index) this.failure = null;
  }

  /** The whole log was replaced (a snapshot that did not match it). */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.failure = null;
  }

  /**
   * Asks for the entries `low .. stop - 1` to be loaded, at least `bytesMax`
   * of them when there are that many. Throws the error of an earlier load that
   * failed inside this range: corruption is reported to the reader, not hidden
   * behind an endless "not yet". Does nothing while a load covering `low` is
   * running or {@link MAX_INFLIGHT_LOADS} are.
   */
  request(low: Index, stop: Index, bytesMax: number): void {
    assert(low < stop, () => `entry loader: empty load ${low}..${stop}`);
    const failure = this.failure;
    if (failure !== null && failure.index >= low && failure.index < stop) {
      // Corruption stays reported; any other failure is reported once and then retried.
      if (!(failure.error instanceof CorruptionError)) this.failure = null;
      throw failure.error;
    }
    if (this.loads.some((load) => load.low <= low && low < load.stop)) return;
    if (this.loads.length >= MAX_INFLIGHT_LOADS) return;
    const loadBytes = Math.min(Math.max(bytesMax, LOAD_BYTES_MIN), this.cacheBytesMax);
    const load: Load = { low, stop, done: this.load(low, stop, loadBytes, this.generation) };
    this.loads.push(load);
    void load.done.finally(() => this.loads.splice(this.loads.indexOf(load), 1));
  }

  /** Resolves when every load started so far has finished. Loads never reject: failures are kept for `request`. */
  async settled(): Promise<void> {
    while (this.loads.length > 0) await Promise.all(this.loads.map((load) => load.done));
  }

  private async load(low: Index, stop: Index, bytesMax: number, generation: number): Promise<void> {
    const entries: Entry[] = [];
    let error: KeelError | null = null;
    try {
      await this.read(low, stop, bytesMax, entries);
    } catch (caught) {
      assert(caught instanceof KeelError, () => `entry loader: unexpected error ${String(caught)}`);
      error = caught;
    }
    // A later generation means the log changed under the load: what it read may be stale.
    if (generation !== this.generation) return;
    const mismatch = entries.findIndex((entry) => entry.term !== this.termAt(entry.index));
    if (mismatch >= 0) {
      const entry = entries[mismatch]!;
      error = new CorruptionError(`entry:${entry.index}`, `entry has term ${entry.term}, but the term runs say ${this.termAt(entry.index)}`);
      entries.length = mismatch;
    }
    this.cache.insert(entries);
    if (error !== null) this.failure = { index: low + entries.length, error };
  }

  /**
   * Reads contiguous entries from `low` into `entries`, starting at the block
   * that holds `low`; a gap or a short range is a hole in the log. A block
   * replaces the entries of the blocks before it from its first index on (see
   * entry-blocks.ts), so the read stops for `bytesMax` only at a block
   * boundary, once it knows that the next block does not replace what it read.
   */
  private async read(low: Index, stop: Index, bytesMax: number, entries: Entry[]): Promise<void> {
    const start = await blockStartAt(this.db, low);
    if (start === undefined) throw new CorruptionError(`entry:${low}`, `missing: hole in the log, no entry from ${low} to ${stop - 1}`);
    let bytes = 0;
    await scanRange(this.db, { gte: entryKey(start), lt: entryKey(stop) }, (key, value) => {
      const { first, entries: block } = decodeBlock(key, value);
      const expected = low + entries.length;
      if (first > expected) throw new CorruptionError(`entry:${expected}`, `missing: hole in the log before ${first}`);
      if (first < expected && first > low) {
        for (const replaced of entries.splice(first - low)) bytes -= entrySizeBytes(replaced);
      }
      if (entries.length > 0 && bytes >= bytesMax) return false;
      for (let index = Math.max(first, low); index < stop && index - first < block.length; index++) {
        const entry = block[index - first]!;
        entries.push(entry);
        bytes += entrySizeBytes(entry);
      }
      return true;
    });
    // Blocks are read whole; keep only what the load asked for.
    const full = entries.length > 0 && bytes >= bytesMax;
    entries.length = entriesWithin(entries, bytesMax);
    const next = low + entries.length;
    if (!full && next < stop) {
      throw new CorruptionError(`entry:${next}`, `missing: hole in the log, no entry from ${next} to ${stop - 1}`);
    }
  }
}
