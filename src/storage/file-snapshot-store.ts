import { mkdir, open, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Index, SnapshotMeta } from '../core/types.js';
import { CorruptionError, InvalidArgumentError, StorageClosedError } from '../errors.js';
import { assert } from '../util/assert.js';
import { FileSnapshotWriter } from './file-snapshot-writer.js';
import type { FileWriterHost } from './file-snapshot-writer.js';
import { parseSnapshotFileName, TEMP_FILE_SUFFIX } from './snapshot-file-format.js';
import { errorCode, ioError, removeFile } from './snapshot-file-io.js';
import { inspectSnapshotFile, streamSnapshotContent } from './snapshot-file-reader.js';
import type { IntactSnapshotFile, SnapshotFile } from './snapshot-file-reader.js';
import type { SnapshotStore, SnapshotWriter } from './snapshot-store.js';
import {
  DEFAULT_READ_CHUNK_BYTES,
  KEPT_SNAPSHOTS,
  validateReadChunkBytes,
  validateSnapshotIndex,
  validateSnapshotMeta,
} from './snapshot-validate.js';

/**
 * A {@link SnapshotStore} that keeps each snapshot in one file of a
 * directory, written so that a crash never leaves a partial snapshot visible
 * (see file-snapshot-writer.ts and docs/snapshots.md).
 *
 * @remarks
 * - `latest()` is the intact snapshot with the highest index. Committing an
 *   older snapshot after a newer one keeps it readable, but not latest.
 * - After each commit only the two (`KEPT_SNAPSHOTS`) newest intact snapshots
 *   are kept; older files and files found damaged at open are deleted.
 * - A file that fails its structural check at open is skipped by `latest()`
 *   and `read()` of it throws `CorruptionError` naming the file. Damage inside
 *   the content shows only as a checksum mismatch at the end of `read()`.
 * - Content always streams through a file handle in chunks; a snapshot is
 *   never held in memory whole.
 * - One store per directory: two stores on the same directory are not
 *   coordinated.
 */
export class FileSnapshotStore implements SnapshotStore {
  /**
   * Every committed file the store knows, sorted by index, then term, highest
   * first. Invariant: after a commit, at most `KEPT_SNAPSHOTS` (2) files, all
   * intact, at distinct indexes. Right after open it may hold more (files left
   * by a crash before retention ran), which the next commit removes.
   */
  private files: SnapshotFile[];
  /** Writers that have not ended; closing the store ends them. */
  private readonly writers = new Set<FileSnapshotWriter>();
  /** Indexes with an open writer: one writer per index at a time. */
  private readonly writing = new Set<Index>();
  /** Handles of reads in progress; closing the store closes them. */
  private readonly readHandles = new Set<FileHandle>();
  private closed = false;
  private readonly host: FileWriterHost;

  private constructor(directory: string, files: SnapshotFile[]) {
    this.files = sortFiles(files);
    this.host = {
      directory,
      isClosed: () => this.closed,
      install: (file) => this.install(file),
      release: (writer) => this.release(writer),
    };
  }

  /**
   * Opens the store in `directory`, creating the directory if needed. Removes
   * the `.tmp` files of writes that never committed and checks the structure
   * of every snapshot file (not its content checksum, which `read()` verifies).
   * Throws `StorageIOError` when the directory cannot be created or listed.
   */
  static async open(directory: string): Promise<FileSnapshotStore> {
    if (typeof directory !== 'string' || directory.length === 0) throw new InvalidArgumentError('snapshot store: directory must be a non-empty string');
    let names: string[];
    try {
      await mkdir(directory, { recursive: true });
      names = await readdir(directory);
    } catch (error) {
      throw ioError(`cannot open directory ${directory}`, error);
    }
    const files: SnapshotFile[] = [];
    // Files whose names are not snapshot names are left alone.
    for (const name of names) {
      if (name.endsWith(TEMP_FILE_SUFFIX) && parseSnapshotFileName(name.slice(0, -TEMP_FILE_SUFFIX.length)) !== null) {
        await removeFile(join(directory, name));
        continue;
      }
      const claimed = parseSnapshotFileName(name);
      if (claimed !== null) files.push(await inspectSnapshotFile(directory, name, claimed));
    }
    return new FileSnapshotStore(directory, files);
  }

  latest(): SnapshotMeta | null {
    this.checkOpen();
    return this.intactFiles()[0]?.meta ?? null;
  }

  /** Starts a snapshot. Throws `InvalidArgumentError` for a malformed meta or when another writer for this index is open. */
  async create(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.checkOpen();
    const checked = validateSnapshotMeta(meta);
    if (this.writing.has(checked.index)) throw new InvalidArgumentError(`snapshot at index ${checked.index} is already being written`);
    this.writing.add(checked.index);
    let writer: FileSnapshotWriter;
    try {
      writer = await FileSnapshotWriter.start(this.host, checked);
    } catch (error) {
      this.writing.delete(checked.index);
      throw error;
    }
    if (this.closed) {
      // close() ran while the file was being created and could not see this writer.
      await writer.abort();
      throw new StorageClosedError();
    }
    this.writers.add(writer);
    return writer;
  }

