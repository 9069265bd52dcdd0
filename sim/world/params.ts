/**
 * The parameters of one simulated world, drawn from the seed's `params`
 * stream (swarm testing, FoundationDB's BUGGIFY spirit): cluster size,
 * timeouts, network and disk behaviour, which faults are on and how often
 * they strike. Different seeds explore different worlds, not just different
 * interleavings of one world.
 */
import type { NodeId } from '../../src/core/types.js';
import type { SeededRandom } from '../../src/util/random.js';
import type { DiskOptions } from './sim-disk.js';
import type { NetworkOptions } from './network.js';
import { chance, integerBetween, pick, uniform } from './streams.js';

/** The kinds of fault the simulator can inject. */
export type FaultKind = 'drop' | 'duplicate' | 'reorder' | 'partition' | 'clog' | 'crash' | 'pause' | 'drift' | 'ioError' | 'transfer' | 'churn';

/** Every fault kind, in a fixed order. */
export const FAULT_KINDS: readonly FaultKind[] = ['drop', 'duplicate', 'reorder', 'partition', 'clog', 'crash', 'pause', 'drift', 'ioError', 'transfer', 'churn'];

/** Fault kinds that strike at moments of the schedule (the others are rates or per-node settings). */
export const SCHEDULED_FAULTS: readonly FaultKind[] = ['partition', 'clog', 'crash', 'pause', 'ioError', 'transfer', 'churn'];

/** Membership churn keeps the cluster's voters within these bounds (a change past them is skipped). */
export const CHURN_VOTERS_MIN = 3;
export const CHURN_VOTERS_MAX = 7;

/** The most nodes churn may create in one world, so the world stays bounded. */
export const CHURN_NEW_NODES_MAX = 12;

/** The lease's drift allowance in every world (the runtime's default); the drawn drift stays inside it. */
export const MAX_CLOCK_DRIFT_TICKS = 1;

/**
 * The most two node clocks of `params` can drift apart during one election
 * timeout, in ticks: one runs `1 + driftMax` fast, the other `1 - driftMax` slow.
 */
export function driftTicksPerElection(params: Pick<WorldParams, 'driftMax' | 'electionTicks'>): number {
  return 2 * params.driftMax * params.electionTicks;
}

/** What the caller fixes; everything else is drawn. */
export interface ParamsRequest {
  /** Cluster size; drawn from 3, 5 and 7 when absent. */
  readonly nodes?: number | undefined;
  /** The fault kinds this run may use; each is then switched on with a per-seed probability. */
  readonly faults: readonly FaultKind[];
  /** Simulated clients; drawn from 1 to 4 when absent. */
  readonly clients?: number | undefined;
}

/** Every parameter of one world. */
export interface WorldParams {
  /** The ids of the initial cluster (`n1`, `n2`, …). */
  readonly ids: readonly NodeId[];
  /** Simulated milliseconds between two ticks of a node. */
  readonly tickIntervalMs: number;
  /** The nodes' election timeout, in ticks (`RaftNodeOptions.electionTicks`). */
  readonly electionTicks: number;
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTicks: number;
  /** Whether the nodes run PreVote. */
  readonly preVote: boolean;
  /** Whether the nodes run CheckQuorum. */
  readonly checkQuorum: boolean;
  /** Default deadline of the nodes' requests, in milliseconds. */
  readonly requestTimeoutMs: number;
  /** Applied entries between two snapshots (`snapshotting.entries`). */
  readonly snapshotEntries: number;
  /** Entries kept behind a snapshot (`snapshotting.keepEntries`). */
  readonly keepEntries: number;
  /** Bytes per InstallSnapshot chunk. */
  readonly chunkBytes: number;
  /** AppendEntries in flight to one follower. */
  readonly maxInflightMsgs: number;
  /** Entry bytes in one AppendEntries. */
  readonly maxMsgBytes: number;
  /** How the network behaves. */
  readonly network: NetworkOptions;
  /** How every node's disk behaves. */
  readonly disk: DiskOptions;
  /** The fault kinds switched on in this world. */
  readonly faults: readonly FaultKind[];
  /** Mean world milliseconds between two scheduled faults. */
  readonly faultIntervalMsMean: number;
  /** Largest deviation of a node's clock rate from 1 (0 without drift). */
  readonly driftMax: number;
  /**
   * The drift allowance every node is configured with (`RaftNodeOptions.maxClockDriftTicks`).
   * `driftMax` is drawn so that two clocks never drift apart by more than this
   * many ticks per election timeout, which is what makes lease reads sound.
   */
  readonly maxClockDriftTicks: number;
  /** Simulated clients. */
  readonly clients: number;
  /** The keys the clients work on. */
  readonly keys: readonly string[];
  /** Whether clients may ask for lease reads (only where the lease's clock assumption holds). */
  readonly leaseReads: boolean;
  /** Shortest time a crashed node stays down, in world milliseconds. */
  readonly downMsMin: number;
  /** A planted bug for testing the simulator (never drawn): gets skip the read barrier. */
  readonly unsafeReads: boolean;
  /**
   * A planted bug for testing the simulator (never drawn): clients send
   * operations without pause and without waiting for answers, so the world
   * fills up without simulated time moving on.
   */
  readonly floodingClients: boolean;
  /**
   * Slow, uneven disks on every node (a write takes up to four ticks), or
   * null. A leader's own write is then often still in flight when a faster
   * follower's acknowledgement arrives, and a crash in that window is where
   * bug 7 of raft-notes §4 (a leader counting its unsynced entries,
   * etcd#14370) loses a committed entry: the coverage mark
   * `leaderCrashedAckedUnsynced`. With the usual sub-tick disks the swarm
   * never reached it.
   */
  readonly slowDisks: {
    /** Shortest write latency, in milliseconds. */
    readonly latencyMsMin: number;
    /** Longest write latency, in milliseconds. */
    readonly latencyMsMax: number;
  } | null;
}

