import { isJoint } from '../../confchange/confchange.js';
import type { ConfChange, ConfChangeOptions } from '../../confchange/confchange.js';
import type { ProposalReceipt, RawNode } from '../../core/raw-node.js';
import type { Membership, NodeId } from '../../core/types.js';
import {
  ConfChangeInProgressError,
  InvalidArgumentError,
  InvalidConfChangeError,
  LeaderNotReadyError,
  NotLeaderError,
  ProposalDroppedError,
  TimeoutError,
  TransferFailedError,
  UnknownMemberError,
} from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { encodeMemberAddress } from './member-addresses.js';
import { guardedPromise } from '../requests/waiters.js';

/** The reads a membership change makes of the core; its writes go through the owner loop. */
export type CoreView = Pick<RawNode, 'role' | 'leader' | 'currentTerm' | 'commitIndex' | 'term' | 'status' | 'matchIndex' | 'lastIndex' | 'membershipAt' | 'configIndexes'>;

/** What {@link MembershipChanges} needs from its node. */
export interface MembershipHost {
  readonly id: NodeId;
  /** Read-only: every change to the core is an input of the owner loop. */
  readonly core: CoreView;
  readonly clock: Clock;
  readonly tickIntervalMs: number;
  /** The shortest election timeout, in clock milliseconds. */
  readonly electionTimeoutMs: number;
  readonly promoteWithinEntries: number;
  /** Makes `id` reachable at `address` on this node's transport. */
  addPeer(id: NodeId, address: string): void;
  /** Resolves once the entry of `receipt` is applied on this node; rejects like a proposal (lost, closed, deadline). */
  waitApplied(receipt: ProposalReceipt, timeoutMs: number, signal: AbortSignal | undefined): Promise<void>;
  transferLeadership(target: NodeId, timeoutMs: number, signal: AbortSignal | undefined): Promise<void>;
  /**
   * Proposes a configuration change through the owner loop; resolves with
   * where it landed. A `prelude` payload (a member address) is appended just
   * before it, in the same turn, once no other change is in progress.
   */
  proposeConfChange(changes: readonly ConfChange[], options: ConfChangeOptions, timeoutMs: number, signal: AbortSignal | undefined, prelude?: Uint8Array): Promise<ProposalReceipt>;
  /** Throws the node's error (closed or failed) once it has stopped, so waits end with it; returns while it runs. */
  throwIfStopped(): void;
}

/** A deadline shared by the steps of one change. */
interface Deadline {
  readonly atMs: number;
  readonly signal: AbortSignal | undefined;
}

/** Every member of `membership`: voters, learners and outgoing voters. */
export function membersOf(membership: Membership): Set<NodeId> {
  return new Set([...membership.voters, ...(membership.learners ?? []), ...(membership.outgoingVoters ?? [])]);
}

/**
 * The runtime's membership changes, built from the core's one-change-at-a-time
 * primitives: each method runs on the leader, proposes, and resolves once the
 * change is committed (and, for a joint change, once the joint configuration
 * is left). Waits (a learner catching up, a new leader committing its first
 * entry, leaving a joint configuration) poll once per tick on the node's clock.
 */
export class MembershipChanges {
  /** Set while a replaceMember of this leader holds the joint configuration for a leadership transfer. */
  private holdingJoint = false;

  constructor(private readonly host: MembershipHost) {}

  async addLearner(id: NodeId, address: string, deadline: Deadline): Promise<void> {
    checkId(id);
    checkAddress(address);
    const core = await this.leaderReady(deadline);
    const membership = core.status().membership;
    if (membership.voters.includes(id) || (membership.outgoingVoters ?? []).includes(id)) throw new InvalidConfChangeError(`${id} is already a voter`);
    if ((membership.learners ?? []).includes(id)) throw new InvalidConfChangeError(`${id} is already a learner`);
    checkNoChangeInProgress(core);
    // The address goes first, in the same turn: every node has applied it before it applies the change.
    this.host.addPeer(id, address);
    await this.propose([{ type: 'addLearner', node: id }], {}, deadline, encodeMemberAddress(id, address));
  }

