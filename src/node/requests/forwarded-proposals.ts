import type { RawNode } from '../../core/raw-node.js';
import type { Index, NodeId, Term } from '../../core/types.js';
import { KeelError, NotLeaderError } from '../../errors.js';
import type { ForwardProposal, ForwardResult, Transport } from '../../transport/transport.js';
import type { Clock } from '../../util/clock.js';
import { guardedPromise } from './waiters.js';
import type { Deferred } from './waiters.js';

/** The leader refused a forwarded proposal for a reason other than leadership; `remoteCode` is its error code. */
export class RemoteProposalError extends KeelError {
  /** The leader's error code (a {@link KeelErrorCode}) for the refusal. */
  readonly remoteCode: string;

  /** `remoteCode` and `message` are the leader's error code and message. */
  constructor(remoteCode: string, message: string) {
    super('KEEL_PROPOSAL_DROPPED', `the leader refused the proposal: ${message}`);
    this.remoteCode = remoteCode;
  }
}

/** What {@link ForwardedProposals} needs from its node. */
export interface ForwardingHost {
  readonly id: NodeId;
  readonly clock: Clock;
  readonly transport: Pick<Transport, 'send'>;
}

/**
 * Proposals a follower hands to the leader: the follower side waits for where
 * the entry landed, the leader side proposes it and answers.
 */
export class ForwardedProposals {
  private readonly forwarded = new Map<number, Deferred<{ index: Index; term: Term }>>();
  /** Ids of this node's forwarded proposals: unique per node lifetime, matched by the leader's answer. */
  private nextRequestId = 1;

  constructor(private readonly host: ForwardingHost) {}

  forward(leader: NodeId, payload: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ index: Index; term: Term }> {
    const requestId = this.nextRequestId++;
    const deferred = guardedPromise<{ index: Index; term: Term }>('forwarded proposal', this.host.clock, timeoutMs, signal, () => this.forwarded.delete(requestId));
    this.forwarded.set(requestId, deferred);
    this.host.transport.send(leader, { kind: 'forward', from: this.host.id, to: leader, requestId, payload });
    return deferred.promise;
  }

  /**
   * Leader side of a forwarded proposal, inside the owner loop's turn:
   * propose it and say where it landed. A broken invariant throws (the loop
   * stops the node); a refusal goes back to the follower.
   */
  answer(core: Pick<RawNode, 'propose'>, request: ForwardProposal): void {
    const reply = (result: ForwardResult): void => this.host.transport.send(request.from, result);
    const base = { kind: 'forwardResult', from: this.host.id, to: request.from, requestId: request.requestId } as const;
    try {
      const receipt = core.propose(request.payload);
      reply({ ...base, ok: true, index: receipt.lastIndex, term: receipt.term });
    } catch (error) {
      if (!(error instanceof KeelError) || error.code === 'KEEL_INVARIANT') throw error;
      reply({ ...base, ok: false, code: error.code, message: error.message, leader: error instanceof NotLeaderError ? error.leader : null });
    }
  }

  settle(result: ForwardResult): void {
    const deferred = this.forwarded.get(result.requestId);
    if (deferred === undefined) return;
    this.forwarded.delete(result.requestId);
    if (result.ok) deferred.resolve({ index: result.index, term: result.term });
    else if (result.code === 'KEEL_NOT_LEADER') deferred.reject(new NotLeaderError(result.leader));
    else deferred.reject(new RemoteProposalError(result.code, result.message));
  }

  /** The node stopped: every forwarded proposal still waiting rejects with `error`. */
  rejectAll(error: KeelError): void {
    for (const deferred of this.forwarded.values()) deferred.reject(error);
    this.forwarded.clear();
  }
}
