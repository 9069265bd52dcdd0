import { decodeMembership } from '../confchange/encoding.js';
import type { LogReader } from '../core/log-reader.js';
import type { Index, Membership, NodeId } from '../core/types.js';
import type { RemovalMark } from '../node/membership/known-members.js';
import { membersOf } from '../node/membership/membership-changes.js';

/**
 * Whether a closed replica marked removed may have its log deleted, judged
 * on its durable log (docs/multi-raft.md, "Dropping a removed replica
 * safely"); null when it may, else why not.
 *
 * (a) The replica is out of the group as far as its log can tell: its latest
 *     stored configuration leaves `hostId` out, or it was told by a member
 *     of a committed configuration its log has not reached.
 * (b) Nothing was appended since it was marked: the last stored entry is the
 *     one (index and term) its log ended with then, so by Log Matching the
 *     log is the same log.
 *
 * Why that is enough: a leader that adds this host back must append the
 * configuration J that lists it after the one that removed it, and J is not
 * in this log (the log's latest configuration leaves the host out, or is
 * older than the removal). For the leader to count anything of this
 * replica's after J, the replica must accept an append from it, which adds
 * J's entries to this log and so changes its last entry. An unchanged last
 * entry proves no leader that re-added it holds a match index for it.
 */
export function whyNotDroppable(storage: LogReader, hostId: NodeId, mark: RemovalMark): string | null {
  const lastIndex = storage.lastIndex();
  const lastTerm = lastIndex === 0 ? 0 : storage.term(lastIndex);
  if (lastIndex !== mark.lastIndex || lastTerm !== mark.lastTerm) {
    return `its log ends at ${lastIndex} (term ${lastTerm}), not at ${mark.lastIndex} (term ${mark.lastTerm}) where it was marked removed: a leader appended to it since`;
  }
  const latest = latestStoredConfiguration(storage);
  if (typeof latest === 'string') return latest;
  if (!membersOf(latest.membership).has(hostId)) return null;
  if (mark.cause === 'notice' && mark.noticeConfigIndex !== null && latest.index < mark.noticeConfigIndex) return null;
  return `its latest stored configuration (index ${latest.index}) lists ${hostId}`;
}

/** The newest configuration of a stored log: its last config entry, else its snapshot's. */
function latestStoredConfiguration(storage: LogReader): { readonly index: Index; readonly membership: Membership } | string {
  const entries = storage.configEntries();
  const last = entries[entries.length - 1];
  if (last !== undefined) {
    const decoded = decodeMembership(last.data);
    // A stored config entry that does not decode proves nothing: refuse.
    return typeof decoded === 'string' ? `its config entry ${last.index} does not decode: ${decoded}` : { index: last.index, membership: decoded };
  }
  const snapshot = storage.snapshotMeta();
  return { index: snapshot.index, membership: snapshot.membership };
}

/**
 * Whether a closed replica that was never configured (a joining replica
 * never added: no configuration lists anyone) may have its log deleted;
 * null when it may, else why not. It may when it is pristine: no entry, no
 * snapshot and no vote. Such a replica is indistinguishable from a new empty
 * one: no leader counts anything of it (an acknowledgement above index 0
 * needs an entry or a snapshot in its log), and it promised no vote that a
 * new replica could break.
 */
export function whyNotPristine(storage: LogReader): string | null {
  const lastIndex = storage.lastIndex();
  const vote = storage.initialState().hardState.vote;
  if (lastIndex !== 0 || storage.snapshotMeta().index !== 0) return `it was never marked removed and its log holds entries up to ${lastIndex}`;
  if (vote !== null) return `it was never marked removed and it voted for ${vote}`;
  return null;
}

