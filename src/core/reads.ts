import type { Raft } from './raft.js';
import type { PendingRead } from './read-index.js';
import { bcastHeartbeat } from './replication.js';
import type { NodeId } from './types.js';
import { ReadDroppedError } from '../errors.js';

/**
 * Leader: starts a ReadIndex read for `requestId` on behalf of `from` (this
 * node or a follower). The read index is the commit index now; it becomes
 * usable once a quorum confirms this node is still leader (dissertation §6.4).
 */
export function handleReadIndexRequest(raft: Raft, requestId: string, from: NodeId): void {
  // Bounded: each pending read is held until a heartbeat round confirms it. A follower's read is dropped
  // unanswered (it times out there, as when the leader changes); this node's own is refused.
  if (raft.reads.size + raft.readsBeforeCommit.length >= raft.config.maxPendingReadIndex) {
    if (from === raft.id) throw new ReadDroppedError(`${raft.config.maxPendingReadIndex} reads wait for the leader's confirmation (maxPendingReadIndex)`);
    return;
  }
  // Until the leader commits an entry of its term, its commit index may lag the cluster's (etcd PR #14258).
  if (!raft.committedInCurrentTerm()) {
    raft.readsBeforeCommit.push({ requestId, from });
    return;
  }
  if (raft.quorum.isSoleQuorum(raft.id)) {
    deliverRead(raft, { requestId, from, index: raft.log.committed, round: 0 });
    return;
  }
  raft.reads.add(requestId, from, raft.log.committed);
  bcastHeartbeat(raft);
}

/** Reads that waited for the leader's first commit in its term may now start. */
export function releaseReadsBeforeCommit(raft: Raft): void {
  if (raft.readsBeforeCommit.length === 0 || !raft.committedInCurrentTerm()) return;
  const waiting = raft.readsBeforeCommit;
  raft.readsBeforeCommit = [];
  for (const read of waiting) handleReadIndexRequest(raft, read.requestId, read.from);
}

/** Hands a confirmed read to the node that asked. */
export function deliverRead(raft: Raft, read: PendingRead): void {
  if (read.from === raft.id) raft.readStates.push({ requestId: read.requestId, index: read.index });
  else raft.send({ type: 'readIndexResponse', to: read.from, requestId: read.requestId, index: read.index });
}
