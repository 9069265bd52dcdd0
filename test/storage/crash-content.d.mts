import type { Entry, HardState, Index, Term } from '../../src/core/types.js';

/** The node id the crash child opens its storage with. */
export const CRASH_NODE_ID: string;
/** The term of entry `index` (index 0 is the empty-log position, term 0). */
export function crashTerm(index: Index): Term;
/** The payload of entry `index`: 0 to 299 bytes, derived from the index. */
export function crashPayload(index: Index): Uint8Array;
/** Entry `index` as the child appends it. */
export function crashEntry(index: Index): Entry;
/** The hard state the child writes with the batch that ends at `lastIndex`. */
export function crashHardState(lastIndex: Index): HardState;
/** mulberry32: a seeded PRNG returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number;
