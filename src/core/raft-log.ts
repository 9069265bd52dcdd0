import { CompactedError } from '../errors.js';
import type { LogReader } from './log-reader.js';
import { assert } from '../util/assert.js';
import { entrySizeBytes } from './types.js';
import type { Entry, Index, SnapshotMeta, Term } from './types.js';
import { Unstable } from './unstable.js';

/** The result of reading entries: the entries, or why there are none to give. */
export type SliceResult = { readonly kind: 'ok'; readonly entries: readonly Entry[] } | { readonly kind: 'compacted' } | { readonly kind: 'unavailable' };

/**
 * A node's view of its log: durable entries read through storage, with the
 * unstable (not yet durable) tail on top, plus the commit and apply positions.
 *
 * Invariants: applied ≤ applying ≤ committed ≤ lastIndex; committed never decreases.
 */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be committed. */
  committed: Index;
  /** Highest index handed to the runtime for applying (in an outstanding or acknowledged Ready). */
  applying: Index;
  /** Highest index the runtime acknowledged as applied. */
  applied: Index;

  /**
   * @param onAppend called with every batch written into the log (the entries
   *   from `entries[0].index` on replace what the log held there), so that the
   *   configuration can follow the log.
   */
  constructor(
    readonly storage: LogReader,
    committed: Index,
    applied: Index,
    private readonly onAppend: (entries: readonly Entry[]) => void = () => undefined,
  ) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    const snapshotIndex = storage.firstIndex() - 1;
    // The stored commit index may lag: the runtime does not sync a change of commit alone (it is recomputed
    // after a crash), and a crash can fall between saving a snapshot and its hard state. Whatever was
    // applied or snapshotted is committed by definition.
    this.committed = Math.max(committed, snapshotIndex, applied);
    if (!(this.committed <= this.lastIndex())) assert(false, `log: commit ${this.committed} > lastIndex ${this.lastIndex()}`);
    if (!(applied >= snapshotIndex && applied <= this.committed)) assert(false, `log: applied ${applied} outside [snapshot ${snapshotIndex}, commit ${this.committed}]`);
    this.applied = applied;
    this.applying = applied;
  }

  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): Term {
    const term = this.term(this.lastIndex());
    if (!(term !== undefined)) assert(false, `log: no term for lastIndex ${this.lastIndex()}`);
    return term;
  }

  /** The term at `index`, or undefined when it is compacted or past the end of the log. */
  term(index: Index): Term | undefined {
    const unstable = this.unstable.maybeTerm(index);
    if (unstable !== undefined) return unstable;
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    // Below the unstable offset: durable, read it from storage.
    if (index < this.storage.firstIndex() - 1) return undefined;
    return this.storage.term(index);
  }

  matchTerm(index: Index, term: Term): boolean {
    return this.term(index) === term;
  }

  /**
   * §5.4.1: a candidate's log is at least as up to date as ours if its last term
   * is higher, or equal with a last index at least as high.
   */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The first entry of `entries` that is not already in the log with the same
   * term, or 0 when all of them are. An entry past the end counts as a conflict
   * (it is new).
   */
  findConflict(entries: readonly Entry[]): Index {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with its term (0 when
   * it is compacted). Used on both sides of a rejected AppendEntries to skip a
   * whole diverging term in one round trip.
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    for (let candidate = Math.min(index, this.lastIndex()); candidate >= 0; candidate--) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm === undefined) return { index: candidate, term: 0 };
      if (candidateTerm <= term) return { index: candidate, term: candidateTerm };
    }
    return { index: 0, term: 0 };
  }

  /** Appends entries that follow the log or replace part of its uncommitted tail. */
  append(entries: readonly Entry[]): Index {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (!(first.index - 1 >= this.committed)) assert(false, `log: append at ${first.index} would overwrite committed ${this.committed}`);
    if (!(first.index <= this.lastIndex() + 1)) assert(false, `log: append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(entries);
    this.onAppend(entries);
    return this.lastIndex();
  }

  /**
   * Handles the entries of an AppendEntries whose (prevIndex, prevTerm) matched:
   * appends what is new, truncating only from the first real conflict. A stale
   * or duplicated append changes nothing. Returns the last index this append
   * verified (prevIndex + entries.length).
   */
  appendVerified(prevIndex: Index, entries: readonly Entry[]): Index {
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (!(conflict > this.committed)) assert(false, `log: conflict at ${conflict} is at or below commit ${this.committed}`);
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    return lastNew;
  }

  commitTo(index: Index): void {
    if (index <= this.committed) return;
    if (!(index <= this.lastIndex())) assert(false, `log: commit ${index} > lastIndex ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries in [low, high), at most `maxBytes` (at least one). */
  slice(low: Index, high: Index, maxBytes: number): SliceResult {
    if (low >= high) return { kind: 'ok', entries: [] };
    if (low < this.firstIndex()) return { kind: 'compacted' };
    if (!(high <= this.lastIndex() + 1)) assert(false, `log: slice [${low}, ${high}) past lastIndex ${this.lastIndex()}`);
    const offset = this.unstable.offset;
    let stored: readonly Entry[] = [];
    if (low < offset) {
      try {
        const result = this.storage.entries(low, Math.min(high, offset), maxBytes);
        if (result === undefined) return { kind: 'unavailable' };
        stored = result;
      } catch (error) {
        if (error instanceof CompactedError) return { kind: 'compacted' };
        throw error;
      }
      // Short of the range (byte limit), or the range ends below the unstable tail: done.
      if (stored.length < Math.min(high, offset) - low || high <= offset) return { kind: 'ok', entries: stored };
    }
    const fromUnstable = this.unstable.entries.slice(Math.max(low, offset) - offset, high - offset);
    return { kind: 'ok', entries: limitBytes(stored, fromUnstable, maxBytes) };
  }

  /** The highest index that is both durable and part of this log. */
  persistedIndex(): Index {
    return this.unstable.offset - 1;
  }

  /** True when committed entries are waiting to be handed out for applying. */
  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === null && this.applying < Math.min(this.committed, this.persistedIndex());
  }

  /**
   * Committed, durable entries not yet handed out for applying, bounded by
   * `maxBytes`. Undefined while storage is still loading them.
   */
  nextCommittedEntries(maxBytes: number): readonly Entry[] | undefined {
    if (!this.hasNextCommittedEntries()) return [];
    const high = Math.min(this.committed, this.persistedIndex()) + 1;
    const result = this.slice(this.applying + 1, high, maxBytes);
    if (!(result.kind !== 'compacted')) assert(false, `log: committed entries from ${this.applying + 1} are compacted but not applied`);
    return result.kind === 'ok' ? result.entries : undefined;
  }

  acceptApplying(index: Index): void {
    if (!(index >= this.applying && index <= this.committed)) assert(false, `log: applying ${index} outside [${this.applying}, commit ${this.committed}]`);
    this.applying = index;
  }

  appliedTo(index: Index): void {
    if (!(index >= this.applied && index <= this.applying)) assert(false, `log: applied ${index} outside [${this.applied}, applying ${this.applying}]`);
    this.applied = index;
  }

  /** Replaces the log with a snapshot from the leader. */
  restore(snapshot: SnapshotMeta): void {
    if (!(snapshot.index > this.committed)) assert(false, `log: restore of snapshot ${snapshot.index} at or below commit ${this.committed}`);
    this.committed = snapshot.index;
    this.unstable.restore(snapshot);
  }

  /** After the runtime made a restored snapshot durable and restored the state machine from it. */
  snapshotApplied(index: Index): void {
    this.unstable.stableSnapshotTo(index);
    this.applying = Math.max(this.applying, index);
    this.applied = Math.max(this.applied, index);
  }
}

function limitBytes(stored: readonly Entry[], fromUnstable: readonly Entry[], maxBytes: number): readonly Entry[] {
  const result = [...stored];
  let bytes = 0;
  for (const entry of result) bytes += entrySizeBytes(entry);
  for (const entry of fromUnstable) {
    bytes += entrySizeBytes(entry);
    if (result.length > 0 && bytes > maxBytes) break;
    result.push(entry);
  }
  return result;
}
