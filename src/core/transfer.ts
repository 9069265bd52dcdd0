import type { Raft } from './raft.js';
import { sendAppend } from './replication.js';
import type { NodeId } from './types.js';

/**
 * Leader: hands leadership to `target` (Raft dissertation §3.10). The target
 * is first brought up to date, then told to campaign at once (TimeoutNow).
 * Proposals are refused while the transfer is under way, and it is abandoned
 * if it has not completed within one election timeout.
 */
export function startTransfer(raft: Raft, target: NodeId): void {
  if (raft.leadTransferee === target) return;
  raft.leadTransferee = null;
  if (target === raft.id) return;
  raft.leadTransferee = target;
  // The target will campaign past the followers' CheckQuorum lease, so this leader's read lease is void.
  raft.reads.invalidateLease();
  // The transfer must finish within one election timeout, counted from now.
  raft.electionElapsed = 0;
  if (!maybeSendTimeoutNow(raft, target)) sendAppend(raft, target);
}

/** Sends TimeoutNow to the transfer target once its log matches ours. Returns true when sent. */
export function maybeSendTimeoutNow(raft: Raft, from: NodeId): boolean {
  if (from !== raft.leadTransferee) return false;
  if (raft.progress.get(from)?.match !== raft.log.lastIndex()) return false;
  raft.send({ type: 'timeoutNow', to: from });
  return true;
}
