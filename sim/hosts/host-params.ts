/**
 * The parameters of one multi-group world, drawn per seed: the single-group
 * world's parameters (timeouts, network, disks, fault mix: params.ts) with
 * hosts for nodes, then how many groups run (1 to 64), where each group's
 * three replicas live, which keys map to which group, and how idle groups
 * quiesce, and whether the sharded service's rebalancer runs (then the
 * groups are its shards: rebalance-plan.ts). Every draw after `drawParams`
 * comes from the same `params` stream, appended after its draws.
 */
import type { NodeId } from '../../src/core/types.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { SeededRandom } from '../../src/util/random.js';
import { drawParams } from '../world/params.js';
import type { FaultKind, WorldParams } from '../world/params.js';
import { chance, integerBetween, shuffle } from '../world/streams.js';
import { drawRebalancePlan, rebalanceGroups } from './rebalance-plan.js';
import type { RebalancePlan } from './rebalance-plan.js';

/** Share of the multi-group worlds that run the sharded service's rebalancer, when the run leaves it to the seed. */
export const REBALANCE_CHANCE = 1 / 4;

/**
 * Fault kinds a multi-group world uses. `transfer` hands one group's
 * leadership to the drawn host; membership churn is not drawn: replicas
 * move by the sharded service's rebalancer in rebalance worlds (sim-rebalance.ts).
 */
export const HOST_FAULT_KINDS: readonly FaultKind[] = ['drop', 'duplicate', 'reorder', 'partition', 'clog', 'crash', 'pause', 'drift', 'ioError', 'transfer'];

/** Most groups a world runs. */
export const GROUPS_MAX = 64;
/** Replicas of every group. */
export const REPLICAS_PER_GROUP = 3;

/** One group and the hosts its replicas live on. */
export interface GroupPlacement {
  /** The group's id. */
  readonly group: GroupId;
  /** The group's voters: three distinct hosts (`REPLICAS_PER_GROUP`), in host order. */
  readonly members: readonly NodeId[];
}

/** What the caller fixes; everything else is drawn. */
export interface HostParamsRequest {
  /** Hosts, 3 to 5; drawn when absent. */
  readonly hosts?: number | undefined;
  /** Groups, 1 to {@link GROUPS_MAX}; drawn when absent. */
  readonly groups?: number | undefined;
  /** The fault kinds the run may use (each seed switches a subset on); those outside {@link HOST_FAULT_KINDS} are ignored. */
  readonly faults: readonly FaultKind[];
  /** Whether the world runs the rebalancer: true or false forces it; drawn per seed when absent. */
  readonly rebalance?: boolean | undefined;
  /** Length of the fault phase, in milliseconds, over which layout changes are drawn. @defaultValue 10000 */
  readonly durationMs?: number | undefined;
}

/** Every parameter of one multi-group world. */
export interface HostWorldParams {
  /** Timing, network, disk and fault parameters; `ids` are the hosts. */
  readonly world: WorldParams;
  /** Every group and the hosts of its replicas. */
  readonly groups: readonly GroupPlacement[];
  /** The keys clients use, each owned by one group. */
  readonly keys: readonly string[];
  /** The group each key maps to. */
  readonly keyGroup: ReadonlyMap<string, GroupId>;
  /** Whether idle groups quiesce. */
  readonly quiescence: boolean;
  /** Idle ticks before a group's leader quiesces it. */
  readonly quiesceAfterTicks: number;
  /**
   * The sharded service's layouts over time when the world runs its
   * rebalancer (the groups are then the first layout's shards), else null.
   */
  readonly rebalance: RebalancePlan | null;
}

/** Draws a multi-group world. Draw order is part of the seed's meaning: add new draws at the end. */
export function drawHostParams(random: SeededRandom, request: HostParamsRequest): HostWorldParams {
  const faults = request.faults.filter((kind) => HOST_FAULT_KINDS.includes(kind));
  const hostCount = request.hosts ?? integerBetween(random, 3, 5);
  const drawn = drawParams(random, { nodes: hostCount, faults });
  const world: WorldParams = { ...drawn, ids: drawn.ids.map((_, i) => `h${i + 1}`) };
  // Few groups are as interesting as many: a third of the worlds have at most four.
  const groupCount = request.groups ?? (chance(random, 1 / 3) ? integerBetween(random, 1, 4) : integerBetween(random, 1, GROUPS_MAX));
  const groups: GroupPlacement[] = [];
  for (let i = 0; i < groupCount; i++) {
    const chosen = new Set(shuffle(random, world.ids).slice(0, REPLICAS_PER_GROUP));
    groups.push({ group: `g${String(i).padStart(2, '0')}`, members: world.ids.filter((id) => chosen.has(id)) });
  }
  const keyCount = integerBetween(random, 2, 8);
  const keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  const keyGroup = new Map(keys.map((key) => [key, groups[random.nextInt(groupCount)]!.group]));
  const quiescence = chance(random, 0.9);
  const quiesceAfterTicks = integerBetween(random, 2, 2 * world.electionTicks);
  // Drawn even when the request decides, so that a forced run draws the same plan as the seed would.
  const rebalanceDrawn = chance(random, REBALANCE_CHANCE);
  if (!(request.rebalance ?? rebalanceDrawn)) return { world, groups, keys, keyGroup, quiescence, quiesceAfterTicks, rebalance: null };
  const plan = drawRebalancePlan(random, world.ids, request.durationMs ?? 10_000, world.tickIntervalMs);
  const sharded = rebalanceGroups(plan, groupCount, keys);
  return { world, groups: sharded.groups, keys, keyGroup: sharded.keyGroup, quiescence, quiesceAfterTicks, rebalance: plan };
}
