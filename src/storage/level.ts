import { entrySizeBytes } from '../core/types.js';
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../core/types.js';
import {
  CompactedError, InvalidArgumentError, SnapshotOutOfDateError, StorageClosedError, StorageIOError,
} from '../errors.js';
import { assert } from '../util/assert.js';
import { EntryLoader } from './entry-loader.js';
import { GroupCommit } from './group-commit.js';
import type { BatchSink, Committer } from './group-commit.js';
import { openBatch, openDatabase } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { configKey, entryKey, HARD_STATE_PREFIX, SNAPSHOT_PREFIX, termRunKey } from './level-keys.js';
import { initialise, upgradeFormat } from './level-format.js';
import { readStoredState } from './level-open.js';
import type { StoredState } from './level-open.js';
import { ConfigEntries } from './config-entries.js';
import type { ConfigEntryChanges } from './config-entries.js';
import { checkCommitWithinLog, checkHardState, checkIndex, checkSnapshotMeta } from './checks.js';
import { resolveLevelStorageOptions } from './level-options.js';
import type { LevelStorageOptions, ResolvedLevelStorageOptions } from './level-options.js';
import { EntryEncoder, encodeConfigEntry, encodeHardState, encodeSnapshotMeta, encodeTermRun } from './level-records.js';
import { PrefixCollector } from './prefix-collector.js';
import type { InitialState } from '../core/log-reader.js';
import type { LogStorage } from './storage.js';
import { TailCache } from './tail-cache.js';
import type { TermRunChanges } from './term-runs.js';
import { TermRuns } from './term-runs.js';
import { validateAppend } from './validate.js';
import { VersionedRecord } from './versioned-record.js';

export type { LevelStorageOptions } from './level-options.js';

/** Memory held by the storage's caches, for monitoring and for tests of the bounds. */
export interface LevelStorageStats {
  /** Entries in the tail cache. */
  readonly tailEntries: number;
  /** Bytes (by `entrySizeBytes`) in the tail cache. */
  readonly tailBytes: number;
  /** Bytes in the cache of older entries loaded on demand. */
  readonly loadedBytes: number;
  /** Segments (contiguous ranges) in the cache of older entries loaded on demand. */
  readonly loadedSegments: number;
  /** Runs in the term table. */
  readonly termRuns: number;
  /** Writes (appends and snapshots) submitted since open. */
  readonly writes: number;
  /** Synced batches written since open; group commit makes this smaller than `writes`. */
  readonly batches: number;
}

/**
 * A durable {@link LogStorage} on LevelDB (through the `level` package), one
 * database directory per node. See docs/storage.md for the key layout, the
 * record format and the durability rules.
 *
 * Reads answer from memory: first and last index, the term of every stored
 * index (through a run-length table of terms), every configuration entry and
 * a bounded tail of entries.
 * Older entries are loaded on demand: `entries()` returns undefined, starts
 * the load, and a later call is served from a bounded cache.
 *
 * Every write is one atomic LevelDB batch written with `sync: true`; writes
 * made while a batch is in flight are grouped into the next one (group
 * commit). The in-memory view changes when a write is called; its promise
 * resolves when the write is durable.
 */
export class LevelStorage implements LogStorage {
  private hardState: HardState;
  private snapshot: SnapshotMeta;
  /** Invariant: `snapshot.index <= last`; the entries `snapshot.index + 1 .. last` are stored. */
  private last: Index;
  /** Invariant: covers exactly the entries `snapshot.index + 1 .. last`. */
  private readonly runs: TermRuns;
  /** Invariant: every configuration entry of `snapshot.index + 1 .. last`, whatever the tail holds. */
  private readonly configs: ConfigEntries;
  private readonly tail = new TailCache();
  private readonly encoder = new EntryEncoder();
  private readonly loader: EntryLoader;
  private readonly commit: Committer;
  private readonly collector: PrefixCollector;
  private readonly hardStateRecord: VersionedRecord<HardState>;
  private readonly snapshotRecord: VersionedRecord<SnapshotMeta | null>;
  private closing: Promise<void> | null = null;
  /** The first failed write or clear; every later write is refused with it as cause. */
  private failure: StorageIOError | null = null;

