/**
 * A doubly linked list of integer nodes with O(1) removal and LIFO
 * re-insertion (Knuth's dancing links). The search lifts an operation's
 * events out of the list when it linearizes it and puts them back when it
 * backtracks; a lifted node keeps its own links, which is all re-insertion
 * needs, as long as nodes go back in the reverse order they came out.
 */

import { assert } from '../../src/util/assert.js';

/** The end-of-list marker returned by {@link EventList.first} and {@link EventList.after}. */
export const NIL = -1;

/** A linked list over the nodes 1..nodeCount, in a fixed initial order; node 0 is the head sentinel. */
export class EventList {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  /** Links `order` (a permutation of some of the nodes 1..nodeCount) into a list. */
  constructor(nodeCount: number, order: readonly number[]) {
    this.next = new Int32Array(nodeCount + 1).fill(NIL);
    this.prev = new Int32Array(nodeCount + 1).fill(NIL);
    let previous = 0;
    for (const node of order) {
      assert(node >= 1 && node <= nodeCount && this.prev[node] === NIL, () => `node ${node} is out of range [1, ${nodeCount}] or listed twice`);
      this.next[previous] = node;
      this.prev[node] = previous;
      previous = node;
    }
  }

  /** The first node still in the list, or {@link NIL}. */
  first(): number {
    return this.next[0]!;
  }

  /** The node after `node`, or {@link NIL}. Also valid for a lifted node: the node that followed it when it was lifted. */
  after(node: number): number {
    return this.next[node]!;
  }

  /** Removes `node` from the list. */
  lift(node: number): void {
    const before = this.prev[node]!;
    const after = this.next[node]!;
    this.next[before] = after;
    if (after !== NIL) this.prev[after] = before;
  }

  /** Puts back `node`, which must be the node lifted most recently among those still out. */
  unlift(node: number): void {
    const before = this.prev[node]!;
    const after = this.next[node]!;
    this.next[before] = node;
    if (after !== NIL) this.prev[after] = node;
  }
}
