import type { Index, NodeId, SnapshotMeta, Term } from '../../core/types.js';
import type { SnapshotStore } from '../../storage/snapshot-store.js';
import type { SnapshotAck, SnapshotChunk } from '../../transport/transport.js';
import type { Clock, TimerHandle } from '../../util/clock.js';

/** How snapshots are streamed to followers. */
export interface SnapshotSendOptions {
  readonly chunkBytes: number;
  /** Chunks sent and not yet acknowledged, per follower. */
  readonly maxChunksInFlight: number;
  /** With no acknowledgement for this long, unacknowledged chunks are sent again from the last acknowledged offset. */
  readonly retransmitMs: number;
  /** Retransmissions without progress before the transfer is abandoned (and reported failed). */
  readonly maxRetransmits: number;
}

interface Transfer {
  readonly to: NodeId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
  /** The stream being sent; `streamOffset` bytes of it have been read. */
  reader: ChunkReader;
  streamOffset: number;
  /** Bytes the follower confirmed stored. */
  ackedOffset: number;
  /** Bytes sent (ackedOffset ≤ sentOffset). */
  sentOffset: number;
  inFlight: number;
  finishedReading: boolean;
  pumping: boolean;
  stallTimer: TimerHandle | null;
  /** Bumped whenever the stream restarts, so a pump that was reading the old stream stops. */
  generation: number;
  /** The offset of the last restart: later refusals naming it are echoes of chunks sent before it. */
  resumedFrom: number | null;
  /** Retransmissions since the last acknowledged progress. */
  retransmits: number;
}

/**
 * Leader side of InstallSnapshot: streams the newest snapshot to each follower
 * that needs one, in chunks with a bounded window, resuming from the offset
 * the follower reports. Runs beside the owner loop, so heartbeats and
 * replication to other followers continue while a large snapshot is sent.
 */
export class SnapshotSender {
  private readonly transfers = new Map<NodeId, Transfer>();

  constructor(
    private readonly self: NodeId,
    private readonly store: SnapshotStore,
    private readonly clock: Clock,
    private readonly options: SnapshotSendOptions,
    private readonly send: (to: NodeId, chunk: SnapshotChunk) => void,
    /** Tells the core how a transfer ended. */
    private readonly report: (to: NodeId, succeeded: boolean) => void,
  ) {}

  /** The lowest snapshot index being sent, or null: the log must not be compacted past it (or the follower would need yet another snapshot). */
  lowestIndexInFlight(): Index | null {
    let lowest: Index | null = null;
    for (const transfer of this.transfers.values()) lowest = lowest === null ? transfer.meta.index : Math.min(lowest, transfer.meta.index);
    return lowest;
  }

  /** Starts (or keeps) sending the newest snapshot to `to` in `term`. */
  start(to: NodeId, term: Term): void {
    const meta = this.store.latest();
    const existing = this.transfers.get(to);
    if (meta === null) {
      this.report(to, false);
      return;
    }
    if (existing !== undefined && existing.term === term && existing.meta.index === meta.index) return;
    if (existing !== undefined) this.cancel(to, false);
    const reader = this.openReader(meta.index);
    if (reader === null) {
      this.report(to, false);
      return;
    }
    const transfer: Transfer = {
      to,
      term,
      meta,
      reader,
      streamOffset: 0,
      ackedOffset: 0,
      sentOffset: 0,
      inFlight: 0,
      finishedReading: false,
      pumping: false,
      stallTimer: null,
      generation: 0,
      resumedFrom: null,
      retransmits: 0,
    };
    this.transfers.set(to, transfer);
    this.armStallTimer(transfer);
    void this.pump(transfer);
  }

  /** A follower acknowledged bytes (or asked to resume from an offset). */
  acknowledge(ack: SnapshotAck): void {
    const transfer = this.transfers.get(ack.from);
    if (transfer === undefined || transfer.meta.index !== ack.index) return;
    if (ack.done) {
      this.finish(transfer, true);
      return;
    }
    if (!ack.accepted) {
      // The follower holds `offset` bytes and refused a chunk that did not follow on: resume from there,
      // once (chunks already in flight will be refused with the same offset).
      if (ack.offset !== transfer.resumedFrom) this.restartFrom(transfer, ack.offset);
      if (this.transfers.get(ack.from) !== transfer) return;
    } else if (ack.offset > transfer.ackedOffset) {
      transfer.inFlight = Math.max(0, transfer.inFlight - 1);
      transfer.ackedOffset = ack.offset;
      transfer.resumedFrom = null;
      transfer.retransmits = 0;
    }
    this.armStallTimer(transfer);
    void this.pump(transfer);
  }

  /** Stops every transfer (leadership lost, node closing). */
  cancelAll(): void {
    for (const to of [...this.transfers.keys()]) this.cancel(to, false);
  }

