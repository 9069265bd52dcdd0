/**
 * The writer of `FileSnapshotStore`: streams a snapshot into
 * `<final name>.tmp` and, on commit, makes it durable and visible in one
 * rename. The steps, and why each one is there:
 *
 * 1. `open(tmp, 'wx')` and write the header: the temporary name is never read,
 *    so a crash at any point before the rename leaves no visible snapshot (the
 *    leftover is removed at the next open).
 * 2. `write()` appends content at tracked positions and folds each chunk into
 *    the CRC as it arrives; nothing is buffered beyond the chunk in flight.
 * 3. `commit()` appends the trailer and fsyncs the file, so that its bytes are
 *    on disk before any name points at them;
 * 4. renames it to the final name (atomic within a directory);
 * 5. and fsyncs the directory, so that the rename itself survives a crash.
 *
 * @packageDocumentation
 */
import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Index, SnapshotMeta } from '../core/types.js';
import { InvalidArgumentError, StorageClosedError } from '../errors.js';
import { encodeSnapshotHeader, encodeSnapshotTrailer, snapshotFileName, startContentChecksum, TEMP_FILE_SUFFIX } from './snapshot-file-format.js';
import { errorCode, ioError, removeFile, syncDirectory } from './snapshot-file-io.js';
import type { IntactSnapshotFile } from './snapshot-file-reader.js';
import type { SnapshotWriter } from './snapshot-store.js';
import { validateSnapshotChunk } from './snapshot-validate.js';

/** What a writer needs from its store. */
export interface FileWriterHost {
  readonly directory: string;
  isClosed(): boolean;
  /** Records a committed file and applies retention. */
  install(file: IntactSnapshotFile): Promise<void>;
  /** Forgets the writer once it has ended, whichever way. */
  release(writer: FileSnapshotWriter): void;
}

type WriterState = 'writing' | 'committing' | 'ended';

/** A {@link SnapshotWriter} that writes one snapshot file; made by `FileSnapshotStore.create()`. */
export class FileSnapshotWriter implements SnapshotWriter {
  private state: WriterState = 'writing';
  /** Content bytes accepted so far; the next chunk lands at `headerBytes + contentBytes`. */
  private contentBytes = 0;
  /** CRC32 over the header and every chunk accepted so far, in order. */
  private checksum: number;
  /** The last chunk write; each write chains onto it, so writes land in order even when callers do not await them. */
  private lastWrite: Promise<void> = Promise.resolve();
  /** Set while `commit()` runs, so that closing the store can wait for it instead of pulling the file away. */
  private committing: Promise<void> | null = null;

  private constructor(
    private readonly host: FileWriterHost,
    private readonly meta: SnapshotMeta,
    private readonly handle: FileHandle,
    private readonly header: Buffer,
  ) {
    this.checksum = startContentChecksum(header);
  }

  /** Creates the temporary file and writes the header. Throws `InvalidArgumentError` when the same snapshot is already being written. */
  static async start(host: FileWriterHost, meta: SnapshotMeta): Promise<FileSnapshotWriter> {
    const header = encodeSnapshotHeader(meta);
    const tempPath = join(host.directory, snapshotFileName(meta) + TEMP_FILE_SUFFIX);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (error) {
      if (errorCode(error) === 'EEXIST') throw new InvalidArgumentError(`snapshot at index ${meta.index} is already being written (${tempPath} exists)`);
      throw ioError(`cannot create ${tempPath}`, error);
    }
    try {
      await handle.write(header, 0, header.byteLength, 0);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await removeFile(tempPath).catch(() => undefined);
      throw ioError(`cannot write the header of ${tempPath}`, error);
    }
    return new FileSnapshotWriter(host, meta, handle, header);
  }

  /** The index of the snapshot being written. */
  get index(): Index {
    return this.meta.index;
  }

  /** The file's final path. */
  get finalPath(): string {
    return join(this.host.directory, snapshotFileName(this.meta));
  }

  private get tempPath(): string {
    return this.finalPath + TEMP_FILE_SUFFIX;
  }

  /**
   * Appends a chunk. The chunk is written, not copied: do not change it
   * until the returned promise resolves.
   */
  write(chunk: Uint8Array): Promise<void> {
    try {
      this.checkWritable('write');
      validateSnapshotChunk(chunk);
    } catch (error) {
      return Promise.reject(error);
    }
    if (chunk.byteLength === 0) return this.lastWrite;
    const position = this.header.byteLength + this.contentBytes;
    this.contentBytes += chunk.byteLength;
    this.checksum = crc32(chunk, this.checksum);
    const written = this.lastWrite.then(async () => {
      try {
        await this.handle.write(chunk, 0, chunk.byteLength, position);
      } catch (error) {
        throw this.host.isClosed() ? new StorageClosedError() : ioError(`cannot write ${this.tempPath} at byte ${position}`, error);
      }
    });
    this.lastWrite = written;
    return written;
  }

  /** Makes the snapshot durable and visible (steps 3 to 5 above), then lets the store drop older snapshots. */
  async commit(): Promise<void> {
    this.checkWritable('commit');
    this.state = 'committing';
    this.committing = this.persist();
    try {
      await this.committing;
    } finally {
      this.state = 'ended';
      this.committing = null;
      this.host.release(this);
    }
  }

  /** Discards the temporary file. A no-op once the writer has ended (committed, aborted, or its store closed). */
  async abort(): Promise<void> {
    if (this.state === 'ended') return;
    if (this.state === 'committing') throw new InvalidArgumentError(`snapshot abort: the snapshot at index ${this.meta.index} is being committed`);
    this.state = 'ended';
    try {
      await this.discard();
    } finally {
      this.host.release(this);
    }
  }

  /** Called by the store's `close()`: waits for a commit in progress, aborts a writer that is still writing. */
  async closeForStore(): Promise<void> {
    if (this.committing !== null) {
      await this.committing.catch(() => undefined);
      return;
    }
    await this.abort();
  }

  private async persist(): Promise<void> {
    let renamed = false;
    try {
      await this.lastWrite;
      const trailer = encodeSnapshotTrailer(this.contentBytes, this.checksum);
      await this.handle.write(trailer, 0, trailer.byteLength, this.header.byteLength + this.contentBytes);
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.finalPath);
      renamed = true;
      await syncDirectory(this.host.directory);
    } catch (error) {
      // The commit failed: leave no trace, under either name, so that what is
      // on disk matches what the caller was told.
      await this.discard().catch(() => undefined);
      if (renamed) await removeFile(this.finalPath).catch(() => undefined);
      throw ioError(`cannot commit the snapshot at index ${this.meta.index}`, error);
    }
    const headerBytes = this.header.byteLength;
    await this.host.install({ kind: 'intact', path: this.finalPath, index: this.meta.index, term: this.meta.term, meta: this.meta, headerBytes, contentBytes: this.contentBytes });
  }

  /** Closes the handle (after any write in flight) and removes the temporary file. */
  private async discard(): Promise<void> {
    await this.lastWrite.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await removeFile(this.tempPath);
  }

  private checkWritable(operation: string): void {
    if (this.host.isClosed()) throw new StorageClosedError();
    if (this.state !== 'writing') throw new InvalidArgumentError(`snapshot ${operation}: the writer for index ${this.meta.index} has already ended`);
  }
}
