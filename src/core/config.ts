import { InvalidConfigError } from '../errors.js';
import type { LogReader } from './log-reader.js';
import type { Random } from '../util/random.js';
import type { Index, NodeId } from './types.js';

/** Options of one Raft core. Only `id`, `voters`, `storage` and `random` are required. */
export interface RaftConfig {
  /** This node's id. */
  readonly id: NodeId;
  /**
   * The voters of a new cluster, this node included unless it is one of
   * `learners`. Empty for a node that joins an existing cluster: it learns its
   * configuration from the leader's log or snapshot, and until then never
   * campaigns. Ignored when the storage already records a membership (from a
   * snapshot) or the stored log holds a config entry.
   */
  readonly voters: readonly NodeId[];
  /** The learners of a new cluster (non-voting members that receive the log). @defaultValue [] */
  readonly learners?: readonly NodeId[];
  /** The log the core reads; the runtime writes to it. */
  readonly storage: LogReader;
  /** The source of the randomized election timeouts. */
  readonly random: Random;
  /**
   * Ticks without hearing from a leader before a follower campaigns; the actual
   * timeout is drawn uniformly from [electionTicks, 2·electionTicks).
   * @defaultValue 10
   */
  readonly electionTicks?: number;
  /** Ticks between a leader's heartbeats; must be less than `electionTicks`. @defaultValue 1 */
  readonly heartbeatTicks?: number;
  /** Run a pre-vote round before a real election, so a node that cannot win does not raise terms (dissertation §9.6). @defaultValue true */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a quorum within an election timeout steps
   * down, and a follower that heard from a leader within the election timeout
   * ignores (pre-)vote requests. @defaultValue true
   */
  readonly checkQuorum?: boolean;
  /**
   * How many ticks a node's clock may gain on another's during one election
   * timeout. A read lease lasts `electionTicks - maxClockDriftTicks` ticks from
   * the heartbeat a quorum acknowledged; must be below `electionTicks`. @defaultValue 1
   */
  readonly maxClockDriftTicks?: number;
  /** Most AppendEntries in flight to one follower in the replicate state. @defaultValue 256 */
  readonly maxInflightMsgs?: number;
  /** Most entry bytes in flight to one follower; 0 for no byte limit. @defaultValue 0 */
  readonly maxInflightBytes?: number;
  /** Most entry bytes in one AppendEntries (at least one entry is always sent). @defaultValue 1 MiB */
  readonly maxMsgBytes?: number;
  /** Largest single entry a proposal may carry. @defaultValue 8 MiB */
  readonly maxEntryBytes?: number;
  /** Most bytes of uncommitted entries a leader accepts before rejecting proposals. @defaultValue 64 MiB */
  readonly maxUncommittedBytes?: number;
  /** Most bytes of committed entries handed out in one Ready. @defaultValue 16 MiB */
  readonly maxCommittedBytesPerReady?: number;
  /**
   * Most ReadIndex reads a leader holds unconfirmed at once (its own and
   * its followers'). Past it, `readIndex` on the leader throws
   * `ReadDroppedError` and a follower's request is dropped unanswered (the
   * follower's read times out). @defaultValue 100000
   */
  readonly maxPendingReadIndex?: number;
  /**
   * The index the state machine has applied when this core starts (for a
   * restarted node whose state machine persists its own progress). Defaults
   * to the storage's snapshot index: entries after it are handed out again.
   */
  readonly applied?: Index;
}

/** A {@link RaftConfig} with every default filled in and every value checked. */
export interface ResolvedConfig {
  /** {@inheritDoc RaftConfig.id} */
  readonly id: NodeId;
  /** {@inheritDoc RaftConfig.voters} */
  readonly voters: readonly NodeId[];
  /** {@inheritDoc RaftConfig.learners} */
  readonly learners: readonly NodeId[];
  /** {@inheritDoc RaftConfig.storage} */
  readonly storage: LogReader;
  /** {@inheritDoc RaftConfig.random} */
  readonly random: Random;
  /** {@inheritDoc RaftConfig.electionTicks} */
  readonly electionTicks: number;
  /** {@inheritDoc RaftConfig.heartbeatTicks} */
  readonly heartbeatTicks: number;
  /** {@inheritDoc RaftConfig.preVote} */
  readonly preVote: boolean;
  /** {@inheritDoc RaftConfig.checkQuorum} */
  readonly checkQuorum: boolean;
  /** {@inheritDoc RaftConfig.maxClockDriftTicks} */
  readonly maxClockDriftTicks: number;
  /** {@inheritDoc RaftConfig.maxInflightMsgs} */
  readonly maxInflightMsgs: number;
  /** {@inheritDoc RaftConfig.maxInflightBytes} */
  readonly maxInflightBytes: number;
  /** {@inheritDoc RaftConfig.maxMsgBytes} */
  readonly maxMsgBytes: number;
  /** {@inheritDoc RaftConfig.maxEntryBytes} */
  readonly maxEntryBytes: number;
  /** {@inheritDoc RaftConfig.maxUncommittedBytes} */
  readonly maxUncommittedBytes: number;
  /** {@inheritDoc RaftConfig.maxCommittedBytesPerReady} */
  readonly maxCommittedBytesPerReady: number;
  /** {@inheritDoc RaftConfig.maxPendingReadIndex} */
  readonly maxPendingReadIndex: number;
  /** {@inheritDoc RaftConfig.applied} */
  readonly applied: Index | undefined;
}

