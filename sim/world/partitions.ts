/**
 * Network partition shapes (Jepsen's nemeses), as pure functions from node
 * ids to the directed links they cut. The caller chooses who plays which part
 * (usually from a shuffled id list); these functions only compute the cuts.
 */
import type { NodeId } from '../../src/core/types.js';

/** A directed link: messages from `from` to `to`. */
export interface Link {
  /** The sending end. */
  readonly from: NodeId;
  /** The receiving end. */
  readonly to: NodeId;
}

/** The partition shapes the simulator draws from. */
export type PartitionShape = 'isolate' | 'split' | 'bridge' | 'ring' | 'oneWay';

/** Every partition shape, in a fixed order. */
export const PARTITION_SHAPES: readonly PartitionShape[] = ['isolate', 'split', 'bridge', 'ring', 'oneWay'];

/** Cuts every link between the two groups, both ways. */
export function cutBetween(left: readonly NodeId[], right: readonly NodeId[]): Link[] {
  const links: Link[] = [];
  for (const a of left) {
    for (const b of right) {
      if (a === b) continue;
      links.push({ from: a, to: b }, { from: b, to: a });
    }
  }
  return links;
}

/** Isolates `node` from everyone else. */
export function isolateOne(ids: readonly NodeId[], node: NodeId): Link[] {
  return cutBetween([node], ids.filter((id) => id !== node));
}

/**
 * A majority/minority split: the first ⌊N/2⌋ of `ordered` form the minority,
 * the rest the majority.
 */
export function splitMinority(ordered: readonly NodeId[]): Link[] {
  const minoritySize = Math.floor(ordered.length / 2);
  return cutBetween(ordered.slice(0, minoritySize), ordered.slice(minoritySize));
}

/**
 * A bridge: `ordered[0]` sees both halves of the others, which cannot see each
 * other. With PreVote and CheckQuorum the bridge node must not let two leaders
 * coexist, and the cluster should still make progress through it.
 */
export function bridge(ordered: readonly NodeId[]): Link[] {
  const others = ordered.slice(1);
  const half = Math.ceil(others.length / 2);
  return cutBetween(others.slice(0, half), others.slice(half));
}

/**
 * Majorities ring: the nodes of `ordered` sit in a ring and each one hears
 * only a window of ⌊N/2⌋+1 consecutive nodes around itself, so every node
 * sees a majority but no two see the same one. Directed, like Jepsen's
 * grudges: `from → to` is cut when `from` is outside `to`'s window.
 */
export function majoritiesRing(ordered: readonly NodeId[]): Link[] {
  const size = ordered.length;
  const window = Math.floor(size / 2) + 1;
  const behind = Math.floor((window - 1) / 2);
  const links: Link[] = [];
  for (let position = 0; position < size; position++) {
    const hears = new Set<number>();
    for (let offset = -behind; offset < window - behind; offset++) hears.add((((position + offset) % size) + size) % size);
    for (let other = 0; other < size; other++) {
      if (!hears.has(other)) links.push({ from: ordered[other]!, to: ordered[position]! });
    }
  }
  return links;
}

/** A one-way cut: `from` can no longer reach `to`, while `to` still reaches `from`. */
export function oneWay(from: NodeId, to: NodeId): Link[] {
  return [{ from, to }];
}

/** The partition of `shape`, with the roles taken from `ordered` (a permutation of the cluster's ids). */
export function partitionOf(shape: PartitionShape, ordered: readonly NodeId[]): Link[] {
  switch (shape) {
    case 'isolate':
      return isolateOne(ordered, ordered[0]!);
    case 'split':
      return splitMinority(ordered);
    case 'bridge':
      return bridge(ordered);
    case 'ring':
      return majoritiesRing(ordered);
    case 'oneWay':
      return oneWay(ordered[0]!, ordered[1]!);
  }
}
