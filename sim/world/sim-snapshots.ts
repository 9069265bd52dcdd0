/**
 * A node's snapshot store across crashes. The snapshots themselves live in a
 * {@link MemorySnapshotStore} that outlives every incarnation (a snapshot is
 * durable once `commit()` resolves); each incarnation reaches it through a
 * {@link SnapshotHandle}. A crash aborts the writers the dead incarnation left
 * open, as reopening a file store discards its temporary files: without that,
 * the next incarnation could not write a snapshot at the same index.
 *
 * A node writes its own snapshots in the background while it keeps applying,
 * so by the time one is reported taken its state machine has moved on:
 * {@link digestsAtCapture} remembers the state's digest at the moment of
 * capture, which is what the snapshot holds.
 */
import type { Index, SnapshotMeta } from '../../src/core/types.js';
import type { StateMachine } from '../../src/node/state-machine.js';
import { StorageClosedError } from '../../src/errors.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import type { SnapshotStore, SnapshotWriter } from '../../src/storage/snapshot-store.js';

/**
 * `machine` as the runtime sees it, except that every `capture()` first hands
 * `record` the index and the digest of the state being captured.
 */
export function digestsAtCapture<Result>(machine: StateMachine<Result> & { digest(): string }, record: (index: Index, digest: string) => void): StateMachine<Result> {
  return {
    apply: (command) => machine.apply(command),
    capture: (point) => {
      record(point.index, machine.digest());
      return machine.capture(point);
    },
    restore: (chunks, point) => machine.restore(chunks, point),
  };
}

/** The durable snapshots of one simulated node. */
export class SimSnapshots {
  private readonly store = new MemorySnapshotStore();
  private handle: SnapshotHandle | null = null;

  /** The store as a new incarnation sees it; revokes the previous handle. */
  open(): SnapshotHandle {
    this.crash();
    this.handle = new SnapshotHandle(this.store);
    return this.handle;
  }

  /** The incarnation died: its unfinished snapshot writes vanish. */
  crash(): void {
    this.handle?.revoke();
    this.handle = null;
  }

  /** The newest durable snapshot, for checkers. */
  latest(): SnapshotMeta | null {
    return this.store.latest();
  }
}

/** One incarnation's {@link SnapshotStore}. */
export class SnapshotHandle implements SnapshotStore {
  private readonly writers = new Set<SnapshotWriter>();
  private revoked = false;

  constructor(private readonly store: MemorySnapshotStore) {}

  latest(): SnapshotMeta | null {
    this.checkOpen();
    return this.store.latest();
  }

  async create(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen();
    const inner = await this.store.create(meta);
    const writers = this.writers;
    const checkOpen = (): void => this.checkOpen();
    const writer: SnapshotWriter = {
      write: (chunk) => (checkOpen(), inner.write(chunk)),
      commit: async () => {
        checkOpen();
        writers.delete(writer);
        await inner.commit();
      },
      abort: async () => {
        writers.delete(writer);
        await inner.abort();
      },
    };
    writers.add(writer);
    return writer;
  }

  read(index: Index, chunkBytes?: number): AsyncIterable<Uint8Array> {
    this.checkOpen();
    return this.store.read(index, chunkBytes);
  }

  /** The runtime never closes a store it does not own; closing only stops this handle. */
  async close(): Promise<void> {
    this.revoke();
  }

  /** @internal */
  revoke(): void {
    if (this.revoked) return;
    this.revoked = true;
    // MemorySnapshotWriter.abort is synchronous underneath; the promise only wraps it.
    for (const writer of [...this.writers]) void writer.abort();
    this.writers.clear();
  }

  private checkOpen(): void {
    if (this.revoked) throw new StorageClosedError();
  }
}
