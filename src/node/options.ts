import type { RaftConfig } from '../core/config.js';
import type { Index, NodeId } from '../core/types.js';
import { InvalidConfigError } from '../errors.js';
import type { LogStorage } from '../storage/storage.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import type { Transport } from '../transport/transport.js';
import type { Random } from '../util/random.js';
import { SeededRandom } from '../util/random.js';
import type { Clock } from '../util/clock.js';
import { MAX_COMMAND_OVERHEAD_BYTES } from './apply/payload.js';
import { SystemClock } from '../util/clock.js';
import type { StateMachine } from './state-machine.js';

/** Options of {@link RaftNode.open}. */
export interface RaftNodeOptions<Result = unknown> {
  /** This node's id. */
  readonly id: NodeId;
  /**
   * The voters of a new cluster, this node included (ignored once storage
   * records a membership). Empty or omitted with `join: true`.
   */
  readonly members?: readonly NodeId[];
  /**
   * Start with no configuration, to be added to a running cluster
   * (`addLearner`/`addVoter` on its leader): the node never campaigns and
   * takes its configuration from the leader's log or snapshot.
   * `members` must then be empty or omitted. @defaultValue false
   */
  readonly join?: boolean;
  /** How runtime membership changes (`addVoter`, `promote`, `replaceMember`) behave. @defaultValue `{ promoteWithinEntries: 100 }` */
  readonly membership?: MembershipPolicy;
  /** The durable log (`MemoryStorage` or `LevelStorage`). The caller owns it and closes it after the node. */
  readonly storage: LogStorage;
  /** Where state-machine snapshots are kept. The caller owns it. */
  readonly snapshots: SnapshotStore;
  /** How this node reaches its peers (`LocalNetwork` in-process, TCP across machines). The node closes it. */
  readonly transport: Transport;
  /** The replicated state machine: committed commands are applied to it in log order, and snapshots are captured from and restored into it. */
  readonly stateMachine: StateMachine<Result>;
  /** The time source of the node's ticks, deadlines and timers; tests and the simulator pass a {@link VirtualClock}. @defaultValue a {@link SystemClock} */
  readonly clock?: Clock;
  /** The source of the randomized election timeouts; a seeded one makes a run reproducible. @defaultValue a generator seeded from `crypto.getRandomValues` */
  readonly random?: Random;
  /** Milliseconds per core tick. @defaultValue 100 */
  readonly tickIntervalMs?: number;
  /** Ticks of the election timeout (the actual timeout is drawn from [electionTicks, 2·electionTicks)). @defaultValue 10 */
  readonly electionTicks?: number;
  /** Ticks between heartbeats. @defaultValue 1 */
  readonly heartbeatTicks?: number;
  /** Run a pre-vote round before a real election, so a node that cannot win does not raise terms (dissertation §9.6). @defaultValue true */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a quorum within an election timeout steps
   * down, and a follower that heard from a leader within the election timeout
   * ignores (pre-)vote requests. Lease reads need it. @defaultValue true
   */
  readonly checkQuorum?: boolean;
  /**
   * How many ticks one node's clock may gain on another's during one election
   * timeout. A lease read is served for `electionTicks - maxClockDriftTicks`
   * ticks after a heartbeat round a quorum acknowledged, so a larger value
   * shortens the lease; it must be below `electionTicks`. @defaultValue 1
   */
  readonly maxClockDriftTicks?: number;
  /** On a follower, send proposals to the leader instead of rejecting them with `NotLeaderError`. @defaultValue true */
  readonly forwardProposals?: boolean;
  /** Default deadline of `propose` and `read`, in clock milliseconds. @defaultValue 10000 */
  readonly requestTimeoutMs?: number;
  /** Size and queue limits of this node; every one has a default and is validated when the node opens. */
  readonly limits?: NodeLimits;
  /** When snapshots are taken, how much log is kept behind them, and how they are sent to followers. */
  readonly snapshotting?: SnapshotPolicy;
}

