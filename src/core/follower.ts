import type { AppendEntries, Heartbeat, InstallSnapshot } from './message.js';
import type { Raft } from './raft.js';

/**
 * Follower: AppendEntries from the leader of our term (Figure 2, receiver
 * implementation).
 */
export function handleAppendEntries(raft: Raft, message: AppendEntries): void {
  const log = raft.log;
  if (message.prevLogIndex < log.committed) {
    // Everything up to our commit index is known to match the leader's log.
    raft.send({ type: 'appendEntriesResponse', to: message.from, success: true, index: log.committed, hintIndex: 0, hintTerm: 0 });
    return;
  }
  if (log.matchTerm(message.prevLogIndex, message.prevLogTerm)) {
    const lastVerified = log.appendVerified(message.prevLogIndex, message.entries);
    // Commit only what this append verified, never past it (copycat#265, scylladb#9965).
    log.commitTo(Math.min(message.leaderCommit, lastVerified));
    raft.send({ type: 'appendEntriesResponse', to: message.from, success: true, index: lastVerified, hintIndex: 0, hintTerm: 0 });
    return;
  }
  // Point the leader at our last entry whose term is ≤ prevLogTerm: everything after it cannot match.
  const hint = log.findConflictByTerm(Math.min(message.prevLogIndex, log.lastIndex()), message.prevLogTerm);
  raft.send({
    type: 'appendEntriesResponse',
    to: message.from,
    success: false,
    index: message.prevLogIndex,
    hintIndex: hint.index,
    hintTerm: hint.term,
  });
}

/** Follower: a heartbeat. Its commit is min(our match, leader commit), so it never names an entry we might lack. */
export function handleHeartbeat(raft: Raft, message: Heartbeat): void {
  if (message.commit <= raft.log.lastIndex()) raft.log.commitTo(message.commit);
  raft.send({ type: 'heartbeatResponse', to: message.from, readRound: message.readRound });
}

/**
 * Follower: the leader's snapshot (its bytes already stored by the runtime).
 * Answers with the index our log now verifiably matches the leader's up to.
 */
export function handleInstallSnapshot(raft: Raft, message: InstallSnapshot): void {
  const snapshot = message.snapshot;
  const log = raft.log;
  if (snapshot.index > log.committed) {
    if (log.matchTerm(snapshot.index, snapshot.term)) {
      // Our log already holds the snapshot's last entry: fast-forward the commit index, keep the log.
      log.commitTo(snapshot.index);
    } else {
      raft.restoreSnapshot(snapshot);
    }
  }
  raft.send({ type: 'appendEntriesResponse', to: message.from, success: true, index: log.committed, hintIndex: 0, hintTerm: 0 });
}