  /** Stops a transfer; reports it failed when `report` is set. */
  cancel(to: NodeId, report: boolean): void {
    const transfer = this.transfers.get(to);
    if (transfer === undefined) return;
    this.transfers.delete(to);
    if (transfer.stallTimer !== null) this.clock.clearTimeout(transfer.stallTimer);
    transfer.reader.close();
    if (report) this.report(to, false);
  }

  private finish(transfer: Transfer, succeeded: boolean): void {
    this.cancel(transfer.to, false);
    this.report(transfer.to, succeeded);
  }

  private restartFrom(transfer: Transfer, offset: number): void {
    transfer.reader.close();
    transfer.generation++;
    const reader = this.openReader(transfer.meta.index);
    if (reader === null) {
      // Retention deleted the snapshot meanwhile: give up; the core will ask again and get the newest one.
      this.finish(transfer, false);
      return;
    }
    transfer.reader = reader;
    transfer.streamOffset = 0;
    transfer.ackedOffset = offset;
    transfer.sentOffset = offset;
    transfer.inFlight = 0;
    transfer.finishedReading = false;
    transfer.pumping = false;
    transfer.resumedFrom = offset;
  }

  /** Opens a snapshot for streaming; null when the store no longer has it (retention deleted it, or it is damaged). */
  private openReader(index: Index): ChunkReader | null {
    try {
      return new ChunkReader(this.store.read(index, this.options.chunkBytes));
    } catch {
      return null;
    }
  }

  /** Sends chunks while the window has room. */
  private async pump(transfer: Transfer): Promise<void> {
    if (transfer.pumping) return;
    transfer.pumping = true;
    const generation = transfer.generation;
    const current = (): boolean => this.transfers.get(transfer.to) === transfer && generation === transfer.generation;
    try {
      while (current() && !transfer.finishedReading && transfer.inFlight < this.options.maxChunksInFlight) {
        const next = await transfer.reader.next();
        if (!current()) return;
        if (next === null) {
          // An empty state still needs one (empty, last) chunk so the follower installs it.
          transfer.finishedReading = true;
          if (transfer.sentOffset === 0) this.sendChunk(transfer, new Uint8Array(0), true);
          return;
        }
        const chunkStart = transfer.streamOffset;
        transfer.streamOffset += next.chunk.byteLength;
        if (next.last) transfer.finishedReading = true;
        // Resuming: skip what the follower already stored (but always send the last chunk).
        if (transfer.streamOffset <= transfer.sentOffset && !next.last) continue;
        this.sendChunk(transfer, next.chunk.subarray(Math.max(0, transfer.sentOffset - chunkStart)), next.last);
      }
    } catch {
      // The snapshot could not be read (deleted by retention, corrupt): give up; the core will ask again.
      if (current()) this.finish(transfer, false);
    } finally {
      if (generation === transfer.generation) transfer.pumping = false;
    }
  }

  private sendChunk(transfer: Transfer, data: Uint8Array, last: boolean): void {
    const offset = transfer.sentOffset;
    transfer.sentOffset += data.byteLength;
    transfer.inFlight++;
    this.send(transfer.to, { kind: 'snapshotChunk', from: this.self, to: transfer.to, term: transfer.term, meta: transfer.meta, offset, data, last });
  }

  private armStallTimer(transfer: Transfer): void {
    if (transfer.stallTimer !== null) this.clock.clearTimeout(transfer.stallTimer);
    transfer.stallTimer = this.clock.setTimeout(() => {
      if (this.transfers.get(transfer.to) !== transfer) return;
      if (transfer.retransmits >= this.options.maxRetransmits) {
        this.finish(transfer, false);
        return;
      }
      // Chunks or their acknowledgements were lost: send again from what the follower confirmed.
      transfer.retransmits++;
      this.restartFrom(transfer, transfer.ackedOffset);
      if (this.transfers.get(transfer.to) !== transfer) return;
      this.armStallTimer(transfer);
      void this.pump(transfer);
    }, this.options.retransmitMs);
  }
}

/** Reads a chunk stream one ahead, so that each chunk knows whether it is the last. */
class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffered: Uint8Array | null = null;
  private started = false;
  private done = false;

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.iterator = chunks[Symbol.asyncIterator]();
  }

  /** The next chunk and whether it is the last one, or null when the stream is over. */
  async next(): Promise<{ chunk: Uint8Array; last: boolean } | null> {
    const chunk = this.started ? this.buffered : await this.pull();
    this.started = true;
    if (chunk === null) return null;
    this.buffered = await this.pull();
    return { chunk, last: this.buffered === null };
  }

  close(): void {
    void this.iterator.return?.();
  }

  private async pull(): Promise<Uint8Array | null> {
    if (this.done) return null;
    const result = await this.iterator.next();
    if (result.done === true) {
      this.done = true;
      return null;
    }
    return result.value;
  }
}