/** Draws a world's parameters. Draw order is part of the seed's meaning: add new draws at the end. */
export function drawParams(random: SeededRandom, request: ParamsRequest): WorldParams {
  const size = request.nodes ?? pick(random, [3, 5, 7]);
  const tickIntervalMs = pick(random, [5, 10, 20]);
  const electionTicks = integerBetween(random, 5, 15);
  const heartbeatTicks = chance(random, 0.7) ? 1 : 2;
  const safetyNets = chance(random, 0.85);
  const mix = drawFaultMix(random, request.faults);
  // The older kinds only, until the end: the draws below decide as they did before churn existed.
  const olderFaults = mix.on;
  const electionMsMax = 2 * electionTicks * tickIntervalMs;
  const network = drawNetwork(random, olderFaults, tickIntervalMs, electionMsMax);
  const disk: DiskOptions = { latencyMsMin: uniform(random, 0, 0.5), latencyMsMax: uniform(random, 0.5, 3), unsyncedMaySurvive: chance(random, 0.5) };
  // The lease assumes bounded drift, no pauses and no quick restarts (docs/api.md): only ask for it where that holds.
  const leaseReads = safetyNets && !olderFaults.includes('pause') && chance(random, 0.5);
  // Two clocks then differ by less than 0.9 of the allowance per election timeout: inside what the lease assumes.
  const driftMax = olderFaults.includes('drift') ? uniform(random, 0, (0.9 * MAX_CLOCK_DRIFT_TICKS) / electionTicks) / 2 : 0;
  const clients = request.clients ?? integerBetween(random, 1, 4);
  const keyCount = integerBetween(random, 1, 4);
  const params: WorldParams = {
    ids: Array.from({ length: size }, (_, i) => `n${i + 1}`),
    tickIntervalMs,
    electionTicks,
    heartbeatTicks,
    preVote: safetyNets,
    checkQuorum: safetyNets,
    requestTimeoutMs: electionMsMax * integerBetween(random, 2, 4),
    snapshotEntries: integerBetween(random, 10, 120),
    keepEntries: integerBetween(random, 0, 20),
    chunkBytes: pick(random, [64, 256, 4096]),
    maxInflightMsgs: integerBetween(random, 1, 16),
    maxMsgBytes: pick(random, [128, 1024, 65536]),
    network,
    disk,
    faults: olderFaults,
    faultIntervalMsMean: uniform(random, 100, 1500),
    driftMax,
    maxClockDriftTicks: MAX_CLOCK_DRIFT_TICKS,
    clients,
    keys: Array.from({ length: keyCount }, (_, i) => `k${i}`),
    leaseReads,
    downMsMin: leaseReads ? 2 * electionMsMax : 0,
    unsafeReads: false,
    floodingClients: false,
    slowDisks: null,
  };
  // After every older draw (those in the literal above too), so a seed keeps its world.
  const faults = drawLaterFaults(random, mix, request.faults);
  const slowDisks = chance(random, 0.25) ? { latencyMsMin: 0, latencyMsMax: 4 * tickIntervalMs } : null;
  return { ...params, faults, slowDisks };
}

/** Fault kinds added after seeds were first recorded: each is switched on by a draw at the end of {@link drawParams}. */
const LATER_FAULT_KINDS: readonly FaultKind[] = ['churn'];

/**
 * Switches each allowed fault on with a probability drawn per seed, keeping at least one on when any is allowed.
 * Returns the probability too, for the kinds switched on later.
 */
function drawFaultMix(random: SeededRandom, allowed: readonly FaultKind[]): { on: FaultKind[]; p: number } {
  const p = uniform(random, 0.4, 1);
  const on = FAULT_KINDS.filter((kind) => !LATER_FAULT_KINDS.includes(kind) && chance(random, p) && allowed.includes(kind));
  const fallback = allowed.length === 0 ? null : pick(random, [...allowed]);
  if (on.length === 0 && fallback !== null) on.push(fallback);
  return { on, p };
}

/**
 * Switches on the fault kinds added later, with a draw appended after every
 * older draw, so that a seed drawn without them keeps meaning the same world.
 */
function drawLaterFaults(random: SeededRandom, mix: { on: FaultKind[]; p: number }, allowed: readonly FaultKind[]): FaultKind[] {
  for (const kind of LATER_FAULT_KINDS) {
    if (chance(random, mix.p) && allowed.includes(kind) && !mix.on.includes(kind)) mix.on.push(kind);
  }
  return FAULT_KINDS.filter((kind) => mix.on.includes(kind));
}

function drawNetwork(random: SeededRandom, faults: readonly FaultKind[], tickIntervalMs: number, electionMsMax: number): NetworkOptions {
  const latencyMsMax = uniform(random, 0.1, tickIntervalMs / 2);
  return {
    latencyMsMin: uniform(random, 0, latencyMsMax),
    latencyMsMax,
    jitterMs: uniform(random, 0, tickIntervalMs / 2),
    dropRate: faults.includes('drop') ? uniform(random, 0, 0.15) : 0,
    duplicateRate: faults.includes('duplicate') ? uniform(random, 0, 0.1) : 0,
    reorderRate: faults.includes('reorder') ? uniform(random, 0, 0.1) : 0,
    reorderDelayMsMax: uniform(random, tickIntervalMs, electionMsMax),
  };
}
