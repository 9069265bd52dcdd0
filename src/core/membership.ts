import { enterConfiguration, isJoint, leaveConfiguration, membersOf } from '../confchange/confchange.js';
import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import { ConfChangeInProgressError, InvalidConfChangeError, LeaderNotReadyError } from '../errors.js';
import { Progress } from '../progress/progress.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './replication.js';
import type { Index, NodeId } from './types.js';

/**
 * Leader: proposes the configuration that `changes` lead to — the new
 * configuration for a one-voter change, the joint configuration otherwise
 * (dissertation §4.3). Returns the index of the config entry.
 *
 * Refused, with nothing changed, when:
 * - this leader has not committed an entry of its term yet
 *   ({@link LeaderNotReadyError}): it may not know the latest committed
 *   configuration (the single-server change bug reported by Ongaro in 2015);
 * - a config entry is uncommitted, or the configuration is joint
 *   ({@link ConfChangeInProgressError}): two changes in flight could produce
 *   disjoint majorities;
 * - the change set does not apply to the configuration ({@link InvalidConfChangeError}).
 */
export function proposeConfChange(raft: Raft, changes: readonly ConfChange[], options: ConfChangeOptions): Index {
  checkReady(raft, 'configuration change');
  const membership = raft.membership;
  if (isJoint(membership)) throw new ConfChangeInProgressError('the configuration is joint; leave it first');
  const next = enterConfiguration(membership, changes, options);
  if (typeof next === 'string') throw new InvalidConfChangeError(next);
  return raft.appendConfig(next);
}

/** Leader: proposes leaving the joint configuration in force. Refused as {@link proposeConfChange} is. */
export function proposeLeaveJoint(raft: Raft): Index {
  checkReady(raft, 'leaving the joint configuration');
  const next = leaveConfiguration(raft.membership);
  if (typeof next === 'string') throw new InvalidConfChangeError(next);
  return raft.appendConfig(next);
}

/**
 * Leader, after its commit index advanced:
 * - once the configuration in force is committed and no longer lists this
 *   leader as a voter, it steps down (§4.2.2: it managed the cluster until
 *   then without counting itself);
 * - once a joint configuration with `autoLeave` is committed, it proposes
 *   the configuration that leaves it.
 */
export function afterCommit(raft: Raft): void {
  if (raft.role !== 'leader' || raft.configChangePending()) return;
  // Removed nodes were kept up to date until now; a last, empty append tells them that the change removing them committed
  // (until they know, they may still campaign: they could have been needed to commit it).
  for (const [id, next] of dropRetiredProgress(raft)) {
    const prevLogTerm = raft.log.term(next - 1);
    if (id === raft.id || prevLogTerm === undefined) continue;
    raft.send({ type: 'appendEntries', to: id, prevLogIndex: next - 1, prevLogTerm, entries: [], leaderCommit: raft.log.committed });
  }
  if (!raft.isVoter(raft.id)) {
    // Tell the remaining members the new commit index before standing down, so that they apply the change at once.
    bcastAppend(raft);
    raft.becomeFollower(raft.term, null);
    return;
  }
  const membership = raft.membership;
  if (isJoint(membership) && membership.autoLeave === true && raft.committedInCurrentTerm()) {
    const next = leaveConfiguration(membership);
    if (typeof next !== 'string') raft.appendConfig(next);
  }
}

/**
 * The nodes a leader replicates to: the members of the configuration in force
 * and, while it is uncommitted, the members of the one before that it leaves
 * out — so that they learn of their removal and stop campaigning.
 */
export function replicatedMembers(raft: Raft): Set<NodeId> {
  const members = new Set(membersOf(raft.membership));
  const previous = raft.configs.beforePending(raft.log.committed);
  if (previous !== null) for (const id of membersOf(previous)) members.add(id);
  return members;
}

/**
 * Leader: the configuration in force changed. Track new members at once,
 * forget departed ones, void the read lease (the quorum that granted it may
 * no longer be one) and abandon a transfer to a node that is no longer an
 * incoming voter.
 */
export function trackMembers(raft: Raft): void {
  raft.reads.invalidateLease();
  const members = replicatedMembers(raft);
  for (const id of raft.progress.keys()) if (!members.has(id)) raft.progress.delete(id);
  for (const id of members) {
    if (raft.progress.has(id)) continue;
    const progress = new Progress(raft.log.lastIndex() + 1, raft.config.maxInflightMsgs, raft.config.maxInflightBytes);
    // A new member has not had the chance to answer yet; CheckQuorum should not count that against this leader.
    progress.recentActive = true;
    raft.progress.set(id, progress);
  }
  if (raft.leadTransferee !== null && !raft.membership.voters.includes(raft.leadTransferee)) raft.leadTransferee = null;
}

/** Leader: forgets the progress of nodes that are no longer members (once the change removing them committed); returns each with its next index. */
function dropRetiredProgress(raft: Raft): [NodeId, Index][] {
  const members = new Set(membersOf(raft.membership));
  const retired: [NodeId, Index][] = [];
  for (const [id, progress] of raft.progress) if (!members.has(id)) retired.push([id, progress.next]);
  for (const [id] of retired) raft.progress.delete(id);
  return retired;
}

function checkReady(raft: Raft, what: string): void {
  if (!raft.committedInCurrentTerm()) throw new LeaderNotReadyError(what);
  if (raft.configChangePending()) {
    throw new ConfChangeInProgressError(`the config entry at index ${raft.configs.current().index} is not committed yet`);
  }
}
