/**
 * What a node may promise in a message, checked against its platter at the
 * moment the message leaves (Figure 2: currentTerm, votedFor and log[] are
 * "updated on stable storage before responding to RPCs"). Shipped bugs broke
 * this: a vote or term not persisted before replying (redpanda PR #14, Raft
 * notes §4 bug 4) lets a crash erase a vote and the node vote again in the
 * same term; a follower acknowledging entries before fsync (etcd#14370,
 * nats-server#7564, bug 7) lets a crash erase entries the leader counted.
 *
 * The simulator's end-to-end checks only see such a bug when a crash strikes
 * in the short window between the reply and the sync and the cluster then
 * goes on to elect or commit differently; this check sees it on every reply.
 * It reads the disk and looks at the message, nothing else: it holds for any
 * runtime that honours the Ready contract, however its loop is built.
 */
import type { Message } from '../../src/core/message.js';
import type { HardState, Index } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';

/** What the check reads of a node's disk. */
export interface DurableView {
  durableHardState(): HardState;
  /** The last index on the platter; entries up to it are durable (those behind a durable snapshot included). */
  durableLastIndex(): Index;
}

/**
 * Why `message`, as its sender hands it to the network, promises something
 * the sender's disk does not hold yet; null when it promises nothing more
 * than is durable.
 */
export function undurableReply(message: NodeMessage, disk: DurableView): string | null {
  if (message.kind !== 'raft') return null;
  const raft = message.message;
  const durable = disk.durableHardState();
  if (raft.type === 'requestVoteResponse' && raft.granted && !raft.preVote) return undurableVote(raft.from, raft.to, raft.term, durable);
  if (raft.term > durable.term && !speaksOfAFutureTerm(raft)) {
    return `${raft.from} sent ${raft.type} of term ${raft.term} to ${raft.to} while its durable term was ${durable.term}`;
  }
  if (raft.type === 'appendEntriesResponse' && raft.success && raft.index > disk.durableLastIndex()) {
    return `${raft.from} acknowledged entries up to ${raft.index} to ${raft.to} while only ${disk.durableLastIndex()} were durable`;
  }
  return null;
}

/** A granted vote must be on the platter before it leaves: same term, same candidate (a later durable term supersedes it). */
function undurableVote(voter: string, candidate: string, term: number, durable: HardState): string | null {
  if (durable.term > term || (durable.term === term && durable.vote === candidate)) return null;
  return `${voter} granted its vote in term ${term} to ${candidate} while its durable term was ${durable.term} and vote ${String(durable.vote)}`;
}

/** A pre-vote asks about the term after the sender's, and a granted pre-vote echoes it: neither is a term the sender adopted. */
function speaksOfAFutureTerm(message: Message): boolean {
  return (message.type === 'requestVote' && message.preVote) || (message.type === 'requestVoteResponse' && message.preVote && message.granted);
}
