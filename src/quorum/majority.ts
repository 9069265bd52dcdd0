/**
 * Majority quorums over a set of voters. Pure functions over plain values:
 * this module imports nothing from the core, so it can be tested against a
 * naive reference and later combined into joint configurations (two majority
 * configurations that must both agree, Raft dissertation §4.3).
 */

/** The outcome of an election as far as the votes received so far tell. */
export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * A majority configuration: a decision needs ⌊n/2⌋+1 of the n voters.
 * (n/2 is not a quorum: two halves could each decide.)
 */
export class MajorityConfig {
  /** The voters, each once, sorted. */
  readonly voters: readonly string[];

  /** Work space of {@link committedIndex}, one slot per voter. */
  private readonly scratch: number[];

  /** A configuration of these voters (duplicates count once). */
  constructor(voters: Iterable<string>) {
    this.voters = [...new Set(voters)].sort();
    this.scratch = new Array<number>(this.voters.length).fill(0);
  }

  /** How many voters make a quorum. */
  quorumSize(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  /** True when `id` is one of the voters. */
  has(id: string): boolean {
    return this.voters.includes(id);
  }

  /**
   * The largest index that a quorum of voters has acknowledged, given each
   * voter's acknowledged index (`ackedIndex` returns 0 for a voter it knows
   * nothing of). An empty configuration acknowledges everything (the identity
   * for the minimum taken over joint halves).
   */
  committedIndex(ackedIndex: (id: string) => number): number {
    const count = this.voters.length;
    if (count === 0) return Number.MAX_SAFE_INTEGER;
    // A leader computes this on every acknowledgement: sort into a reused array, no allocation.
    const acked = this.scratch;
    for (let i = 0; i < count; i++) {
      const value = ackedIndex(this.voters[i]!);
      let position = i;
      // Insertion sort, descending: a handful of voters.
      while (position > 0 && acked[position - 1]! < value) {
        acked[position] = acked[position - 1]!;
        position--;
      }
      acked[position] = value;
    }
    // Sorted descending, the quorumSize-th value is acknowledged by at least a quorum.
    return acked[this.quorumSize() - 1] ?? 0;
  }

  /**
   * The election outcome given the votes so far (`vote` returns true for a
   * grant, false for a rejection, undefined for no answer yet). An empty
   * configuration wins (the identity for joint configurations).
   */
  voteResult(vote: (id: string) => boolean | undefined): VoteResult {
    if (this.voters.length === 0) return 'won';
    let granted = 0;
    let missing = 0;
    for (const id of this.voters) {
      const answer = vote(id);
      if (answer === undefined) missing++;
      else if (answer) granted++;
    }
    const quorum = this.quorumSize();
    if (granted >= quorum) return 'won';
    if (granted + missing >= quorum) return 'pending';
    return 'lost';
  }

  /** True when at least a quorum of voters is reported active. */
  isQuorumActive(active: (id: string) => boolean): boolean {
    return this.voteResult((id) => active(id)) === 'won';
  }
}