const MiB = 1024 * 1024;

/** Validates a {@link RaftConfig} and fills in defaults. Throws {@link InvalidConfigError} naming the first bad field. */
export function resolveConfig(config: RaftConfig): ResolvedConfig {
  if (typeof config !== 'object' || config === null) throw new InvalidConfigError('config', 'must be an object');
  checkId('id', config.id);
  const { voters, learners } = checkMembers(config.voters, config.learners, config.id);
  if (typeof config.storage?.lastIndex !== 'function') throw new InvalidConfigError('storage', 'must implement LogReader');
  if (typeof config.storage.configEntries !== 'function') throw new InvalidConfigError('storage', 'must implement LogReader.configEntries');
  if (typeof config.random?.nextInt !== 'function') throw new InvalidConfigError('random', 'must implement Random');
  const electionTicks = positiveInteger('electionTicks', config.electionTicks, 10);
  const heartbeatTicks = positiveInteger('heartbeatTicks', config.heartbeatTicks, 1);
  if (heartbeatTicks >= electionTicks) {
    throw new InvalidConfigError('heartbeatTicks', `${heartbeatTicks} must be less than electionTicks ${electionTicks}`);
  }
  const maxClockDriftTicks = nonNegativeInteger('maxClockDriftTicks', config.maxClockDriftTicks, 1);
  if (maxClockDriftTicks >= electionTicks) {
    throw new InvalidConfigError('maxClockDriftTicks', `${maxClockDriftTicks} must be less than electionTicks ${electionTicks}`);
  }
  const applied = config.applied;
  if (applied !== undefined && (!Number.isSafeInteger(applied) || applied < 0)) {
    throw new InvalidConfigError('applied', `must be a non-negative integer, got ${String(applied)}`);
  }
  return {
    id: config.id,
    voters,
    learners,
    storage: config.storage,
    random: config.random,
    electionTicks,
    heartbeatTicks,
    preVote: boolean('preVote', config.preVote, true),
    checkQuorum: boolean('checkQuorum', config.checkQuorum, true),
    maxClockDriftTicks,
    maxInflightMsgs: positiveInteger('maxInflightMsgs', config.maxInflightMsgs, 256),
    maxInflightBytes: nonNegativeInteger('maxInflightBytes', config.maxInflightBytes, 0),
    maxMsgBytes: positiveInteger('maxMsgBytes', config.maxMsgBytes, MiB),
    maxEntryBytes: positiveInteger('maxEntryBytes', config.maxEntryBytes, 8 * MiB),
    maxUncommittedBytes: positiveInteger('maxUncommittedBytes', config.maxUncommittedBytes, 64 * MiB),
    maxCommittedBytesPerReady: positiveInteger('maxCommittedBytesPerReady', config.maxCommittedBytesPerReady, 16 * MiB),
    maxPendingReadIndex: positiveInteger('maxPendingReadIndex', config.maxPendingReadIndex, 100_000),
    applied,
  };
}

function checkId(field: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidConfigError(field, `must be a non-empty string, got ${String(id)}`);
}

function checkMembers(voters: unknown, learners: unknown, self: string): { voters: readonly string[]; learners: readonly string[] } {
  if (!Array.isArray(voters)) throw new InvalidConfigError('voters', 'must be a list of node ids');
  if (learners !== undefined && !Array.isArray(learners)) throw new InvalidConfigError('learners', 'must be a list of node ids');
  const learnerList: unknown[] = learners ?? [];
  if (voters.length === 0 && learnerList.length > 0) throw new InvalidConfigError('learners', 'a cluster with learners needs voters');
  const seen = new Set<string>();
  for (const [field, list] of [['voters', voters], ['learners', learnerList]] as const) {
    for (const id of list) {
      checkId(field, id);
      if (seen.has(id)) throw new InvalidConfigError(field, `duplicate id ${id}`);
      seen.add(id);
    }
  }
  // An empty list means a joining node; otherwise this node must be one of the members.
  if (voters.length > 0 && !seen.has(self)) throw new InvalidConfigError('voters', `must include this node's id ${self} (or list it among learners)`);
  return { voters: [...(voters as string[])], learners: [...(learnerList as string[])] };
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidConfigError(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegativeInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidConfigError(field, `must be a non-negative integer, got ${String(value)}`);
  return value;
}

function boolean(field: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidConfigError(field, `must be a boolean, got ${String(value)}`);
  return value;
}
