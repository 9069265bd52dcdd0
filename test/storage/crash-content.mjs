// The deterministic log written by crash-child.mjs, shared with the parent
// test (level.crash.test.ts) so that it can check every surviving entry byte
// for byte. Everything is derived from the index alone.

/** The node id the crash child opens its storage with. */
export const CRASH_NODE_ID = 'crash';

/** Entries per term: the term changes every 700 entries, so batches cross term boundaries. */
const ENTRIES_PER_TERM = 700;

/** The term of entry `index` (index 0 is the empty-log position, term 0). */
export function crashTerm(index) {
  return index === 0 ? 0 : 1 + Math.floor(index / ENTRIES_PER_TERM);
}

/** The payload of entry `index`: 0 to 299 bytes, derived from the index. */
export function crashPayload(index) {
  const length = Math.imul(index, 2654435761) >>> 0;
  const data = new Uint8Array(length % 300);
  for (let i = 0; i < data.length; i++) data[i] = (index * 131 + i * 7 + (index >>> 8)) & 0xff;
  return data;
}

/** Entry `index` as the child appends it. */
export function crashEntry(index) {
  return { index, term: crashTerm(index), type: 'normal', data: crashPayload(index) };
}

/** The hard state the child writes with the batch that ends at `lastIndex`. */
export function crashHardState(lastIndex) {
  return { term: crashTerm(lastIndex), vote: CRASH_NODE_ID, commit: lastIndex };
}

/** mulberry32: a tiny seeded PRNG, so that a run's choices replay from its seed. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
