import type { RawNode } from '../core/raw-node.js';
import type { Ready } from '../core/ready.js';
import type { Entry, HardState, Index, SnapshotMeta } from '../core/types.js';
import type { LogStorage } from '../storage/storage.js';
import type { PeerMessages } from './peer-messages.js';
import type { ReadBarriers } from './read-barriers.js';

/** What {@link ReadyLoop} needs from its node. */
export interface ReadyLoopHost {
  readonly core: RawNode;
  readonly storage: Pick<LogStorage, 'append'>;
  readonly peers: Pick<PeerMessages, 'sendAll'>;
  readonly reads: Pick<ReadBarriers, 'confirm' | 'release'>;
  /** Applies one committed entry; a synchronous state machine returns undefined (no promise per entry). */
  readonly applier: { apply(entry: Entry): Promise<void> | undefined };
  /** Captures a snapshot if one is due and starts writing it in the background (never waits for it). */
  readonly snapshotTaker: { maybeTake(): void };
  /** False once the node is closed or failed: the loop stops at the next step. */
  isRunning(): boolean;
  /** The index of the last entry applied on this node. */
  appliedIndex(): Index;
  /** Makes a snapshot from the leader durable and restores the state machine from it. */
  installSnapshot(meta: SnapshotMeta): Promise<void>;
  /** Emits what the Ready changed and settles what waited on it. */
  emitChanges(): void;
  /** Stops the node: a Ready that could not be handled leaves it in an unknown state. */
  fail(error: unknown): void;
}

/**
 * The Ready loop: it honours the core's contract. A leader's AppendEntries
 * leave in parallel with its own disk write; snapshot, entries and hard state
 * are durable before any dependent message is sent; committed entries are
 * applied in order, exactly once, after they are durable. Inputs that arrive
 * while a write is in flight are stepped into the core at once and form the
 * next batch, so many proposals share one synced write (group commit).
 */
export class ReadyLoop {
  /** The running (or last) loop, for close() to wait on. */
  private loop: Promise<void> | null = null;
  /** True while the loop runs: at most one runs at a time. */
  private looping = false;
  /** The newest hard state handed out by the core, written with the next durable write. */
  private hardState: HardState | null = null;

  constructor(private readonly host: ReadyLoopHost) {}

  /** The running (or last) loop, for close() to wait on; null if none ever ran. */
  get current(): Promise<void> | null {
    return this.loop;
  }

  /** Runs the Ready loop if it is not already running; inputs that arrive meanwhile join the next batch. */
  wake(): void {
    // The loop re-checks for work after every Ready, so an input arriving while it runs needs nothing more.
    if (!this.host.isRunning() || this.looping || !this.host.core.hasReady()) return;
    this.loop = this.runLoop();
  }

  private async runLoop(): Promise<void> {
    this.looping = true;
    try {
      while (this.host.isRunning() && this.host.core.hasReady()) await this.handleReady(this.host.core.ready());
    } catch (error) {
      this.host.fail(error);
    } finally {
      // Synchronously after the last hasReady() said no: an input arriving after this starts a new loop.
      this.looping = false;
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    const host = this.host;
    host.peers.sendAll(ready.parallelMessages);
    if (ready.hardState !== null) this.hardState = ready.hardState;
    if (ready.snapshot !== null) await host.installSnapshot(ready.snapshot);
    // A change of commit index alone is not worth an fsync (it is recomputed after a crash, as in etcd);
    // it is written with the next write that must be durable: new entries, a new term or vote.
    if (ready.mustSync) await host.storage.append(ready.entries, this.hardState ?? undefined);
    if (!host.isRunning()) return;
    host.peers.sendAll(ready.messages);
    for (const entry of ready.committedEntries) {
      // A synchronous state machine is applied without awaiting: no promise per entry on the hot path.
      const pending = host.applier.apply(entry);
      if (pending !== undefined) await pending;
      if (!host.isRunning()) return;
    }
    for (const readState of ready.readStates) host.reads.confirm(readState.requestId, readState.index);
    host.reads.release(host.appliedIndex());
    host.core.advance();
    host.emitChanges();
    host.snapshotTaker.maybeTake();
  }
}
