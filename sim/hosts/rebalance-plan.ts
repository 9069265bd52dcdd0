/**
 * What a rebalance world draws (sim-rebalance.ts runs it): the hosts of the
 * sharded service's first layout, and when during the fault phase the
 * layout changes (a host joins it, a host leaves it). The groups of such a
 * world are the layout's shards (`shard-0` …), placed by the same
 * `ShardMap` the service uses, and its keys are routed to shards the
 * service's way (`ShardMap.shardOf`).
 */
import type { NodeId } from '../../src/core/types.js';
import { ShardMap } from '../../src/kv/shard-map.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { SeededRandom } from '../../src/util/random.js';
import { integerBetween, pick, shuffle, uniform } from '../world/streams.js';

/** One change of the layout: from `atMs` on, the layout's hosts are `hosts`. */
export interface LayoutChange {
  /** World time of the change, inside the fault phase. */
  readonly atMs: number;
  /** The layout's hosts after the change, sorted. */
  readonly hosts: readonly NodeId[];
  /** What changed, for the trace: `h4 joins` or `h2 leaves`. */
  readonly describe: string;
}

/** A rebalance world's layouts over time. */
export interface RebalancePlan {
  /** The hosts of the first layout, sorted. */
  readonly initial: readonly NodeId[];
  /** The layout changes, in time order. */
  readonly changes: readonly LayoutChange[];
  /** How often each host's rebalancer reconciles, in milliseconds of its own clock. */
  readonly intervalMs: number;
}

/** Replicas per shard of a layout over `hosts` (as `ShardMap` defaults it: three, or fewer hosts). */
export function replicasFor(hosts: readonly NodeId[]): number {
  return Math.min(3, hosts.length);
}

/** The shard map of `shards` shards over `hosts`, as the service computes it. */
export function layoutMap(shards: number, hosts: readonly NodeId[]): ShardMap {
  return new ShardMap({ shards, replicas: replicasFor(hosts), hosts });
}

/**
 * Draws a rebalance plan over `ids` (3 to 5 hosts) for a fault phase of
 * `durationMs`: the first layout leaves one host out when there are four or
 * more; then one to three changes, each a host joining or leaving, never
 * below three hosts (two when the world has only three).
 */
export function drawRebalancePlan(random: SeededRandom, ids: readonly NodeId[], durationMs: number, tickIntervalMs: number): RebalancePlan {
  const minimum = Math.min(3, ids.length - 1);
  let layout = ids.length >= 4 ? shuffle(random, ids).slice(0, ids.length - 1).sort() : [...ids];
  const initial = layout;
  const count = integerBetween(random, 1, 3);
  const times = Array.from({ length: count }, () => uniform(random, 0.1, 0.8) * durationMs).sort((a, b) => a - b);
  const changes: LayoutChange[] = [];
  for (const atMs of times) {
    const outside = ids.filter((id) => !layout.includes(id));
    const join = outside.length > 0 && (layout.length <= minimum || random.nextInt(2) === 0);
    const host = join ? pick(random, outside) : pick(random, layout);
    layout = join ? [...layout, host].sort() : layout.filter((id) => id !== host);
    changes.push({ atMs, hosts: layout, describe: `${host} ${join ? 'joins' : 'leaves'}` });
  }
  // The service's default is 500 ms at 100 ms ticks: five ticks.
  return { initial, changes, intervalMs: 5 * tickIntervalMs };
}

/** The groups of a rebalance world: the first layout's shards and where it places them, and each key's shard. */
export function rebalanceGroups(plan: RebalancePlan, shards: number, keys: readonly string[]): { groups: { group: GroupId; members: readonly NodeId[] }[]; keyGroup: Map<string, GroupId> } {
  const map = layoutMap(shards, plan.initial);
  const groups = map.shardIds().map((shard) => ({ group: shard, members: [...map.placement(shard)] }));
  return { groups, keyGroup: new Map(keys.map((key) => [key, map.shardOf(key)])) };
}