/** How runtime membership changes behave. */
export interface MembershipPolicy {
  /**
   * `promote` (and `addVoter`, `replaceMember`) makes a learner a voter only
   * once its match index is within this many entries of the leader's last
   * index, so that a new voter does not stall commits while it catches up.
   * Until then the call waits, within its deadline. @defaultValue 100
   */
  readonly promoteWithinEntries?: number;
}

/** When snapshots are taken and how they are sent. */
export interface SnapshotPolicy {
  /** Take a snapshot once this many entries were applied since the last one. @defaultValue 10000 */
  readonly entries?: number;
  /** ... or once the entries applied since the last one carry this many payload bytes. @defaultValue 64 MiB */
  readonly bytes?: number;
  /**
   * Entries kept in the log behind a snapshot, so a follower that is only a
   * little behind catches up from the log instead of needing a snapshot. @defaultValue 1000
   */
  readonly keepEntries?: number;
  /** Bytes per InstallSnapshot chunk. @defaultValue 64 KiB */
  readonly chunkBytes?: number;
  /** Unacknowledged chunks per follower. @defaultValue 4 */
  readonly maxChunksInFlight?: number;
  /**
   * Retransmissions of a snapshot without progress (each after an election
   * timeout without an acknowledgement) before the transfer is abandoned and
   * the core told it failed; the leader then starts a fresh one. @defaultValue 5
   */
  readonly maxRetransmits?: number;
}

/** Size limits; every one is validated. */
export interface NodeLimits {
  /** Largest command. @defaultValue 8 MiB */
  readonly maxCommandBytes?: number;
  /** Most uncommitted bytes the leader accepts. @defaultValue 64 MiB */
  readonly maxUncommittedBytes?: number;
  /** AppendEntries in flight to one follower. @defaultValue 256 */
  readonly maxInflightMsgs?: number;
  /** Entry bytes in one AppendEntries. @defaultValue 1 MiB */
  readonly maxMsgBytes?: number;
  /**
   * Entry bytes in flight to one follower (sent, not yet acknowledged); 0
   * leaves only `maxInflightMsgs` × `maxMsgBytes` as the bound. @defaultValue 0
   */
  readonly maxInflightBytes?: number;
  /**
   * Bytes of committed entries one Ready hands to the apply queue: the
   * owner loop's bound on entries per Ready (the apply queue holds at most
   * one Ready's worth beyond what was applied). @defaultValue 16 MiB
   */
  readonly maxCommittedBytesPerReady?: number;
  /** Proposals waiting for their result at once on this node; past it, `propose` rejects with `ProposalDroppedError`. @defaultValue 100000 */
  readonly maxPendingProposals?: number;
  /** Client sessions remembered for exactly-once retries (least recently used forgotten first). @defaultValue 10000 */
  readonly maxSessions?: number;
  /**
   * Read barriers waiting at once on this node (for the leader's
   * confirmation or for the apply index); past it, `read` rejects with
   * `ReadDroppedError`. It also bounds what this node adds to the leader's
   * queue of pending read indexes. @defaultValue 100000
   */
  readonly maxPendingReads?: number;
  /**
   * Outcomes of recently applied entries kept for proposals forwarded by
   * this node whose answer (where the entry landed) arrives after the entry
   * was applied here. An answer that old finds nothing and its proposal
   * rejects with `ProposalLostError` (outcome unknown). @defaultValue 10000
   */
  readonly maxRememberedResults?: number;
  /**
   * Inputs (proposals, reads, peer messages, ticks) the owner loop steps into
   * the core per turn; the rest wait for the next turn, so that one burst
   * cannot hold the process for long. @defaultValue 4096
   */
  readonly maxInputsPerTurn?: number;
  /** Committed entries applied per turn of the owner loop; the rest are applied in the next turns. @defaultValue 4096 */
  readonly maxAppliesPerTurn?: number;
}

/** The bounds of one turn of the owner loop (owner-loop.ts). */
export type LoopLimits = Pick<Required<NodeLimits>, 'maxInputsPerTurn' | 'maxAppliesPerTurn'>;