  /**
   * @param db the node's database, or its group's sublevel of a host's database.
   * @param committer makes the committer writes go through, given the callback that marks the storage failed.
   * @param ownsDb whether closing the storage closes `db` (false for a group of a shared engine).
   */
  private constructor(
    private readonly db: LevelDb,
    private readonly options: ResolvedLevelStorageOptions,
    stored: StoredState,
    committer: (markFailed: (error: StorageIOError) => void) => Committer,
    private readonly ownsDb: boolean,
    private readonly onClosed: () => void = () => undefined,
  ) {
    this.hardState = stored.hardState;
    this.snapshot = stored.snapshot ?? { index: 0, term: 0, membership: options.membership ?? { voters: [] } };
    this.last = stored.lastIndex;
    this.runs = new TermRuns(stored.runs);
    this.configs = new ConfigEntries(stored.configs);
    this.hardStateRecord = new VersionedRecord(HARD_STATE_PREFIX, encodeHardState, stored.hardStateVersion);
    this.snapshotRecord = new VersionedRecord(SNAPSHOT_PREFIX, encodeSnapshotMeta, stored.snapshotVersion);
    this.tail.append(stored.tail);
    const markFailed = (error: StorageIOError): void => {
      this.failure ??= error;
    };
    this.loader = new EntryLoader(db, options.loadedCacheBytes, (index) => this.runs.termAt(index));
    this.commit = committer(markFailed);
    const firstIndex = this.snapshot.index + 1;
    this.collector = new PrefixCollector(db, stored.garbageFloor ?? firstIndex, firstIndex, markFailed);
  }

  /**
   * Opens the storage in `options.location`, creating it when the directory
   * holds no database. Reads only metadata, the term runs, the copies of the
 * configuration entries and a bounded tail: when it resolves, everything a
 * core reads at construction is in memory (the "ready at open" contract of
 * `LogReader`). Opening a database of storage format 1 or 2 scans its
 * log once to index its configuration entries.
   *
   * Fails with `StorageLockedError` when the directory is open elsewhere,
   * `CorruptionError` (naming the key) when stored data is damaged, has an
   * unknown format or belongs to another node or cluster — then nothing was
   * written — and `InvalidArgumentError` for bad options.
   */
  static async open(options: LevelStorageOptions): Promise<LevelStorage> {
    const resolved = resolveLevelStorageOptions(options);
    const db = await openDatabase(resolved.location);
    let storage: LevelStorage;
    try {
      const stored = await LevelStorage.readOrInitialise(db, resolved);
      storage = new LevelStorage(db, resolved, stored, (markFailed) => new GroupCommit(() => openBatch(db), resolved.maxBatchBytes, markFailed), true);
    } catch (error) {
      // The open failed: release the lock. A failure to close would hide the
      // reason the open failed, which is the error the caller needs.
      await db.close().catch(() => undefined);
      throw error;
    }
    storage.collector.start();
    return storage;
  }

  /**
   * Opens one Raft group's storage inside a host's shared database
   * (level-engine.ts): `db` is the group's sublevel and `committer` its share
   * of the host's group commit. Closing it leaves the shared database open.
   * Fails like {@link LevelStorage.open}, for this group only. `onClosed`
   * runs once the storage has closed.
   * @internal used by `LevelEngine`.
   */
  static async openShared(
    db: LevelDb,
    options: LevelStorageOptions,
    committer: (markFailed: (error: StorageIOError) => void) => Committer,
    onClosed: () => void,
  ): Promise<LevelStorage> {
    const resolved = resolveLevelStorageOptions(options);
    const stored = await LevelStorage.readOrInitialise(db, resolved);
    const storage = new LevelStorage(db, resolved, stored, committer, false, onClosed);
    storage.collector.start();
    return storage;
  }

  private static async readOrInitialise(db: LevelDb, resolved: ResolvedLevelStorageOptions): Promise<StoredState> {
    const expected = { nodeId: resolved.nodeId, clusterId: resolved.clusterId };
    const read = await readStoredState(db, expected, resolved.openTailBytes);
    return read === null ? initialise(db, resolved) : upgradeFormat(db, read, resolved.location);
  }

  initialState(): InitialState {
    this.checkOpen();
    const membership = this.snapshot.index > 0 ? this.snapshot.membership : this.options.membership;
    return { hardState: this.hardState, membership };
  }

  firstIndex(): Index {
    this.checkOpen();
    return this.snapshot.index + 1;
  }

  lastIndex(): Index {
    this.checkOpen();
    return this.last;
  }

