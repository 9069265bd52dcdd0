/**
 * Small log builders for the core's unit and scenario tests. A log is written
 * as the list of its entries' terms, as in the figures of the Raft paper:
 * `terms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6)` is the leader's log of Figure 7.
 *
 * Every entry's payload is derived from its index and term, so two nodes that
 * hold an entry with the same index and term hold the same bytes (the Log
 * Matching property the SafetyChecker verifies), and an entry from another
 * term is visibly different.
 */
import type { Entry, HardState, Index, NodeId, Term } from '../../src/core/types.js';
import { MemoryStorage } from '../../src/storage/memory.js';

/** The payload of entry (`index`, `term`): `sizeBytes` bytes derived from both. */
export function payloadOf(index: Index, term: Term, sizeBytes = 4): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) data[i] = (index * 31 + term * 17 + i * 7 + 1) & 0xff;
  return data;
}

/** One entry with a derived payload. */
export function entry(index: Index, term: Term, sizeBytes = 4): Entry {
  return { index, term, type: 'normal', data: payloadOf(index, term, sizeBytes) };
}

/** Contiguous entries starting at `first`, one per term: `entries([1, 1, 2])` is indexes 1, 2 (term 1) and 3 (term 2). */
export function entries(termsOfEntries: readonly Term[], first: Index = 1, sizeBytes = 4): Entry[] {
  return termsOfEntries.map((term, i) => entry(first + i, term, sizeBytes));
}

/** Reads as the paper's figures do: `terms(1, 1, 2)`. */
export function terms(...termsOfEntries: Term[]): Term[] {
  return termsOfEntries;
}

/** `count` copies of `term`, for long logs: `[...terms(1, 1), ...repeat(3, 50)]`. */
export function repeat(term: Term, count: number): Term[] {
  return Array.from({ length: count }, () => term);
}

/** What a node's storage holds before it starts. */
export interface StoredState {
  /** Terms of the entries from index 1. */
  readonly log: readonly Term[];
  /** Current term; defaults to the last entry's term. */
  readonly term?: Term;
  readonly vote?: NodeId | null;
  /** Commit index; defaults to 0. */
  readonly commit?: Index;
}

/** Writes `state` into a fresh or given MemoryStorage, as a node that ran before would have left it. */
export function prefill(storage: MemoryStorage, state: StoredState): MemoryStorage {
  const hardState: HardState = {
    term: state.term ?? state.log[state.log.length - 1] ?? 0,
    vote: state.vote ?? null,
    commit: state.commit ?? 0,
  };
  storage.appendSync(entries(state.log), hardState);
  return storage;
}

/** A MemoryStorage holding `state`. */
export function storageWith(state: StoredState): MemoryStorage {
  return prefill(new MemoryStorage(), state);
}

/** Anything that can tell the term at an index (a RawNode, a RaftLog). */
export interface TermReader {
  term(index: Index): Term | undefined;
}

/** The terms of entries `first..last` as a reader sees them (undefined where it has none). */
export function termsOf(reader: TermReader, last: Index, first: Index = 1): (Term | undefined)[] {
  const result: (Term | undefined)[] = [];
  for (let index = first; index <= last; index++) result.push(reader.term(index));
  return result;
}
