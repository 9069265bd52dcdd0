import type { RawNode } from '../core/raw-node.js';
import type { Index, Term } from '../core/types.js';
import { NotLeaderError, ProposalDroppedError } from '../errors.js';
import type { AwaitingLeader } from './awaiting-leader.js';
import type { Clock } from '../util/clock.js';
import type { ForwardedProposals } from './forwarded-proposals.js';
import { guardedPromise } from './waiters.js';
import type { ApplyWaiters } from './waiters.js';

/** What {@link Proposals} needs from its node. */
export interface ProposalsHost<Result> {
  readonly core: RawNode;
  readonly clock: Clock;
  /** Proposals this node lets wait for their result at once (`limits.maxPendingProposals`). */
  readonly maxPending: number;
  /** Whether a follower hands proposals to the leader (`forwardProposals`) rather than refusing them. */
  readonly forwardProposals: boolean;
  /** The node's apply waits, shared with the apply path that settles them. */
  readonly waiters: ApplyWaiters<Result>;
  readonly forwarding: ForwardedProposals;
  readonly awaitingLeader: AwaitingLeader;
  /** The index of the last entry applied on this node. */
  appliedIndex(): Index;
  /** Runs the Ready loop for the entry just proposed. */
  wake(): void;
}

/**
 * Where a validated proposal goes: into the core on the leader, to the leader
 * from a follower, or into the leader wait queue while none is known. Either
 * way it then waits for its entry to be applied here.
 */
export class Proposals<Result> {
  /** Proposals made here and not settled yet, wherever they wait (core, leader, leader queue). */
  private pending = 0;

  constructor(private readonly host: ProposalsHost<Result>) {}

  /**
   * Proposes the encoded `payload` and resolves with the state machine's
   * result once it is applied here. Rejects at once with
   * `ProposalDroppedError` while `maxPending` proposals are waiting: each
   * holds a promise and a timer, so an unbounded queue behind a slow or
   * partitioned leader would grow without limit.
   */
  propose(payload: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<Result> {
    const host = this.host;
    if (this.pending >= host.maxPending) {
      return Promise.reject(new ProposalDroppedError(`${this.pending} proposals are already waiting (limits.maxPendingProposals)`));
    }
    let waitingAt: Index | null = null;
    const deferred = guardedPromise<Result>('proposal', host.clock, timeoutMs, signal, () => {
      if (waitingAt !== null) host.waiters.remove(waitingAt, deferred);
    });
    this.pending++;
    const settled = (): void => {
      this.pending--;
    };
    deferred.promise.then(settled, settled);
    const dispatch = (): void => {
      if (deferred.settled) return;
      // Per proposal: read role and leader directly, not the whole status (which builds the progress map).
      const core = host.core;
      if (core.role === 'leader') {
        try {
          const receipt = host.core.propose(payload);
          waitingAt = receipt.lastIndex;
          host.waiters.add(receipt.lastIndex, receipt.term, deferred, host.appliedIndex());
          host.wake();
        } catch (error) {
          deferred.reject(error);
        }
      } else if (!host.forwardProposals) {
        deferred.reject(new NotLeaderError(core.leader));
      } else if (core.leader === null) {
        host.awaitingLeader.add({ dispatch, reject: (error) => deferred.reject(error) });
      } else {
        void host.forwarding.forward(core.leader, payload, timeoutMs, signal).then(
          ({ index, term }) => {
            waitingAt = index;
            if (!deferred.settled) host.waiters.add(index, term, deferred, host.appliedIndex());
          },
          (error: unknown) => deferred.reject(error),
        );
      }
    };
    dispatch();
    return deferred.promise;
  }

  /** Resolves once the entry at `index` of `term` is applied here; rejects like a proposal's wait. */
  waitApplied(index: Index, term: Term, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const waiters = this.host.waiters;
    const deferred = guardedPromise<Result>('membership change', this.host.clock, timeoutMs, signal, () => waiters.remove(index, deferred));
    if (!deferred.settled) waiters.add(index, term, deferred, this.host.appliedIndex());
    return deferred.promise.then(() => undefined);
  }
}