  term(index: Index): Term {
    this.checkOpen();
    checkIndex(index);
    if (index < this.snapshot.index) throw new CompactedError(index, this.snapshot.index + 1);
    if (index > this.last) throw new InvalidArgumentError(`term(${index}): index is past lastIndex ${this.last}`);
    return this.termAt(index);
  }

  entries(low: Index, high: Index, maxBytes: number): readonly Entry[] | undefined {
    this.checkOpen();
    checkIndex(low);
    checkIndex(high);
    if (low > high) throw new InvalidArgumentError(`entries: low ${low} > high ${high}`);
    if (low <= this.snapshot.index) throw new CompactedError(low, this.snapshot.index + 1);
    if (high > this.last + 1) throw new InvalidArgumentError(`entries: high ${high} is past lastIndex + 1 = ${this.last + 1}`);
    if (low === high) return [];
    const result = this.residentEntries(low, high, maxBytes);
    if (result.length > 0) return result;
    this.loader.request(low, Math.min(high, this.tail.firstIndex() ?? this.last + 1), maxBytes);
    return undefined;
  }

  snapshotMeta(): SnapshotMeta {
    this.checkOpen();
    return this.snapshot;
  }

  configEntries(): readonly Entry[] {
    this.checkOpen();
    return this.configs.list();
  }

