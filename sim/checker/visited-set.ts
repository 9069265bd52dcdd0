/**
 * The memo of the linearizability search: the configurations it has already
 * reached. What can happen next from a configuration depends only on which
 * operations are linearized and on the model state, so reaching the same one
 * twice cannot lead anywhere new (Lowe, "Testing for linearizability", 2017;
 * the same cache as Porcupine's).
 *
 * Keel's memo goes one step further for optional operations (unknown
 * outcomes). Take two configurations with the same required operations
 * linearized and the same state, where the optional operations linearized in
 * the first are a subset of those in the second. Every way to finish from the
 * second also works from the first: the extra optional operations are still
 * available there and may be left out. So the second is dominated and need
 * not be explored. Without this, an optional write that never took effect
 * could be slipped in before every later overwrite, and the search would
 * explore each such variant separately.
 */

import type { Bitset, BitsetSnapshot } from './bitset.js';

interface VisitedEntry {
  readonly required: BitsetSnapshot;
  readonly stateId: number;
  /** Minimal optional sets seen with this (required, state): none is a subset of another. */
  optionalSets: BitsetSnapshot[];
}

/**
 * A set of configurations (required set, state, optional set), answering
 * "is this configuration new and not dominated?". Bitsets are stored as
 * compact snapshots and states are interned to small integers, so an entry
 * costs tens of bytes, and a state that is a long string is hashed once, not
 * at every lookup.
 *
 * @typeParam S - The model state; compared with SameValueZero like a `Map` key.
 */
export class VisitedSet<S> {
  // Hash of (required set, state id) → the entries with that hash.
  private readonly buckets = new Map<number, VisitedEntry[]>();
  private readonly stateIds = new Map<S, number>();
  private configurationCount = 0;

  /** How many configurations are stored. */
  get size(): number {
    return this.configurationCount;
  }

  /**
   * Adds the configuration and returns true; or returns false and stores
   * nothing if a stored configuration with the same required set and state
   * has an optional set that is a subset of `optional` (the same
   * configuration, or one that dominates it).
   */
  add(required: Bitset, state: S, optional: Bitset): boolean {
    const stateId = this.intern(state);
    const hash = (required.hash ^ Math.imul(stateId + 1, 0x2c1b3c6d)) & 0x3fffffff;
    const bucket = this.buckets.get(hash);
    const entry = bucket?.find((candidate) => candidate.stateId === stateId && required.equalsSnapshot(candidate.required));
    if (entry === undefined) {
      const created: VisitedEntry = { required: required.snapshot(), stateId, optionalSets: [optional.snapshot()] };
      if (bucket === undefined) this.buckets.set(hash, [created]);
      else bucket.push(created);
      this.configurationCount++;
      return true;
    }
    if (entry.optionalSets.some((stored) => optional.includesSnapshot(stored))) return false;
    // Stored supersets of the new set are dominated by it from now on; drop
    // them so that lookups stay short.
    const kept = entry.optionalSets.filter((stored) => !optional.isWithinSnapshot(stored));
    kept.push(optional.snapshot());
    this.configurationCount += kept.length - entry.optionalSets.length;
    entry.optionalSets = kept;
    return true;
  }

  private intern(state: S): number {
    let id = this.stateIds.get(state);
    if (id === undefined) {
      id = this.stateIds.size;
      this.stateIds.set(state, id);
    }
    return id;
  }
}
