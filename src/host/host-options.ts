/**
 * The options and figures of a {@link RaftHost} (raft-host.ts), and the check
 * of its options: what a user passes to `RaftHost.open` and reads from
 * `RaftHost.stats`.
 */
import type { NodeId } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { RaftNodeOptions } from '../node/options.js';
import type { StateMachine } from '../node/state-machine.js';
import type { GroupLogs } from '../storage/group-logs.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import type { Transport } from '../transport/transport.js';
import type { Clock, SystemClock } from '../util/clock.js';
import type { GroupId } from '../util/group-id.js';
import type { Random } from '../util/random.js';
import type { QuiescenceStats } from './group-quiescence.js';
import type { HostLoopStats } from './host-loop.js';
import type { HostTransportStats } from './host-transport.js';
import type { RaftHost } from './raft-host.js';
import type { RemovalNoticeStats } from './removal-notices.js';

/** What a group's replica needs beside its log: the user's state machine and a snapshot store. */
export interface GroupParts<Result> {
  /** The group's replicated state machine on this host. */
  readonly stateMachine: StateMachine<Result>;
  /** The group's snapshot store (for example `FileSnapshotStore.open(join(dir, group))`). The host closes nothing of it. */
  readonly snapshots: SnapshotStore;
  /** The group's random source for election timeouts. @defaultValue one seeded from `crypto.randomInt` */
  readonly random?: Random;
}

/** Options every group's replica on a host gets: timing, policies and limits of {@link RaftNodeOptions}. */
export type GroupDefaults<Result> = Omit<
  RaftNodeOptions<Result>,
  'id' | 'members' | 'join' | 'storage' | 'snapshots' | 'transport' | 'stateMachine' | 'clock' | 'random' | 'tickIntervalMs'
>;

/** Options of {@link RaftHost.open}. */
export interface RaftHostOptions<Result = unknown> {
  /** This host's id; it is the node id of every replica the host holds. */
  readonly hostId: NodeId;
  /** The other hosts of the cluster. Groups' members must be among them (or this host). More can be added with {@link RaftHost.addHost}. */
  readonly peers: readonly NodeId[];
  /**
   * Carries the messages of all groups between hosts: a `TcpTransport` whose
   * node id is `hostId` and whose peers are the other hosts (one connection
   * per host pair, authenticated once), or an in-process network's. The host closes it.
   */
  readonly transport: Transport;
  /** The logs of every group (`LevelEngine` or `MemoryGroupLogs`). The caller owns it and closes it after the host. */
  readonly logs: GroupLogs;
  /** Gives each group the host opens or creates its state machine and snapshot store. */
  readonly groupParts: (group: GroupId) => GroupParts<Result> | Promise<GroupParts<Result>>;
  /** @defaultValue a {@link SystemClock} */
  readonly clock?: Clock;
  /** Milliseconds per tick of the host's one ticker, which ticks every group. @defaultValue 100 */
  readonly tickIntervalMs?: number;
  /** Options for every group's replica. */
  readonly groupDefaults?: GroupDefaults<Result>;
  /** Told about refused input (a message for a group this host does not hold) and groups that failed to open. */
  readonly log?: (record: HostLogRecord) => void;
  /** Idle groups stop ticking and heartbeating (docs/multi-raft.md, "Quiescence"). */
  readonly quiescence?: QuiescencePolicy;
}

/** When idle groups quiesce. */
export interface QuiescencePolicy {
  /** Let idle groups stop ticking and heartbeating until a proposal, a read or a message wakes them. @defaultValue true */
  readonly enabled?: boolean;
  /** Ticks a group's leader must have had nothing to do before the group quiesces. @defaultValue the groups' `electionTicks` */
  readonly afterTicks?: number;
}

/** One thing a host reports through `RaftHostOptions.log`. */
export interface HostLogRecord {
  /** The record's severity. */
  readonly level: 'warn' | 'error';
  /** What happened: a message refused, a group whose log could not be opened, or a removed replica kept because dropping it was not safe. */
  readonly event: 'refused' | 'group-open-failed' | 'drop-refused';
  /** What happened, in words. */
  readonly message: string;
  /** The group concerned, if any. */
  readonly group?: GroupId;
  /** The host a refused message came from, if known. */
  readonly from?: NodeId;
}

/** How a new group starts: as a new group of these voters, or as a replica joining a running group. */
export type CreateGroupOptions =
  | {
      /** The voters of the new group: host ids of this cluster. */
      readonly members: readonly NodeId[];
    }
  | {
      /** Start with no configuration and wait to be added by the group's leader. */
      readonly join: true;
    };

/** What a host runs and how much it did. */
export interface RaftHostStats {
  /** Groups whose replica runs here. */
  readonly groups: number;
  /** Groups found at open whose log could not be opened (see {@link RaftHost.failedGroups}). */
  readonly failedGroups: number;
  /** The host loop's rounds and turns. */
  readonly loop: HostLoopStats;
  /** The host transport's batches and messages. */
  readonly transport: HostTransportStats;
  /** How many groups are quiesced, and how often they quiesced and woke. */
  readonly quiescence: QuiescenceStats;
  /** Not-a-member notices sent to removed replicas that campaign. */
  readonly removalNotices: RemovalNoticeStats;
  /** Ticks of the host's ticker. */
  readonly ticks: number;
}

/** Refuses bad options of `RaftHost.open` with `InvalidArgumentError`. */
export function checkHostOptions<Result>(options: RaftHostOptions<Result>): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('RaftHost.open: options must be an object');
  if (typeof options.hostId !== 'string' || options.hostId.length === 0) throw new InvalidArgumentError('RaftHost.open: hostId must be a non-empty string');
  if (!Array.isArray(options.peers) || options.peers.some((peer) => typeof peer !== 'string' || peer.length === 0 || peer === options.hostId)) {
    throw new InvalidArgumentError('RaftHost.open: peers must list the other hosts\' ids');
  }
  if (typeof options.groupParts !== 'function') throw new InvalidArgumentError('RaftHost.open: groupParts must be a function');
  const tick = options.tickIntervalMs;
  if (tick !== undefined && !(typeof tick === 'number' && Number.isFinite(tick) && tick > 0)) {
    throw new InvalidArgumentError('RaftHost.open: tickIntervalMs must be a positive number');
  }
}
