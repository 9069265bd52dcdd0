import type { RawNode } from '../../core/raw-node.js';
import type { Index, Term } from '../../core/types.js';
import { KeelError, NotLeaderError, ProposalDroppedError } from '../../errors.js';
import { assert } from '../../util/assert.js';
import type { ProposalRequest } from '../inbox.js';
import type { AwaitingLeader } from './awaiting-leader.js';
import type { ForwardedProposals } from './forwarded-proposals.js';
import type { ApplyWaiters } from './waiters.js';

/** A proposal drained from the inbox in this turn; `request` is null when nobody waits for it. */
export interface QueuedProposal<Result> {
  readonly payload: Uint8Array;
  readonly request: ProposalRequest<Result> | null;
}

/** Where proposals go once the core took them, or when this node is not the leader. */
export interface ProposalRoutes<Result> {
  readonly waiters: ApplyWaiters<Result>;
  readonly forwarding: ForwardedProposals;
  /** Whether a follower hands proposals to the leader rather than refusing them. */
  readonly forwardProposals: boolean;
  readonly awaitingLeader: AwaitingLeader;
  /** The index of the last entry applied on this node. */
  appliedIndex(): Index;
}

/**
 * Proposes one turn's proposals in one core call, inside the owner loop's
 * turn, so they share one append, one AppendEntries per follower and one
 * write. Off the leader each goes its own way: to the leader, to the queue
 * of requests waiting for one, or back to the caller with `NotLeaderError`.
 * A proposal whose deadline or signal ended it while it sat in the inbox is
 * not proposed at all.
 */
export function proposeBatch<Result>(core: Pick<RawNode, 'role' | 'leader' | 'propose'>, batch: readonly QueuedProposal<Result>[], routes: ProposalRoutes<Result>): void {
  const live = batch.filter((proposal) => proposal.request === null || !proposal.request.deferred.settled);
  if (live.length === 0) return;
  if (core.role !== 'leader') {
    for (const proposal of live) routeOffLeader(core, proposal, routes);
    return;
  }
  try {
    const receipt = core.propose(live.map((proposal) => proposal.payload));
    assert(receipt.lastIndex - receipt.firstIndex + 1 === live.length, () => `proposal batch: ${live.length} proposals landed at [${receipt.firstIndex}, ${receipt.lastIndex}]`);
    for (let i = 0; i < live.length; i++) {
      const request = live[i]!.request;
      if (request !== null) waitAt(request, receipt.firstIndex + i, receipt.term, routes);
    }
  } catch (error) {
    if (!(error instanceof KeelError) || error.code === 'KEEL_INVARIANT') throw error;
    // The batch as a whole did not fit (the uncommitted-bytes cap): each proposal gets its own answer.
    if (live.length > 1 && error instanceof ProposalDroppedError) for (const proposal of live) proposeOne(core, proposal, routes);
    else for (const proposal of live) proposal.request?.deferred.reject(error);
  }
}

function proposeOne<Result>(core: Pick<RawNode, 'propose'>, proposal: QueuedProposal<Result>, routes: ProposalRoutes<Result>): void {
  try {
    const receipt = core.propose(proposal.payload);
    if (proposal.request !== null) waitAt(proposal.request, receipt.lastIndex, receipt.term, routes);
  } catch (error) {
    if (!(error instanceof KeelError) || error.code === 'KEEL_INVARIANT') throw error;
    proposal.request?.deferred.reject(error);
  }
}

/** The proposal's entry landed at `index` in `term`: it waits there for its outcome. */
function waitAt<Result>(request: ProposalRequest<Result>, index: Index, term: Term, routes: ProposalRoutes<Result>): void {
  assert(request.waitingAt === null, () => `proposal batch: a proposal waiting at ${request.waitingAt} landed again at ${index}`);
  request.waitingAt = index;
  routes.waiters.add(index, term, request.deferred, routes.appliedIndex());
}

function routeOffLeader<Result>(core: Pick<RawNode, 'leader'>, proposal: QueuedProposal<Result>, routes: ProposalRoutes<Result>): void {
  const { payload, request } = proposal;
  if (request === null) return; // A runtime payload (a member address) is proposed only on the leader.
  if (!routes.forwardProposals) {
    request.deferred.reject(new NotLeaderError(core.leader));
  } else if (core.leader === null) {
    routes.awaitingLeader.add({ kind: 'propose', payload, request: request as ProposalRequest });
  } else {
    void routes.forwarding.forward(core.leader, payload, request.timeoutMs, request.signal).then(
      ({ index, term }) => {
        if (!request.deferred.settled) waitAt(request, index, term, routes);
      },
      (error: unknown) => request.deferred.reject(error),
    );
  }
}
