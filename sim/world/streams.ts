/**
 * One seed, many independent random streams. Each part of the world draws
 * from its own stream, so adding a draw in one part (say, a new network
 * fault) does not shift what every other part draws: a seed keeps meaning
 * roughly the same world as the simulator grows.
 */
import { SeededRandom } from '../../src/util/random.js';

/** The independent streams of one simulated world. */
export interface WorldStreams {
  /** Per-seed parameters: cluster size, timeouts, fault rates and mix. */
  readonly params: SeededRandom;
  /** Link delays, drops, duplicates. */
  readonly network: SeededRandom;
  /** Disk latencies, lost and surviving unsynced writes, I/O errors. */
  readonly disk: SeededRandom;
  /** The fault schedule: which fault, when, on whom. */
  readonly faults: SeededRandom;
  /** Client operations: kinds, keys, target nodes, think times. */
  readonly workload: SeededRandom;
  /** Seeds of each node incarnation's election timer generator. */
  readonly nodes: SeededRandom;
}

/** Splits `seed` into the world's streams, always in the same order. */
export function splitStreams(seed: number): WorldStreams {
  const root = new SeededRandom(seed);
  // The order of these splits is part of the seed's meaning: append new streams at the end.
  return {
    params: root.split(),
    network: root.split(),
    disk: root.split(),
    faults: root.split(),
    workload: root.split(),
    nodes: root.split(),
  };
}

/** True with probability `p`. Draws even when `p` is 0 or 1, so the stream's position does not depend on `p`. */
export function chance(random: SeededRandom, p: number): boolean {
  return random.nextFloat() < p;
}

/** A uniform float in [low, high). */
export function uniform(random: SeededRandom, low: number, high: number): number {
  return low + (high - low) * random.nextFloat();
}

/** A uniform integer in [low, high]. */
export function integerBetween(random: SeededRandom, low: number, high: number): number {
  return low + random.nextInt(high - low + 1);
}

/** One element of a non-empty array, uniformly. */
export function pick<T>(random: SeededRandom, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick: no items');
  return items[random.nextInt(items.length)]!;
}

/** An exponentially distributed float with the given mean (for inter-arrival times). */
export function exponential(random: SeededRandom, mean: number): number {
  // 1 - u is in (0, 1], so the logarithm is finite.
  return -Math.log(1 - random.nextFloat()) * mean;
}

/** A uniformly random subset of `items` of exactly `size` elements, in the original order. */
export function subset<T>(random: SeededRandom, items: readonly T[], size: number): T[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(size, items.length)) chosen.add(random.nextInt(items.length));
  return items.filter((_, index) => chosen.has(index));
}

/** `items` in a uniformly random order (Fisher–Yates). */
export function shuffle<T>(random: SeededRandom, items: readonly T[]): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}
