import { entrySizeBytes, EMPTY_HARD_STATE } from '../core/types.js';
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from '../core/types.js';
import { CompactedError, InvalidArgumentError, SnapshotOutOfDateError, StorageClosedError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { InitialState } from '../core/log-reader.js';
import type { LogStorage } from './storage.js';
import { checkCommitWithinLog, checkHardState, checkIndex, checkSnapshotMeta } from './checks.js';
import { validateAppend } from './validate.js';

/**
 * A {@link LogStorage} held entirely in memory. Every write is "durable" as soon
 * as it is made, so it suits tests, the simulator's model of a disk and nodes
 * whose durability comes from elsewhere. It also offers synchronous views used
 * by tests that model crashes.
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshot: SnapshotMeta;
  /** Entries after the snapshot; `log[i].index === snapshot.index + 1 + i`. */
  private log: Entry[] = [];
  private closed = false;
  private readonly initialMembership: Membership | null;

  /**
   * An empty log, ready at once.
   * @param membership - the membership before any snapshot exists (reported by `snapshotMeta()` at index 0).
   */
  constructor(membership: Membership | null = null) {
    this.snapshot = { index: 0, term: 0, membership: membership ?? { voters: [] } };
    this.initialMembership = membership;
  }

  initialState(): InitialState {
    this.checkOpen();
    const membership = this.snapshot.index > 0 ? this.snapshot.membership : this.initialMembership;
    return { hardState: this.hardState, membership };
  }

  firstIndex(): Index {
    this.checkOpen();
    return this.snapshot.index + 1;
  }

  lastIndex(): Index {
    this.checkOpen();
    return this.snapshot.index + this.log.length;
  }

  term(index: Index): Term {
    this.checkOpen();
    checkIndex(index);
    if (index < this.snapshot.index) throw new CompactedError(index, this.snapshot.index + 1);
    if (index === this.snapshot.index) return this.snapshot.term;
    const entry = this.log[index - this.snapshot.index - 1];
    if (entry === undefined) {
      throw new InvalidArgumentError(`term(${index}): index is past lastIndex ${this.lastIndex()}`);
    }
    return entry.term;
  }

  entries(low: Index, high: Index, maxBytes: number): readonly Entry[] {
    this.checkOpen();
    checkIndex(low);
    checkIndex(high);
    if (low > high) throw new InvalidArgumentError(`entries: low ${low} > high ${high}`);
    if (low <= this.snapshot.index) throw new CompactedError(low, this.snapshot.index + 1);
    if (high > this.lastIndex() + 1) {
      throw new InvalidArgumentError(`entries: high ${high} is past lastIndex + 1 = ${this.lastIndex() + 1}`);
    }
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index++) {
      const entry = this.log[index - this.snapshot.index - 1];
      assert(entry !== undefined, () => `memory storage: missing entry ${index}`);
      bytes += entrySizeBytes(entry);
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  snapshotMeta(): SnapshotMeta {
    this.checkOpen();
    return this.snapshot;
  }

  /** Every entry is in memory: a filter of the log, which a core calls once, when it is constructed. */
  configEntries(): readonly Entry[] {
    this.checkOpen();
    return this.log.filter((entry) => entry.type === 'config');
  }

  append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    try {
      this.appendSync(entries, hardState);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link append}, synchronously. */
  appendSync(entries: readonly Entry[], hardState?: HardState): void {
    this.checkOpen();
    validateAppend(entries, this.snapshot.index, this.lastIndex(), (index) => this.term(index));
    if (hardState !== undefined) checkHardState(hardState);
    checkCommitWithinLog((hardState ?? this.hardState).commit, entries[entries.length - 1]?.index ?? this.lastIndex(), 'append');
    const first = entries[0];
    if (first !== undefined) {
      this.log.length = first.index - this.snapshot.index - 1;
      for (const entry of entries) this.log.push(entry);
    }
    if (hardState !== undefined) this.hardState = hardState;
  }

  saveSnapshot(meta: SnapshotMeta): Promise<void> {
    try {
      this.saveSnapshotSync(meta);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link saveSnapshot}, synchronously. */
  saveSnapshotSync(meta: SnapshotMeta): void {
    this.checkOpen();
    checkSnapshotMeta(meta);
    if (meta.index < this.snapshot.index) throw new SnapshotOutOfDateError(meta.index, this.snapshot.index);
    const matches = meta.index <= this.lastIndex() && this.term(meta.index) === meta.term;
    checkCommitWithinLog(this.hardState.commit, matches ? this.lastIndex() : meta.index, 'saveSnapshot');
    this.log = matches ? this.log.slice(meta.index - this.snapshot.index) : [];
    this.snapshot = meta;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}