  append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    try {
      this.checkWritable();
      validateAppend(entries, this.snapshot.index, this.last, (index) => this.termAt(index));
      this.checkEntrySizes(entries);
      if (hardState !== undefined) checkHardState(hardState);
      const lastAfter = entries[entries.length - 1]?.index ?? this.last;
      checkCommitWithinLog((hardState ?? this.hardState).commit, lastAfter, 'append');
    } catch (error) {
      return Promise.reject(error);
    }
    const durable = this.commit.submit((sink) => {
      if (entries.length > 0) this.applyAppend(entries, sink);
      if (hardState !== undefined) {
        this.hardStateRecord.write(hardState, sink);
        this.hardState = hardState;
      }
    }, entries[0]?.index ?? Infinity);
    return durable.then(() => this.evictTail());
  }

  saveSnapshot(meta: SnapshotMeta): Promise<void> {
    let matches: boolean;
    try {
      this.checkWritable();
      checkSnapshotMeta(meta);
      if (meta.index < this.snapshot.index) throw new SnapshotOutOfDateError(meta.index, this.snapshot.index);
      matches = meta.index <= this.last && this.termAt(meta.index) === meta.term;
      checkCommitWithinLog(this.hardState.commit, matches ? this.last : meta.index, 'saveSnapshot');
    } catch (error) {
      return Promise.reject(error);
    }
    const durable = this.commit.submit((sink) => this.applySnapshot(meta, matches, sink), Infinity);
    // Only a durable snapshot makes the prefix garbage: clearing it earlier
    // could leave the old snapshot with a hole after a crash.
    return durable.then(() => this.collector.collectBelow(meta.index + 1));
  }

  /**
   * Waits for pending writes, loads and clears, then closes the database.
   * Idempotent; every other method fails with `StorageClosedError` from the
   * moment it is called.
   */
  close(): Promise<void> {
    this.closing ??= this.closeDatabase();
    return this.closing;
  }

  /** Resolves when every load started by `entries()` so far has finished; the next call for that range is then served from memory (or throws the load's error). */
  loadsSettled(): Promise<void> {
    this.checkOpen();
    return this.loader.settled();
  }

  /** Memory held by the caches. */
  stats(): LevelStorageStats {
    this.checkOpen();
    const loaded = this.loader.stats();
    return {
      tailEntries: this.tail.size,
      tailBytes: this.tail.bytes,
      loadedBytes: loaded.bytes,
      loadedSegments: loaded.segments,
      termRuns: this.runs.size,
      writes: this.commit.submits,
      batches: this.commit.batches,
    };
  }

  /** The term at `index`, for `snapshot.index <= index <= last`. */
  private termAt(index: Index): Term {
    if (index === this.snapshot.index) return this.snapshot.term;
    assert(index > this.snapshot.index && index <= this.last,
      () => `termAt(${index}) outside ${this.snapshot.index}..${this.last}`);
    return this.runs.termAt(index);
  }

  /** Entries from `low` that are in memory (tail or loaded ranges), up to `high` and `maxBytes`. */
  private residentEntries(low: Index, high: Index, maxBytes: number): Entry[] {
    const result: Entry[] = [];
    let bytes = 0;
    let index = low;
    while (index < high) {
      const run = this.tail.residentAt(index) ?? this.loader.residentAt(index);
      if (run === undefined) break;
      for (let offset = run.offset; offset < run.entries.length && index < high; offset++, index++) {
        const entry = run.entries[offset]!;
        assert(entry.index === index, () => `entries: resident entry ${entry.index} where ${index} was expected`);
        bytes += entrySizeBytes(entry);
        if (result.length > 0 && bytes > maxBytes) return result;
        result.push(entry);
      }
    }
    return result;
  }

  /** Updates the in-memory log for an append and puts its operations into `sink`. */
  private applyAppend(entries: readonly Entry[], sink: BatchSink): void {
    const first = entries[0]!;
    const lastNew = entries[entries.length - 1]!.index;
    if (first.index <= this.last) {
      // Every block key past the conflict goes: a block keyed at or below
      // `lastNew` would otherwise replace the new entries from its key on.
      // The block holding `first.index` may start below it; the new block
      // keyed at `first.index` replaces its entries from there (entry-blocks.ts).
      for (let index = first.index + 1; index <= this.last; index++) sink.del(entryKey(index));
      this.loader.truncateFrom(first.index);
    }
    pushTermRunChanges(sink, this.runs.append(entries));
    pushConfigChanges(sink, this.configs.append(entries));
    this.encoder.putAll(entries, sink);
    this.tail.append(entries);
    this.last = lastNew;
  }

  /** Updates the in-memory log for a snapshot and puts its operations into `sink`. */
  private applySnapshot(meta: SnapshotMeta, matches: boolean, sink: BatchSink): void {
    this.snapshotRecord.write(meta, sink);
    if (matches) {
      pushTermRunChanges(sink, this.runs.compactTo(meta.index + 1, this.last));
      pushConfigChanges(sink, this.configs.compactTo(meta.index + 1));
      this.tail.dropBefore(meta.index + 1);
      this.loader.dropBefore(meta.index + 1);
    } else {
      // The log does not match the snapshot: everything after it goes in this
      // batch (those keys would otherwise read as the log after a restart).
      // Entries at or below it become garbage, collected once this is durable.
      for (let index = meta.index + 1; index <= this.last; index++) sink.del(entryKey(index));
      // A block starting at or below the snapshot may hold entries past it: an empty block ends the log there.
      if (this.last > meta.index) this.encoder.putEnd(meta.index + 1, sink);
      pushTermRunChanges(sink, this.runs.clear());
      pushConfigChanges(sink, this.configs.clear());
      this.tail.clear();
      this.loader.clear();
      this.last = meta.index;
    }
    this.snapshot = meta;
  }

  private evictTail(): void {
    if (this.closing === null) this.tail.evict(this.options.tailCacheBytes, this.commit.pinnedFrom());
  }

  private checkEntrySizes(entries: readonly Entry[]): void {
    for (const entry of entries) {
      const size = entrySizeBytes(entry);
      if (size > this.options.maxEntryBytes) {
        throw new InvalidArgumentError(`append: entry ${entry.index} is ${size} bytes, over maxEntryBytes ${this.options.maxEntryBytes}`);
      }
    }
  }

  /**
   * Raft never commits past the end of a log, nor drops a committed entry
   * (`commitIndex <= lastIndex`, raft-notes §2 item 7). Refusing a write that
   * would break this keeps a runtime bug from reaching the disk, and lets open
   * treat a stored commit past the last entry as lost entries.
   */
  private async closeDatabase(): Promise<void> {
    await this.commit.idle();
    await this.loader.settled();
    await this.collector.idle();
    if (!this.ownsDb) {
      this.onClosed();
      return;
    }
    try {
      await this.db.close();
    } catch (error) {
      throw new StorageIOError(`cannot close storage at ${this.options.location}`, { cause: error });
    }
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new StorageClosedError();
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failure !== null) {
      throw new StorageIOError(`storage failed earlier and accepts no more writes: ${this.failure.message}`, { cause: this.failure });
    }
  }
}

function pushTermRunChanges(sink: BatchSink, changes: TermRunChanges): void {
  for (const start of changes.removed) sink.del(termRunKey(start));
  for (const run of changes.added) sink.put(termRunKey(run.start), encodeTermRun(run));
}

function pushConfigChanges(sink: BatchSink, changes: ConfigEntryChanges): void {
  for (const index of changes.removed) sink.del(configKey(index));
  for (const entry of changes.added) sink.put(configKey(entry.index), encodeConfigEntry(entry));
}