/** {@link RaftNodeOptions} with defaults filled in and every value checked. */
export interface ResolvedNodeOptions<Result> extends Required<Omit<RaftNodeOptions<Result>, 'limits' | 'snapshotting' | 'membership'>> {
  readonly limits: Required<NodeLimits>;
  readonly membership: Required<MembershipPolicy>;
  readonly snapshotting: Required<SnapshotPolicy>;
}

const MiB = 1024 * 1024;

/** Validates {@link RaftNodeOptions}; throws {@link InvalidConfigError} naming the first bad option. */
export function resolveNodeOptions<Result>(options: RaftNodeOptions<Result>): ResolvedNodeOptions<Result> {
  if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', 'must be an object');
  requireMethods('storage', options.storage, ['append', 'lastIndex', 'saveSnapshot']);
  requireMethods('snapshots', options.snapshots, ['create', 'read', 'latest']);
  requireMethods('transport', options.transport, ['start', 'send', 'close']);
  requireStateMachine(options.stateMachine);
  const members = resolveMembers(options);
  const limits = options.limits ?? {};
  const electionTicks = positive('electionTicks', options.electionTicks, 10);
  const snapshotting = options.snapshotting ?? {};
  return {
    id: options.id,
    members,
    join: members.length === 0,
    membership: { promoteWithinEntries: nonNegative('membership.promoteWithinEntries', options.membership?.promoteWithinEntries, 100) },
    storage: options.storage,
    snapshots: options.snapshots,
    transport: options.transport,
    stateMachine: options.stateMachine,
    clock: options.clock ?? new SystemClock(),
    random: options.random ?? new SeededRandom(unpredictableSeed()),
    tickIntervalMs: positive('tickIntervalMs', options.tickIntervalMs, 100),
    electionTicks,
    heartbeatTicks: positive('heartbeatTicks', options.heartbeatTicks, 1),
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    maxClockDriftTicks: clockDriftTicks(options.maxClockDriftTicks, electionTicks),
    forwardProposals: options.forwardProposals ?? true,
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    limits: {
      maxCommandBytes: positive('limits.maxCommandBytes', limits.maxCommandBytes, 8 * MiB),
      maxUncommittedBytes: positive('limits.maxUncommittedBytes', limits.maxUncommittedBytes, 64 * MiB),
      maxInflightMsgs: positive('limits.maxInflightMsgs', limits.maxInflightMsgs, 256),
      maxMsgBytes: positive('limits.maxMsgBytes', limits.maxMsgBytes, MiB),
      maxInflightBytes: nonNegative('limits.maxInflightBytes', limits.maxInflightBytes, 0),
      maxCommittedBytesPerReady: positiveInteger('limits.maxCommittedBytesPerReady', limits.maxCommittedBytesPerReady, 16 * MiB),
      maxPendingProposals: positive('limits.maxPendingProposals', limits.maxPendingProposals, 100_000),
      maxSessions: positive('limits.maxSessions', limits.maxSessions, 10_000),
      maxPendingReads: positiveInteger('limits.maxPendingReads', limits.maxPendingReads, 100_000),
      maxRememberedResults: positiveInteger('limits.maxRememberedResults', limits.maxRememberedResults, 10_000),
      maxInputsPerTurn: positiveInteger('limits.maxInputsPerTurn', limits.maxInputsPerTurn, 4096),
      maxAppliesPerTurn: positiveInteger('limits.maxAppliesPerTurn', limits.maxAppliesPerTurn, 4096),
    },
    snapshotting: {
      entries: positive('snapshotting.entries', snapshotting.entries, 10_000),
      bytes: positive('snapshotting.bytes', snapshotting.bytes, 64 * MiB),
      keepEntries: nonNegative('snapshotting.keepEntries', snapshotting.keepEntries, 1_000),
      chunkBytes: positive('snapshotting.chunkBytes', snapshotting.chunkBytes, 64 * 1024),
      maxChunksInFlight: positive('snapshotting.maxChunksInFlight', snapshotting.maxChunksInFlight, 4),
      maxRetransmits: positiveInteger('snapshotting.maxRetransmits', snapshotting.maxRetransmits, 5),
    },
  };
}