  async promote(ids: readonly NodeId[], deadline: Deadline): Promise<void> {
    if (ids.length === 0) throw new InvalidArgumentError('promote: name at least one learner');
    for (const id of ids) checkId(id);
    await this.leaderReady(deadline);
    for (const id of ids) this.requireLearner(id);
    await this.until(() => ids.every((id) => this.caughtUp(id)), deadline, `${ids.join(', ')} to catch up with the leader`);
    for (const id of ids) this.requireLearner(id);
    await this.propose(
      ids.map((id) => ({ type: 'addVoter', node: id })),
      {},
      deadline,
    );
    await this.untilLeftJoint(deadline);
  }

  async addVoter(id: NodeId, address: string, deadline: Deadline): Promise<void> {
    checkId(id);
    const core = await this.leaderReady(deadline);
    if (!(core.status().membership.learners ?? []).includes(id)) await this.addLearner(id, address, deadline);
    await this.promote([id], deadline);
  }

  async removeMember(id: NodeId, deadline: Deadline): Promise<void> {
    checkId(id);
    const core = await this.leaderReady(deadline);
    if (!membersOf(core.status().membership).has(id)) throw new UnknownMemberError(id, 'not in the configuration');
    await this.propose([{ type: 'removeNode', node: id }], {}, deadline);
  }

  /**
   * Replaces the voter `oldId` by `newId` through a joint configuration: the
   * new node joins as a learner and catches up, then one joint change adds it
   * as a voter and removes the old one. When the old voter is this leader, it
   * holds the joint configuration, hands leadership to the new voter (which,
   * as any leader of a committed joint configuration, leaves it), and waits
   * up to an election timeout to see the change finish.
   */
  async replaceMember(oldId: NodeId, newId: NodeId, address: string, deadline: Deadline): Promise<void> {
    checkId(oldId);
    checkId(newId);
    if (oldId === newId) throw new InvalidArgumentError('replaceMember: the old and the new node are the same');
    const core = await this.leaderReady(deadline);
    if (!core.status().membership.voters.includes(oldId)) throw new UnknownMemberError(oldId, 'not a voter');
    if (!(core.status().membership.learners ?? []).includes(newId)) await this.addLearner(newId, address, deadline);
    await this.leaderReady(deadline);
    await this.until(() => this.caughtUp(newId), deadline, `${newId} to catch up with the leader`);
    this.requireLearner(newId);
    const selfReplaced = oldId === this.host.id;
    const changes: ConfChange[] = [
      { type: 'addVoter', node: newId },
      { type: 'removeNode', node: oldId },
    ];
    if (!selfReplaced) {
      await this.propose(changes, { joint: true }, deadline);
      await this.untilLeftJoint(deadline);
      return;
    }
    this.holdingJoint = true;
    let transferred = true;
    try {
      await this.propose(changes, { joint: true, autoLeave: false }, deadline);
      await this.host.transferLeadership(newId, remaining(deadline, this.host.clock), deadline.signal);
    } catch (error) {
      // Should the transfer fail, this leader leaves the joint configuration itself (onTick) and steps down once that commits.
      if (!(error instanceof TransferFailedError)) throw error;
      transferred = false;
    } finally {
      this.holdingJoint = false;
    }
    if (!transferred) {
      await this.untilLeftJoint(deadline);
      return;
    }
    // The new leader leaves the joint configuration. This node, removed by that entry, may never
    // hear that it committed (the leader's last append to it can be lost): wait for it at most an
    // election timeout, then rely on the rule that every leader of a committed joint configuration leaves it.
    const bounded = { atMs: Math.min(deadline.atMs, this.host.clock.now() + this.host.electionTimeoutMs), signal: deadline.signal };
    await this.untilLeftJoint(bounded).catch((error: unknown) => {
      if (!(error instanceof TimeoutError)) throw error;
    });
  }

  /**
   * Called by the owner loop on every tick, inside its turn: a leader whose
   * committed configuration is joint leaves it, unless it is holding it for
   * a transfer. A leader elected in the middle of a joint change (after a
   * transfer or a crash) finishes it.
   */
  onTick(core: Pick<RawNode, 'role' | 'membershipAt' | 'lastIndex' | 'configIndexes' | 'commitIndex' | 'leaveJoint'>): void {
    if (core.role !== 'leader' || this.holdingJoint) return;
    // Per tick on the leader: read the configuration without building a whole status.
    if (!isJoint(core.membershipAt(core.lastIndex()))) return;
    const configIndexes = core.configIndexes();
    // No config entry above the base configuration: the base (from the snapshot) is committed.
    if ((configIndexes[configIndexes.length - 1] ?? 0) > core.commitIndex) return;
    try {
      core.leaveJoint();
    } catch (error) {
      // Not ready yet (the no-op of its term), the core's auto-leave already proposed it, or a leadership transfer
      // is under way (proposals are dropped until it ends): try again next tick.
      const retry = error instanceof LeaderNotReadyError || error instanceof ConfChangeInProgressError || error instanceof ProposalDroppedError;
      if (!retry) throw error;
    }
  }

