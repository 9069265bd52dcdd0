/**
 * Storage wrappers that time what the service's metrics report: how long
 * each log write takes to become durable (fsync included), and the size and
 * write time of each snapshot. They forward every call unchanged, so the node
 * cannot tell them from the storage they wrap.
 *
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../core/types.js';
import type { InitialState, LogStorage } from '../storage/storage.js';
import type { SnapshotStore, SnapshotWriter } from '../storage/snapshot-store.js';

/** A {@link LogStorage} that reports the duration of every `append` and `saveSnapshot` (each a synced write) in seconds. */
export class TimedLogStorage implements LogStorage {
  /**
   * Wraps `storage`; nothing is timed until the node writes through it.
   * @param storage - the storage to forward to
   * @param synced - called with each write's duration in seconds
   */
  constructor(
    private readonly storage: LogStorage,
    private readonly synced: (seconds: number) => void,
  ) {}

  /** Forwarded. */
  initialState(): InitialState {
    return this.storage.initialState();
  }

  /** Forwarded. */
  firstIndex(): Index {
    return this.storage.firstIndex();
  }

  /** Forwarded. */
  lastIndex(): Index {
    return this.storage.lastIndex();
  }

  /** Forwarded. */
  term(index: Index): Term {
    return this.storage.term(index);
  }

  /** Forwarded. */
  entries(low: Index, high: Index, maxBytes: number): readonly Entry[] | undefined {
    return this.storage.entries(low, high, maxBytes);
  }

  /** Forwarded. */
  configEntries(): readonly Entry[] {
    return this.storage.configEntries();
  }

  /** Forwarded. */
  snapshotMeta(): SnapshotMeta {
    return this.storage.snapshotMeta();
  }

  /** Forwarded; its duration is reported once it resolves. */
  async append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    const started = performance.now();
    await this.storage.append(entries, hardState);
    this.synced((performance.now() - started) / 1000);
  }

  /** Forwarded; its duration is reported once it resolves. */
  async saveSnapshot(meta: SnapshotMeta): Promise<void> {
    const started = performance.now();
    await this.storage.saveSnapshot(meta);
    this.synced((performance.now() - started) / 1000);
  }

  /** Forwarded. */
  close(): Promise<void> {
    return this.storage.close();
  }
}

/** A {@link SnapshotStore} that reports each committed snapshot's size in bytes and the seconds from `create` to `commit`. */
export class MeasuredSnapshotStore implements SnapshotStore {
  /**
   * Wraps `store`; nothing is measured until a snapshot is written through it.
   * @param store - the snapshot store to forward to
   * @param written - called with each committed snapshot's bytes and seconds
   */
  constructor(
    private readonly store: SnapshotStore,
    private readonly written: (bytes: number, seconds: number) => void,
  ) {}

  /** Forwarded. */
  latest(): SnapshotMeta | null {
    return this.store.latest();
  }

  /** Forwarded; the writer counts the bytes written and reports them, with the time since this call, on commit. */
  async create(meta: SnapshotMeta): Promise<SnapshotWriter> {
    const started = performance.now();
    const writer = await this.store.create(meta);
    let bytes = 0;
    const written = this.written;
    return {
      async write(chunk: Uint8Array): Promise<void> {
        await writer.write(chunk);
        bytes += chunk.byteLength;
      },
      async commit(): Promise<void> {
        await writer.commit();
        written(bytes, (performance.now() - started) / 1000);
      },
      abort: () => writer.abort(),
    };
  }

  /** Forwarded. */
  read(index: Index, chunkBytes?: number): AsyncIterable<Uint8Array> {
    return this.store.read(index, chunkBytes);
  }

  /** Forwarded. */
  close(): Promise<void> {
    return this.store.close();
  }
}
