import type { NodeId, Role } from '../../core/types.js';
import { TransferFailedError } from '../../errors.js';
import type { KeelError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { guardedPromise } from './waiters.js';
import type { Deferred } from './waiters.js';

/** What {@link LeadershipTransfers} needs from its node. */
export interface TransfersHost {
  readonly id: NodeId;
  readonly clock: Clock;
}

/** One transfer being watched: it settles once `target` leads, or fails. */
interface TransferWatch {
  readonly target: NodeId;
  readonly deferred: Deferred<void>;
}

/**
 * Leadership transfers this node started and is watching (Raft dissertation
 * §3.10). The core runs the transfer; this only decides, after every tick and
 * Ready, whether each one succeeded or failed.
 */
export class LeadershipTransfers {
  private readonly watching = new Set<TransferWatch>();

  constructor(private readonly host: TransfersHost) {}

  /** True while at least one transfer is watched: only then is {@link check} worth calling. */
  get pending(): boolean {
    return this.watching.size > 0;
  }

  /** A deferred for a transfer to `target`, guarded by its deadline; the loop hands it to {@link watch} once the core accepted the transfer. */
  create(timeoutMs: number, signal: AbortSignal | undefined): Deferred<void> {
    const deferred = guardedPromise<void>('leadership transfer', this.host.clock, timeoutMs, signal, () => {
      for (const watch of this.watching) if (watch.deferred === deferred) this.watching.delete(watch);
    });
    return deferred;
  }

  /** Watches a transfer the core has accepted; a transfer to this node itself resolves at once. */
  watch(target: NodeId, deferred: Deferred<void>): void {
    if (target === this.host.id) deferred.resolve();
    else if (!deferred.settled) this.watching.add({ target, deferred });
  }

  /** Settles every transfer that the node's role, leader and the core's transferee now decide. */
  check(role: Role, leader: NodeId | null, transferee: NodeId | null): void {
    for (const watch of this.watching) {
      if (leader === watch.target) watch.deferred.resolve();
      else if (role === 'leader' && transferee !== watch.target) watch.deferred.reject(new TransferFailedError(watch.target, 'not completed within an election timeout'));
      else if (leader !== null && leader !== this.host.id) watch.deferred.reject(new TransferFailedError(watch.target, `${leader} became leader instead`));
      else continue;
      this.watching.delete(watch);
    }
  }

  /** The node stopped: every transfer still watched rejects with `error`. */
  rejectAll(error: KeelError): void {
    for (const watch of this.watching) watch.deferred.reject(error);
    this.watching.clear();
  }
}