  /** This node's core once it is the leader and has committed in its term; NotLeaderError elsewhere. */
  private async leaderReady(deadline: Deadline): Promise<CoreView> {
    const core = this.host.core;
    const ready = (): boolean => {
      if (core.role !== 'leader') throw new NotLeaderError(core.leader);
      return core.term(core.commitIndex) === core.currentTerm;
    };
    if (!ready()) await this.until(ready, deadline, 'the leader to commit an entry of its term');
    return core;
  }

  private requireLearner(id: NodeId): void {
    const membership = this.host.core.status().membership;
    if ((membership.learners ?? []).includes(id)) return;
    if (membership.voters.includes(id)) throw new InvalidConfChangeError(`${id} is already a voter`);
    throw new UnknownMemberError(id, 'not a learner (add it with addLearner first)');
  }

  /** The learner's match index is within `promoteWithinEntries` of the leader's last index. */
  private caughtUp(id: NodeId): boolean {
    const core = this.host.core;
    if (core.role !== 'leader') throw new NotLeaderError(core.leader);
    const match = core.matchIndex(id);
    return match !== undefined && match + this.host.promoteWithinEntries >= core.lastIndex();
  }

  private async propose(changes: readonly ConfChange[], options: { joint?: boolean; autoLeave?: boolean }, deadline: Deadline, prelude?: Uint8Array): Promise<void> {
    const receipt = await this.host.proposeConfChange(changes, options, remaining(deadline, this.host.clock), deadline.signal, prelude);
    await this.host.waitApplied(receipt, remaining(deadline, this.host.clock), deadline.signal);
  }

  /** Waits until this node's configuration is no longer joint and its config entry is committed. */
  private untilLeftJoint(deadline: Deadline): Promise<void> {
    const core = this.host.core;
    return this.until(
      () => {
        const status = core.status();
        return !status.joint && status.configIndex <= status.commitIndex;
      },
      deadline,
      'the joint configuration to be left',
    );
  }

  /** Resolves when `condition` holds, checked now and then once per tick; a throwing condition rejects. */
  private until(condition: () => boolean, deadline: Deadline, what: string): Promise<void> {
    const { clock } = this.host;
    const timeoutMs = remaining(deadline, clock);
    let timer: ReturnType<Clock['setTimeout']> | null = null;
    const deferred = guardedPromise<void>(what, clock, timeoutMs, deadline.signal, () => {
      if (timer !== null) clock.clearTimeout(timer);
    });
    const check = (): void => {
      timer = null;
      if (deferred.settled) return;
      try {
        this.host.throwIfStopped();
        if (condition()) deferred.resolve();
        else timer = clock.setTimeout(check, this.host.tickIntervalMs);
      } catch (error) {
        deferred.reject(error);
      }
    };
    check();
    return deferred.promise;
  }
}

/** Throws `ConfChangeInProgressError` while the configuration is joint or its config entry is not committed. */
export function checkNoChangeInProgress(core: Pick<RawNode, 'status'>): void {
  const status = core.status();
  if (status.joint) throw new ConfChangeInProgressError('the configuration is joint');
  if (status.configIndex > status.commitIndex) throw new ConfChangeInProgressError(`the config entry at ${status.configIndex} is not committed yet`);
}

/** Milliseconds left before the deadline; a deadline already passed is a timeout. */
function remaining(deadline: Deadline, clock: Clock): number {
  const left = deadline.atMs - clock.now();
  if (left <= 0) throw new TimeoutError('membership change', 0);
  return left;
}

function checkId(id: unknown): asserts id is NodeId {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidArgumentError('membership change: a node id must be a non-empty string');
}

function checkAddress(address: unknown): asserts address is string {
  if (typeof address !== 'string' || address.length === 0 || address.length > 1024) {
    throw new InvalidArgumentError('membership change: the address must be a non-empty string of at most 1024 characters');
  }
}
