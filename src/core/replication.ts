import type { Progress } from '../progress/progress.js';
import { assert } from '../util/assert.js';
import type { AppendEntriesResponse, HeartbeatResponse } from './message.js';
import { Raft } from './raft.js';
import { afterCommit } from './membership.js';
import { deliverRead, releaseReadsBeforeCommit } from './reads.js';
import { maybeSendTimeoutNow } from './transfer.js';
import type { NodeId } from './types.js';

/**
 * Sends `to` the entries it needs next, if its progress allows. Returns true
 * when a message was sent. With `sendIfEmpty` false, an AppendEntries with no
 * entries is not sent (used to stream while the window has room).
 */
export function sendAppend(raft: Raft, to: NodeId, sendIfEmpty = true): boolean {
  const progress = raft.progress.get(to);
  assert(progress !== undefined, () => `raft ${raft.id}: no progress for ${to}`);
  if (progress.isPaused()) return false;
  const prevLogIndex = progress.next - 1;
  const prevLogTerm = raft.log.term(prevLogIndex);
  if (prevLogTerm === undefined) return sendSnapshot(raft, to, progress);
  const slice = raft.log.slice(progress.next, raft.log.lastIndex() + 1, raft.config.maxMsgBytes);
  if (slice.kind === 'compacted') return sendSnapshot(raft, to, progress);
  // Storage is loading older entries; the next heartbeat answer retries.
  if (slice.kind === 'unavailable') return false;
  const entries = slice.entries;
  if (entries.length === 0 && !sendIfEmpty) return false;
  raft.send({ type: 'appendEntries', to, prevLogIndex, prevLogTerm, entries, leaderCommit: raft.log.committed });
  progress.sentEntries(entries.length, prevLogIndex + entries.length, Raft.sizeOf(entries));
  return true;
}

/** The follower needs entries this leader compacted: send the snapshot's metadata (the runtime sends its bytes). */
function sendSnapshot(raft: Raft, to: NodeId, progress: Progress): boolean {
  // A snapshot is expensive; only send it to a follower that answered recently.
  if (!progress.recentActive) return false;
  const snapshot = raft.log.storage.snapshotMeta();
  assert(snapshot.index > 0, () => `raft ${raft.id}: entries for ${to} compacted but no snapshot exists`);
  raft.send({ type: 'installSnapshot', to, snapshot });
  progress.becomeSnapshot(snapshot.index);
  return true;
}

/** Sends every follower what it needs (at least an empty AppendEntries carrying the commit index). */
export function bcastAppend(raft: Raft): void {
  for (const id of raft.progress.keys()) {
    if (id !== raft.id) sendAppend(raft, id);
  }
}

/** Heartbeats carry min(match, commit) so a follower never learns a commit index past what it is known to hold. */
export function bcastHeartbeat(raft: Raft): void {
  const readRound = raft.reads.nextRound(raft.ticks);
  for (const [id, progress] of raft.progress) {
    if (id === raft.id) continue;
    raft.send({ type: 'heartbeat', to: id, commit: Math.min(progress.match, raft.log.committed), readRound });
  }
}

/**
 * Advances the commit index to the highest index stored on a quorum, but only
 * if that entry is of the current term (§5.4.2, Figure 8: counting replicas
 * of an older term's entry is not enough). Returns true when it advanced;
 * the leader may then have stepped down (it was removed) or appended the
 * entry that leaves a joint configuration (see {@link afterCommit}).
 */
export function maybeCommit(raft: Raft): boolean {
  const quorumIndex = raft.quorum.committedIndex((id) => raft.progress.get(id)?.match ?? 0);
  if (quorumIndex <= raft.log.committed || raft.log.term(quorumIndex) !== raft.term) return false;
  raft.log.commitTo(quorumIndex);
  releaseReadsBeforeCommit(raft);
  afterCommit(raft);
  return true;
}

/** Leader: a follower answered an AppendEntries (or InstallSnapshot). */
export function handleAppendResponse(raft: Raft, response: AppendEntriesResponse): void {
  const progress = raft.progress.get(response.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  if (!response.success) {
    handleRejection(raft, progress, response);
    return;
  }
  // A follower cannot have verified entries this leader does not have; ignore such an answer rather than trust it.
  if (response.index > raft.log.lastIndex()) return;
  const wasPaused = progress.isPaused();
  // A probe answered with exactly the match we knew (the follower was already up to date) also proves the logs agree.
  const probeConfirmed = progress.state === 'probe' && response.index === progress.match;
  if (!progress.maybeUpdate(response.index) && !probeConfirmed) return;
  if (progress.state === 'probe') {
    progress.becomeReplicate();
  } else if (progress.state === 'snapshot') {
    if (progress.match + 1 >= raft.log.firstIndex()) {
      progress.becomeProbe();
      progress.becomeReplicate();
    }
  } else {
    progress.inflights.freeLE(response.index);
  }
  if (maybeCommit(raft)) {
    // The commit may have removed this leader from the cluster.
    if (raft.role !== 'leader' || !raft.progress.has(response.from)) return;
    bcastAppend(raft);
  } else if (wasPaused) sendAppend(raft, response.from);
  // A transfer target that just caught up is told to campaign.
  if (maybeSendTimeoutNow(raft, response.from)) return;
  // Stream what remains while the window has room; bounded by maxInflightMsgs.
  while (sendAppend(raft, response.from, false)) {
    /* keep sending */
  }
}

function handleRejection(raft: Raft, progress: Progress, response: AppendEntriesResponse): void {
  // The hint names the follower's last index whose term is ≤ the rejected prevLogTerm; find our own such index to skip a whole term.
  const nextProbe = response.hintTerm > 0 ? raft.log.findConflictByTerm(response.hintIndex, response.hintTerm).index : response.hintIndex;
  if (!progress.maybeDecreaseTo(response.index, nextProbe)) return;
  if (progress.state === 'replicate') progress.becomeProbe();
  sendAppend(raft, response.from);
}

/** Leader: a follower answered a heartbeat. */
export function handleHeartbeatResponse(raft: Raft, response: HeartbeatResponse): void {
  const progress = raft.progress.get(response.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  progress.probeSent = false;
  // If every message in a full window was lost, no acknowledgement will ever free it: the heartbeat answer
  // proves the follower is reachable, so free one slot and let one append through to resynchronise.
  if (progress.state === 'replicate' && progress.inflights.full()) progress.inflights.freeFirst();
  // A follower in probe gets a probe even when it may be up to date: its answer is what moves it to replicate.
  if (progress.match < raft.log.lastIndex() || progress.state === 'probe') sendAppend(raft, response.from);
  for (const read of raft.reads.acknowledge(response.from, response.readRound, raft.quorum)) deliverRead(raft, read);
}
