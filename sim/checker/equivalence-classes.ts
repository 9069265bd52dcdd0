/**
 * Symmetry reduction for optional operations (unknown outcomes) that are
 * interchangeable.
 */

import { assert } from '../../src/util/assert.js';

/**
 * Keeps interchangeable optional operations in a fixed order. Two optional
 * operations with the same effect in every state, both invoked, are
 * indistinguishable to everything that follows: neither ever has to be
 * linearized, and both can be at any later time. Exploring "A linearized, B
 * pending" and "B linearized, A pending" separately only doubles the work,
 * and with k of them the search would visit all 2^k subsets. So only the
 * earliest-invoked member of a class not yet linearized may go next, and
 * members are linearized (and undone) in invoke order.
 */
export class EquivalenceClasses {
  private readonly classOf: Int32Array;
  private readonly members: number[][] = [];
  private readonly nextMember: number[] = [];

  /**
   * @param classNames - The class of each item, or null for none, listed in
   *   invoke order: item i is the i-th optional operation by invoke time.
   */
  constructor(classNames: readonly (string | null)[]) {
    this.classOf = new Int32Array(classNames.length).fill(-1);
    const ids = new Map<string, number>();
    classNames.forEach((name, item) => {
      if (name === null) return;
      let id = ids.get(name);
      if (id === undefined) {
        id = this.members.length;
        ids.set(name, id);
        this.members.push([]);
        this.nextMember.push(0);
      }
      this.classOf[item] = id;
      this.members[id]!.push(item);
    });
  }

  /** Whether `item` may be linearized now: it has no class, or it is the earliest member of its class not yet linearized. */
  allows(item: number): boolean {
    const id = this.classOf[item]!;
    return id < 0 || this.members[id]![this.nextMember[id]!] === item;
  }

  /** Records that `item`, which {@link allows} allowed, was linearized. */
  advance(item: number): void {
    const id = this.classOf[item]!;
    if (id < 0) return;
    assert(this.members[id]![this.nextMember[id]!] === item, () => `item ${item} linearized out of class order`);
    this.nextMember[id] = this.nextMember[id]! + 1;
  }

  /** Records that the linearization of `item` was undone; the most recent one of its class. */
  retreat(item: number): void {
    const id = this.classOf[item]!;
    if (id < 0) return;
    this.nextMember[id] = this.nextMember[id]! - 1;
    assert(this.members[id]![this.nextMember[id]!] === item, () => `item ${item} undone out of class order`);
  }
}
