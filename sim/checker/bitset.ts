/**
 * A fixed-size bitset with an incremental hash and compact snapshots, used by the linearizability
 * search to remember which sets of operations it has already linearized.
 */

import { assert } from '../../src/util/assert.js';

const FULL_WORD = 0xffffffff;

/**
 * A fixed-size set of small integers in [0, size).
 *
 * The set tracks how many leading words are full and where its last
 * non-empty word is. The search numbers required operations by return time,
 * and every operation that returned before the earliest pending one is
 * linearized, so its sets are a long run of ones followed by a short, ragged
 * window. {@link Bitset.snapshot} keeps only that window, so the memo costs
 * memory in proportion to the concurrency, not to the history's length.
 */
export class Bitset {
  /** How many bits the set holds. */
  readonly size: number;
  private readonly words: Uint32Array;
  private hashValue = 0;
  // Invariant: words[0 .. fullWords) are all FULL_WORD, and words[fullWords] is not (if it exists).
  private fullWords = 0;
  // Invariant: words[usedWords ..) are all zero, and words[usedWords - 1] is not (if usedWords > 0).
  private usedWords = 0;

  constructor(size: number) {
    assert(Number.isSafeInteger(size) && size >= 0, () => `bitset size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /**
   * A 30-bit hash of the members; equal sets have equal hashes. A Zobrist
   * hash (the XOR of one pseudo-random word per member), updated in O(1) by
   * `set` and `clear`, so a lookup does not rehash the whole set. 30 bits
   * keep it a small integer for V8, which makes it a cheap `Map` key.
   */
  get hash(): number {
    return this.hashValue;
  }

  /** Whether `bit` is a member. */
  has(bit: number): boolean {
    assert(Number.isInteger(bit) && bit >= 0 && bit < this.size, () => `bit ${bit} is out of range [0, ${this.size})`);
    return ((this.words[bit >>> 5]! >>> (bit & 31)) & 1) === 1;
  }

  /** Adds `bit`, which must not be a member yet. */
  set(bit: number): void {
    assert(!this.has(bit), () => `bit ${bit} is already set`);
    const index = bit >>> 5;
    this.words[index] = this.words[index]! | (1 << (bit & 31));
    this.hashValue ^= zobrist(bit);
    this.usedWords = Math.max(this.usedWords, index + 1);
    while (this.fullWords < this.words.length && this.words[this.fullWords] === FULL_WORD) this.fullWords++;
  }

  /** Removes `bit`, which must be a member. */
  clear(bit: number): void {
    assert(this.has(bit), () => `bit ${bit} is not set`);
    const index = bit >>> 5;
    this.words[index] = this.words[index]! & ~(1 << (bit & 31));
    this.hashValue ^= zobrist(bit);
    this.fullWords = Math.min(this.fullWords, index);
    while (this.usedWords > 0 && this.words[this.usedWords - 1] === 0) this.usedWords--;
  }

  /** How many bits are set. */
  count(): number {
    let total = 0;
    for (const word of this.words) total += popcount(word);
    return total;
  }

  /**
   * A compact copy of the members: element 0 is the number of leading full
   * words, then the words of the window after them as 16-bit halves (low
   * half first), up to the last non-zero word. Small integers, so an array
   * of them costs a few bytes per element.
   */
  snapshot(): BitsetSnapshot {
    const start = this.windowStart();
    const snapshot = [start];
    for (let index = start; index < this.usedWords; index++) {
      const word = this.words[index]!;
      snapshot.push(word & 0xffff, word >>> 16);
    }
    return snapshot;
  }

  /** Whether `snapshot` (of a bitset of this size) holds exactly this set's members. */
  equalsSnapshot(snapshot: BitsetSnapshot): boolean {
    return this.compareWithSnapshot(snapshot, (own, stored) => own === stored);
  }

  /** Whether every member of `snapshot` is a member of this set. */
  includesSnapshot(snapshot: BitsetSnapshot): boolean {
    return this.compareWithSnapshot(snapshot, (own, stored) => (stored & ~own) === 0);
  }

  /** Whether every member of this set is a member of `snapshot`. */
  isWithinSnapshot(snapshot: BitsetSnapshot): boolean {
    return this.compareWithSnapshot(snapshot, (own, stored) => (own & ~stored) === 0);
  }

  /** Checks `holds` on every 16-bit unit where the two sets may differ. */
  private compareWithSnapshot(snapshot: BitsetSnapshot, holds: (own: number, stored: number) => boolean): boolean {
    // Below both windows both sets are full and above both they are empty,
    // which satisfies every comparison here: only the windows need a look.
    const storedFullWords = snapshot[0]!;
    const startUnit = 2 * Math.min(this.windowStart(), storedFullWords);
    const endUnit = Math.max(2 * this.usedWords, 2 * storedFullWords + snapshot.length - 1);
    for (let unit = startUnit; unit < endUnit; unit++) {
      const own = ((this.words[unit >>> 1] ?? 0) >>> ((unit & 1) * 16)) & 0xffff;
      if (!holds(own, snapshotUnit(snapshot, unit))) return false;
    }
    return true;
  }

  private windowStart(): number {
    return Math.min(this.fullWords, this.usedWords);
  }
}

/** See {@link Bitset.snapshot}. */
export type BitsetSnapshot = readonly number[];

/** The 16-bit unit number `unit` of a snapshot's set (bits 16·unit to 16·unit + 15). */
function snapshotUnit(snapshot: BitsetSnapshot, unit: number): number {
  const offset = unit - 2 * snapshot[0]!;
  if (offset < 0) return 0xffff;
  return snapshot[offset + 1] ?? 0;
}

function popcount(word: number): number {
  let value = word - ((word >>> 1) & 0x55555555);
  value = (value & 0x33333333) + ((value >>> 2) & 0x33333333);
  return (Math.imul((value + (value >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** A well-mixed 30-bit word for `bit` (the splitmix32 finaliser), stable across runs so hashes are deterministic. */
function zobrist(bit: number): number {
  let z = Math.imul(bit + 1, 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) & 0x3fffffff;
}