  /**
   * Streams the content of the snapshot at `index` in chunks of exactly
   * `chunkBytes` (the last may be shorter; an empty snapshot yields none),
   * verifying the checksum on the way. A mismatch throws `CorruptionError`
   * after the last chunk, so **do not commit state restored from the stream
   * before it has ended without an error**.
   *
   * Argument, existence, damage found at open and closed checks throw at call
   * time. A snapshot that retention deletes before the first chunk is read
   * throws `InvalidArgumentError` then; once reading, it stays readable.
   */
  read(index: Index, chunkBytes: number = DEFAULT_READ_CHUNK_BYTES): AsyncIterable<Uint8Array> {
    this.checkOpen();
    validateSnapshotIndex(index);
    validateReadChunkBytes(chunkBytes);
    const atIndex = this.files.filter((file) => file.index === index);
    const intact = atIndex.find(isIntact);
    if (intact !== undefined) return this.stream(intact, chunkBytes);
    const damaged = atIndex[0];
    if (damaged === undefined) throw new InvalidArgumentError(`no snapshot at index ${index}`);
    assert(damaged.kind === 'damaged', () => `snapshot store: file at index ${index} is neither intact nor damaged`);
    throw new CorruptionError(damaged.damage.key, `snapshot at index ${index} is damaged: ${damaged.damage.message}`, { cause: damaged.damage });
  }

  /** Waits for commits in progress, aborts writers still writing and ends reads in progress. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const results = await Promise.allSettled([...this.writers].map((writer) => writer.closeForStore()));
    for (const handle of this.readHandles) await handle.close().catch(() => undefined);
    this.readHandles.clear();
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw ioError('cannot discard an unfinished snapshot while closing', failure.reason);
  }

  private async *stream(file: IntactSnapshotFile, chunkBytes: number): AsyncGenerator<Uint8Array> {
    this.checkOpen();
    const handle = await this.openForRead(file);
    this.readHandles.add(handle);
    try {
      yield* streamSnapshotContent(handle, file, chunkBytes, () => this.checkOpen());
    } catch (error) {
      // close() closes the handles of reads in progress; a read that was in
      // flight then fails with EBADF, which means "closed", not an I/O fault.
      throw this.closed ? new StorageClosedError() : error;
    } finally {
      this.readHandles.delete(handle);
      await handle.close().catch(() => undefined);
    }
  }

  private async openForRead(file: IntactSnapshotFile): Promise<FileHandle> {
    try {
      return await open(file.path, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new InvalidArgumentError(`snapshot at index ${file.index} was removed before it was read (${file.path})`);
      throw ioError(`cannot open ${file.path}`, error);
    }
  }

  /**
   * Records a committed file and applies retention: the new file replaces any
   * other at its index, the newest two (`KEPT_SNAPSHOTS`) intact snapshots are
   * kept, and every other file is deleted, damaged ones included. The commit
   * is durable before this runs, so a failed deletion is reported as such; the
   * file it left behind is found again by the next open.
   */
  private async install(file: IntactSnapshotFile): Promise<void> {
    const replaced = this.files.filter((other) => other.index === file.index && other.path !== file.path);
    const ranked = sortFiles([file, ...this.files.filter((other) => other.index !== file.index)]);
    const kept = ranked.filter(isIntact).slice(0, KEPT_SNAPSHOTS);
    const removed = [...replaced, ...ranked.filter((candidate) => !isIntact(candidate) || !kept.includes(candidate))];
    assert(kept.includes(file) || kept.length === KEPT_SNAPSHOTS, () => `snapshot store: retention dropped index ${file.index} with only ${kept.length} kept`);
    this.files = kept;
    const failures: unknown[] = [];
    for (const old of removed) await removeFile(old.path).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) {
      throw ioError(`the snapshot at index ${file.index} is committed, but ${failures.length} older snapshot file(s) could not be removed`, failures[0]);
    }
  }

  private release(writer: FileSnapshotWriter): void {
    this.writers.delete(writer);
    this.writing.delete(writer.index);
  }

  private intactFiles(): IntactSnapshotFile[] {
    return this.files.filter(isIntact);
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

/** Highest index first; at equal indexes, highest term first. */
function sortFiles(files: SnapshotFile[]): SnapshotFile[] {
  return [...files].sort((a, b) => b.index - a.index || b.term - a.term);
}

function isIntact(file: SnapshotFile): file is IntactSnapshotFile {
  return file.kind === 'intact';
}
