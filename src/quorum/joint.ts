/**
 * Joint quorums (Raft dissertation §4.3): while a configuration change is
 * under way, every decision — electing a leader, committing an entry,
 * confirming leadership — needs a majority of the incoming voters **and** a
 * majority of the outgoing voters. Outside a change the outgoing half is
 * empty, and an empty majority configuration agrees to everything, so a
 * joint configuration with an empty outgoing half behaves exactly like its
 * incoming majority.
 *
 * Pure functions over plain values; imports nothing from the core.
 */
import { MajorityConfig } from './majority.js';
import type { VoteResult } from './majority.js';

/** A configuration of two majority halves; every decision needs a majority of each (dissertation §4.3). Outside a change the outgoing half is empty and agrees to everything. */
export class JointConfig {
  /** The voters of the configuration being entered (the only half outside a change). */
  readonly incoming: MajorityConfig;
  /** The voters of the configuration being left; empty outside a change. */
  readonly outgoing: MajorityConfig;

  /** A joint configuration of `incoming` and `outgoing` voters; without `outgoing`, a plain majority of `incoming`. */
  constructor(incoming: Iterable<string>, outgoing: Iterable<string> = []) {
    this.incoming = new MajorityConfig(incoming);
    this.outgoing = new MajorityConfig(outgoing);
  }

  /** True while both halves are non-empty: a change of voters is under way. */
  isJoint(): boolean {
    return this.outgoing.voters.length > 0;
  }

  /** Every voter of either half, sorted, each once. */
  voters(): readonly string[] {
    if (!this.isJoint()) return this.incoming.voters;
    return [...new Set([...this.incoming.voters, ...this.outgoing.voters])].sort();
  }

  /** True when `id` votes in either half. */
  has(id: string): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** The largest index acknowledged by a majority of each half: the smaller of the two halves' indexes. */
  committedIndex(ackedIndex: (id: string) => number): number {
    return Math.min(this.incoming.committedIndex(ackedIndex), this.outgoing.committedIndex(ackedIndex));
  }

  /** Won when both halves are won, lost when either is lost, pending otherwise. */
  voteResult(vote: (id: string) => boolean | undefined): VoteResult {
    const incoming = this.incoming.voteResult(vote);
    const outgoing = this.outgoing.voteResult(vote);
    if (incoming === 'won' && outgoing === 'won') return 'won';
    if (incoming === 'lost' || outgoing === 'lost') return 'lost';
    return 'pending';
  }

  /** True when a majority of each half is reported active. */
  isQuorumActive(active: (id: string) => boolean): boolean {
    return this.voteResult((id) => active(id)) === 'won';
  }

  /** True when `id` alone makes a quorum of both halves (a single-voter cluster). */
  isSoleQuorum(id: string): boolean {
    return this.voteResult((voter) => (voter === id ? true : undefined)) === 'won';
  }
}
