import type { Index, NodeId, SnapshotMeta, Term } from '../../core/types.js';
import { InvalidArgumentError } from '../../errors.js';
import type { SnapshotStore, SnapshotWriter } from '../../storage/snapshot-store.js';
import type { SnapshotAck, SnapshotChunk } from '../../transport/transport.js';

interface Partial {
  readonly meta: SnapshotMeta;
  readonly term: Term;
  readonly writer: SnapshotWriter;
  offset: number;
}

/**
 * Follower side of InstallSnapshot: writes the leader's chunks into the local
 * snapshot store in order, answers each with the offset stored so far (so a
 * restarted or interrupted transfer resumes there), and once the last chunk
 * is durable hands the snapshot to the core.
 */
export class SnapshotReceiver {
  private partial: Partial | null = null;
  /** Chunks are handled one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly self: NodeId,
    private readonly store: SnapshotStore,
    private readonly ack: (to: NodeId, ack: SnapshotAck) => void,
    /** The snapshot is complete and durable: step it into the core. */
    private readonly installed: (from: NodeId, term: Term, meta: SnapshotMeta) => void,
    private readonly failed: (error: unknown) => void,
  ) {}

  /** True while a snapshot is being received (the node should not write a local snapshot meanwhile). */
  receiving(): boolean {
    return this.partial !== null;
  }

  receive(chunk: SnapshotChunk): void {
    this.queue = this.queue.then(() => this.handle(chunk)).catch((error: unknown) => this.failed(error));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.discard();
  }

  private async handle(chunk: SnapshotChunk): Promise<void> {
    if (this.closed) return;
    const partial = await this.partialFor(chunk);
    if (partial === null) return;
    if (chunk.offset !== partial.offset) {
      // A gap, or a restarted sender: tell it where to resume.
      this.reply(chunk, partial.offset, false, false);
      return;
    }
    await partial.writer.write(chunk.data);
    partial.offset += chunk.data.byteLength;
    if (!chunk.last) {
      this.reply(chunk, partial.offset, true, false);
      return;
    }
    await partial.writer.commit();
    this.partial = null;
    this.installed(chunk.from, chunk.term, chunk.meta);
    this.reply(chunk, partial.offset, true, true);
  }

  /** The partial snapshot this chunk continues, starting a new one at offset 0; null when the chunk cannot be used. */
  private async partialFor(chunk: SnapshotChunk): Promise<Partial | null> {
    const current = this.partial;
    if (current !== null && current.meta.index === chunk.meta.index && current.term === chunk.term) return current;
    if (chunk.offset !== 0) {
      // We hold nothing of this snapshot: the sender must start over.
      this.reply(chunk, 0, false, false);
      return null;
    }
    await this.discard();
    let writer: SnapshotWriter;
    try {
      writer = await this.store.create(chunk.meta);
    } catch (error) {
      // This node is writing its own snapshot at the same index right now: refuse the chunk; the leader retransmits.
      if (!(error instanceof InvalidArgumentError)) throw error;
      this.reply(chunk, 0, false, false);
      return null;
    }
    this.partial = { meta: chunk.meta, term: chunk.term, writer, offset: 0 };
    return this.partial;
  }

  private async discard(): Promise<void> {
    const partial = this.partial;
    this.partial = null;
    await partial?.writer.abort();
  }

  private reply(chunk: SnapshotChunk, offset: number, accepted: boolean, done: boolean): void {
    const index: Index = chunk.meta.index;
    this.ack(chunk.from, { kind: 'snapshotAck', from: this.self, to: chunk.from, index, offset, accepted, done });
  }
}
