import type { Raft } from './raft.js';
import type { RequestVote, RequestVoteResponse } from './message.js';
import type { VoteResult } from '../quorum/majority.js';

/**
 * A real election (§5.2), its PreVote rehearsal (dissertation §9.6), or an
 * election the leader asked for by handing over leadership (§3.10).
 */
export type CampaignKind = 'preVote' | 'vote' | 'transfer';

/**
 * Starts a (pre-)campaign: become (pre-)candidate, vote for ourselves and ask
 * every other voter. A pre-vote asks about term + 1 without adopting it, so a
 * node that cannot win never disturbs the cluster's term.
 */
export function campaign(raft: Raft, kind: CampaignKind): void {
  if (kind === 'preVote') raft.becomePreCandidate();
  else raft.becomeCandidate();
  const term = kind === 'preVote' ? raft.term + 1 : raft.term;
  if (recordVote(raft, raft.id, true) === 'won') {
    // A single-voter cluster wins at once.
    winElection(raft, kind);
    return;
  }
  const lastLogIndex = raft.log.lastIndex();
  const lastLogTerm = raft.log.lastTerm();
  // Every voter of both halves: a joint configuration needs a majority of each.
  for (const id of raft.quorum.voters()) {
    if (id === raft.id) continue;
    if (kind === 'transfer') raft.send({ type: 'requestVote', to: id, term, preVote: false, lastLogIndex, lastLogTerm, transfer: true });
    else raft.send({ type: 'requestVote', to: id, term, preVote: kind === 'preVote', lastLogIndex, lastLogTerm });
  }
}

/**
 * Answers a (pre-)vote request whose term is not below ours. One vote per
 * term, first come first served; granted only to a log at least as up to date
 * as ours (§5.4.1). Whether this node is a voter in its own configuration does
 * not matter: a candidate whose log installs a newer configuration may count
 * on a node that has not heard of its promotion yet (etcd's
 * campaign_learner_must_vote).
 */
export function handleVoteRequest(raft: Raft, request: RequestVote): void {
  const canVote =
    raft.vote === request.from ||
    (raft.vote === null && raft.leader === null) ||
    // A pre-vote for a future term is fine whatever we voted in this one.
    (request.preVote && request.term > raft.term);
  if (canVote && raft.log.isUpToDate(request.lastLogIndex, request.lastLogTerm)) {
    raft.send({ type: 'requestVoteResponse', to: request.from, term: request.term, preVote: request.preVote, granted: true });
    if (!request.preVote) {
      raft.electionElapsed = 0;
      raft.vote = request.from;
    }
    return;
  }
  raft.send({ type: 'requestVoteResponse', to: request.from, preVote: request.preVote, granted: false });
}

/** Counts a vote answer in the current (pre-)campaign. */
export function handleVoteResponse(raft: Raft, response: RequestVoteResponse): void {
  const preVote = raft.role === 'preCandidate';
  // An answer to the other phase of this campaign is stale.
  if (response.preVote !== preVote) return;
  const kind: CampaignKind = preVote ? 'preVote' : 'vote';
  const result = recordVote(raft, response.from, response.granted);
  if (result === 'won') winElection(raft, kind);
  else if (result === 'lost') raft.becomeFollower(raft.term, null);
}

function winElection(raft: Raft, kind: CampaignKind): void {
  if (kind === 'preVote') campaign(raft, 'vote');
  else raft.becomeLeader();
}

function recordVote(raft: Raft, from: string, granted: boolean): VoteResult {
  if (!raft.votes.has(from)) raft.votes.set(from, granted);
  return raft.quorum.voteResult((id) => raft.votes.get(id));
}
