/**
 * Configuration changes as pure functions over {@link Membership} values
 * (Raft dissertation §4.1–§4.3): from the current configuration and a set of
 * requested changes, compute the next configuration — a simple one-step
 * change, the joint configuration that starts a larger change, or the
 * configuration that leaves a joint one. Imports nothing from the core but
 * its plain types; the core decides *when* a change may be proposed.
 */
import type { Membership, NodeId } from '../core/types.js';

/** One requested change to the configuration. */
export interface ConfChange {
  /**
   * `addVoter` adds a node as a voter or promotes a learner; `addLearner` adds
   * a node that receives the log without voting; `removeNode` removes a voter
   * or a learner.
   */
  readonly type: 'addVoter' | 'addLearner' | 'removeNode';
  /** The node to add, promote or remove. */
  readonly node: NodeId;
}

/** How a change set is carried out. */
export interface ConfChangeOptions {
  /**
   * Go through a joint configuration. Defaults to true exactly when more than
   * one voter is added or removed (a single-voter change is safe in one step:
   * any majority of the old and of the new voters overlap).
   */
  readonly joint?: boolean;
  /** With a joint change: leave the joint configuration automatically once it is committed. @defaultValue true */
  readonly autoLeave?: boolean;
}

/** Why a change set cannot be applied to a configuration (the core turns it into a typed error). */
export type ConfChangeProblem = string;

/** Voters, learners and the outgoing half of a configuration, each sorted. */
export function normalizeMembership(membership: Membership): Membership {
  const voters = sorted(membership.voters);
  const learners = sorted(membership.learners ?? []);
  const outgoingVoters = sorted(membership.outgoingVoters ?? []);
  if (outgoingVoters.length === 0) return { voters, learners };
  return { voters, learners, outgoingVoters, autoLeave: membership.autoLeave ?? true };
}

/** True while the configuration is joint (a change of voters is under way). */
export function isJoint(membership: Membership): boolean {
  return (membership.outgoingVoters?.length ?? 0) > 0;
}

/** Every node the configuration replicates to: voters of both halves and learners, sorted, each once. */
export function membersOf(membership: Membership): readonly NodeId[] {
  return sorted([...membership.voters, ...(membership.outgoingVoters ?? []), ...(membership.learners ?? [])]);
}

/** True when `id` votes in either half of the configuration. */
export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id) || (membership.outgoingVoters?.includes(id) ?? false);
}

/** True when `id` is a voter or a learner of the configuration. */
export function isMember(membership: Membership, id: NodeId): boolean {
  return isVoter(membership, id) || (membership.learners?.includes(id) ?? false);
}

/**
 * Describes what is wrong with a configuration, or returns null when it is
 * well formed: at least one voter, no duplicate ids, no node both voter and
 * learner, no learner among the outgoing voters.
 */
export function describeInvalidMembership(membership: Membership): ConfChangeProblem | null {
  const voters = membership.voters;
  const learners = membership.learners ?? [];
  const outgoing = membership.outgoingVoters ?? [];
  if (voters.length === 0) return 'a configuration needs at least one voter';
  for (const [name, list] of [['voters', voters], ['learners', learners], ['outgoingVoters', outgoing]] as const) {
    if (new Set(list).size !== list.length) return `${name} lists a node twice`;
    if (!list.every((id) => typeof id === 'string' && id.length > 0)) return `${name} holds an empty or non-string id`;
  }
  const learner = learners.find((id) => voters.includes(id) || outgoing.includes(id));
  if (learner !== undefined) return `${learner} is both a voter and a learner`;
  return null;
}

/**
 * The configuration that applying `changes` to `current` leads to: the new
 * configuration itself for a simple change, or the joint configuration
 * (incoming = new voters, outgoing = current voters) for a joint one. Returns
 * a problem description when the change set is not allowed:
 * - `current` is joint (it must be left first);
 * - a node appears twice, a removed node is not a member, a node is added
 *   with the role it already has, or a voter would be demoted to learner;
 * - no voter would remain;
 * - `joint: false` with more than one voter changing.
 */
export function enterConfiguration(current: Membership, changes: readonly ConfChange[], options: ConfChangeOptions = {}): Membership | ConfChangeProblem {
  if (isJoint(current)) return 'the configuration is joint: leave it before starting another change';
  if (changes.length === 0) return 'no change given';
  const voters = new Set(current.voters);
  const learners = new Set(current.learners ?? []);
  const seen = new Set<NodeId>();
  for (const change of changes) {
    if (seen.has(change.node)) return `${change.node} is changed twice in one change set`;
    seen.add(change.node);
    const problem = applyOne(voters, learners, change);
    if (problem !== null) return problem;
  }
  if (voters.size === 0) return 'the change would remove every voter';
  const changedVoters = symmetricDifferenceSize(new Set(current.voters), voters);
  const joint = options.joint ?? changedVoters > 1;
  if (!joint && changedVoters > 1) return `${changedVoters} voters change: only one voter may change without a joint configuration`;
  const next: Membership = { voters: sorted(voters), learners: sorted(learners) };
  if (!joint) return next;
  return { ...next, outgoingVoters: sorted(current.voters), autoLeave: options.autoLeave ?? true };
}

/** The configuration that leaves the joint configuration `current`: its incoming half and its learners. */
export function leaveConfiguration(current: Membership): Membership | ConfChangeProblem {
  if (!isJoint(current)) return 'the configuration is not joint: there is nothing to leave';
  return { voters: sorted(current.voters), learners: sorted(current.learners ?? []) };
}

function applyOne(voters: Set<NodeId>, learners: Set<NodeId>, change: ConfChange): ConfChangeProblem | null {
  const { type, node } = change;
  if (typeof node !== 'string' || node.length === 0) return `invalid node id ${String(node)}`;
  switch (type) {
    case 'addVoter':
      if (voters.has(node)) return `${node} is already a voter`;
      learners.delete(node);
      voters.add(node);
      return null;
    case 'addLearner':
      if (learners.has(node)) return `${node} is already a learner`;
      // Demoting a voter while it may still count in the outgoing half needs more bookkeeping than it is worth: remove it, then add it back.
      if (voters.has(node)) return `${node} is a voter: remove it before adding it back as a learner`;
      learners.add(node);
      return null;
    case 'removeNode':
      if (!voters.delete(node) && !learners.delete(node)) return `${node} is not a member`;
      return null;
    default:
      return `unknown change type ${String(type)}`;
  }
}

function symmetricDifferenceSize(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let count = 0;
  for (const id of a) if (!b.has(id)) count++;
  for (const id of b) if (!a.has(id)) count++;
  return count;
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...new Set(ids)].sort();
}