/** The initial voters: at least one for a new cluster, none for a node that joins one. */
function resolveMembers(options: RaftNodeOptions<unknown>): readonly NodeId[] {
  const members = options.members ?? [];
  if (!Array.isArray(members) || members.some((id) => typeof id !== 'string' || id.length === 0)) throw new InvalidConfigError('members', 'must be a list of node ids');
  if (options.join === true && members.length > 0) throw new InvalidConfigError('members', 'must be empty when join is true: a joining node learns its configuration from the leader');
  // Joining is explicit: an empty list by mistake must not leave a node silently waiting to be added.
  if (options.join !== true && members.length === 0) throw new InvalidConfigError('members', 'must list the voters of a new cluster (or set join: true to join a running one)');
  return members;
}

/** The state machine's methods; one written for the old `snapshot()` contract is told what replaced it. */
function requireStateMachine(machine: unknown): void {
  const methods = machine as Record<string, unknown> | null | undefined;
  if (typeof methods?.['snapshot'] === 'function' && typeof methods['capture'] !== 'function') {
    throw new InvalidConfigError('stateMachine', 'snapshot() was replaced by capture(point), a synchronous point-in-time view whose chunks() are written in the background (see docs/api.md, "The state machine")');
  }
  requireMethods('stateMachine', machine, ['apply', 'capture', 'restore']);
}

function requireMethods(field: string, value: unknown, methods: readonly string[]): void {
  for (const method of methods) {
    if (typeof (value as Record<string, unknown> | null | undefined)?.[method] !== 'function') {
      throw new InvalidConfigError(field, `must implement ${method}()`);
    }
  }
}

/** The lease's drift allowance: a whole number of ticks below the election timeout (the core checks it again). */
function clockDriftTicks(value: number | undefined, electionTicks: number): number {
  const ticks = nonNegative('maxClockDriftTicks', value, 1);
  if (ticks >= electionTicks) throw new InvalidConfigError('maxClockDriftTicks', `${ticks} must be less than electionTicks ${electionTicks}`);
  return ticks;
}

/**
 * The core's configuration from the node's resolved options. The core's entry
 * limit is `maxCommandBytes` plus the most a payload adds to a command, a
 * session's header included (payload.ts), so that the core never refuses a
 * command that `propose` accepted.
 */
export function coreConfig<Result>(options: ResolvedNodeOptions<Result>, appliedIndex: Index): RaftConfig {
  return {
    id: options.id,
    voters: options.members,
    storage: options.storage,
    random: options.random,
    electionTicks: options.electionTicks,
    heartbeatTicks: options.heartbeatTicks,
    preVote: options.preVote,
    checkQuorum: options.checkQuorum,
    maxClockDriftTicks: options.maxClockDriftTicks,
    maxInflightMsgs: options.limits.maxInflightMsgs,
    maxMsgBytes: options.limits.maxMsgBytes,
    maxInflightBytes: options.limits.maxInflightBytes,
    maxCommittedBytesPerReady: options.limits.maxCommittedBytesPerReady,
    maxEntryBytes: options.limits.maxCommandBytes + MAX_COMMAND_OVERHEAD_BYTES,
    maxUncommittedBytes: options.limits.maxUncommittedBytes,
    maxPendingReadIndex: options.limits.maxPendingReads,
    applied: appliedIndex,
  };
}

function nonNegative(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidConfigError(field, `must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function positive(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidConfigError(field, `must be a positive number, got ${String(value)}`);
  }
  return value;
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(field, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * A seed no one can predict, from the Web Crypto API that Node (as the global
 * `crypto`) and browsers share: the runtime imports nothing Node-only.
 */
function unpredictableSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! >>> 1;
}
