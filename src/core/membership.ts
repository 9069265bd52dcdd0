import { enterConfiguration, isJoint, leaveConfiguration } from '../confchange/confchange.js';
import type { ConfChange, ConfChangeOptions } from '../confchange/confchange.js';
import { ConfChangeInProgressError, InvalidConfChangeError, LeaderNotReadyError } from '../errors.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './replication.js';
import type { Index } from './types.js';

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
  for (const [id, next] of raft.dropRetiredProgress()) {
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

function checkReady(raft: Raft, what: string): void {
  if (!raft.committedInCurrentTerm()) throw new LeaderNotReadyError(what);
  if (raft.configChangePending()) {
    throw new ConfChangeInProgressError(`the config entry at index ${raft.configs.current().index} is not committed yet`);
  }
}
