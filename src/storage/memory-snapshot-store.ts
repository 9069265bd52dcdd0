import type { Index, SnapshotMeta } from '../core/types.js';
import { InvalidArgumentError, StorageClosedError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { SnapshotStore, SnapshotWriter } from './snapshot-store.js';
import {
  DEFAULT_READ_CHUNK_BYTES,
  KEPT_SNAPSHOTS,
  validateReadChunkBytes,
  validateSnapshotChunk,
  validateSnapshotIndex,
  validateSnapshotMeta,
} from './snapshot-validate.js';

/** A committed snapshot: its meta and its content as the chunks it was written in. */
interface MemorySnapshot {
  readonly meta: SnapshotMeta;
  /** Copies of the written chunks, never handed out: reads copy out of them. */
  readonly chunks: readonly Uint8Array[];
  readonly contentBytes: number;
}

/**
 * A {@link SnapshotStore} held in memory: a snapshot is "durable" once
 * `commit()` resolves and is lost with the process. It suits tests and the
 * simulator, and behaves like `FileSnapshotStore` in everything else
 * (both pass the same conformance suite).
 *
 * @remarks
 * - `latest()` is the committed snapshot with the highest index. Committing an
 *   older snapshot after a newer one keeps it readable, but not latest.
 * - Only the two (`KEPT_SNAPSHOTS`) highest indexes are kept; a commit at an
 *   index that already exists replaces that snapshot.
 * - Chunks are copied on write and on read, so neither the writer nor a reader
 *   can change stored content by reusing a buffer.
 */
export class MemorySnapshotStore implements SnapshotStore {
  /** Invariant: at most `KEPT_SNAPSHOTS` (2) entries, indexes strictly decreasing (newest first). */
  private snapshots: MemorySnapshot[] = [];
  /** Indexes with a writer that has neither committed nor aborted; one writer per index at a time. */
  private readonly writing = new Set<Index>();
  private closed = false;

  latest(): SnapshotMeta | null {
    this.checkOpen();
    return this.snapshots[0]?.meta ?? null;
  }

  /** Starts a snapshot. Throws `InvalidArgumentError` for a malformed meta or when another writer for this index is open. */
  async create(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen();
    const checked = validateSnapshotMeta(meta);
    if (this.writing.has(checked.index)) {
      throw new InvalidArgumentError(`snapshot at index ${checked.index} is already being written`);
    }
    this.writing.add(checked.index);
    return new MemorySnapshotWriter(checked, {
      isClosed: () => this.closed,
      install: (snapshot) => this.install(snapshot),
      release: (index) => this.writing.delete(index),
    });
  }

  /**
   * Streams the snapshot at `index` in chunks of exactly `chunkBytes` (the
   * last one may be shorter; an empty snapshot yields none). Argument,
   * existence and closed checks throw at call time.
   */
  read(index: Index, chunkBytes: number = DEFAULT_READ_CHUNK_BYTES): AsyncIterable<Uint8Array> {
    this.checkOpen();
    validateSnapshotIndex(index);
    validateReadChunkBytes(chunkBytes);
    const snapshot = this.snapshots.find((candidate) => candidate.meta.index === index);
    if (snapshot === undefined) throw new InvalidArgumentError(`no snapshot at index ${index}`);
    return this.stream(snapshot, chunkBytes);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.writing.clear();
  }

  private async *stream(snapshot: MemorySnapshot, chunkBytes: number): AsyncGenerator<Uint8Array> {
    for (const chunk of rechunk(snapshot.chunks, snapshot.contentBytes, chunkBytes)) {
      this.checkOpen();
      yield chunk;
    }
  }

  /** Adds a committed snapshot, replacing one at the same index, and drops all but the newest two (`KEPT_SNAPSHOTS`). */
  private install(snapshot: MemorySnapshot): void {
    const others = this.snapshots.filter((candidate) => candidate.meta.index !== snapshot.meta.index);
    const all = [...others, snapshot].sort((a, b) => b.meta.index - a.meta.index);
    this.snapshots = all.slice(0, KEPT_SNAPSHOTS);
    for (let i = 1; i < this.snapshots.length; i++) {
      assert(this.snapshots[i - 1]!.meta.index > this.snapshots[i]!.meta.index, () =>
        `memory snapshot store: indexes not strictly decreasing at position ${i}`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

/** What a writer needs from its store. */
interface MemoryWriterHost {
  isClosed(): boolean;
  install(snapshot: MemorySnapshot): void;
  release(index: Index): void;
}

/** A writer of {@link MemorySnapshotStore}. */
class MemorySnapshotWriter implements SnapshotWriter {
  private chunks: Uint8Array[] = [];
  private contentBytes = 0;
  private ended = false;

  constructor(private readonly meta: SnapshotMeta, private readonly host: MemoryWriterHost) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.checkWritable('write');
    validateSnapshotChunk(chunk);
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk.slice());
    this.contentBytes += chunk.byteLength;
  }

  async commit(): Promise<void> {
    this.checkWritable('commit');
    this.ended = true;
    this.host.release(this.meta.index);
    this.host.install({ meta: this.meta, chunks: this.chunks, contentBytes: this.contentBytes });
  }

  /** Discards what was written. A no-op once the writer has ended (committed, aborted or its store closed). */
  async abort(): Promise<void> {
    if (this.ended || this.host.isClosed()) return;
    this.ended = true;
    this.chunks = [];
    this.host.release(this.meta.index);
  }

  private checkWritable(operation: string): void {
    if (this.host.isClosed()) throw new StorageClosedError();
    if (this.ended) throw new InvalidArgumentError(`snapshot ${operation}: the writer for index ${this.meta.index} has already ended`);
  }
}

/**
 * Re-cuts `chunks` (holding `totalBytes` in all) into fresh chunks of exactly
 * `chunkBytes`, the last one possibly shorter. Each output is a new buffer.
 */
export function* rechunk(chunks: readonly Uint8Array[], totalBytes: number, chunkBytes: number): Generator<Uint8Array> {
  let source = 0;
  let sourceOffset = 0;
  for (let emittedBytes = 0; emittedBytes < totalBytes;) {
    const out = new Uint8Array(Math.min(chunkBytes, totalBytes - emittedBytes));
    let filled = 0;
    while (filled < out.byteLength) {
      const from = chunks[source];
      assert(from !== undefined, () => `rechunk: ran out of input at byte ${emittedBytes + filled} of ${totalBytes}`);
      const take = Math.min(out.byteLength - filled, from.byteLength - sourceOffset);
      out.set(from.subarray(sourceOffset, sourceOffset + take), filled);
      filled += take;
      sourceOffset += take;
      if (sourceOffset === from.byteLength) {
        source += 1;
        sourceOffset = 0;
      }
    }
    emittedBytes += out.byteLength;
    yield out;
  }
}
