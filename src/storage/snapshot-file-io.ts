/**
 * The file-system steps of `FileSnapshotStore`: error translation,
 * directory fsync, positioned reads that must be complete, and removals that
 * tolerate a file already gone.
 *
 * @packageDocumentation
 */
import { open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { CorruptionError, KeelError, StorageIOError } from '../errors.js';

/**
 * Errors of fsync on a directory that mean "not supported here" rather than
 * "failed": Windows cannot open a directory as a file (EISDIR, EPERM), and
 * some file systems refuse fsync on a directory (EINVAL). On those platforms
 * the rename itself is the best durability on offer.
 */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL']);

/** Translates a failed file-system call into a {@link StorageIOError} naming `what`; Keel errors pass through unchanged. */
export function ioError(what: string, error: unknown): KeelError {
  if (error instanceof KeelError) return error;
  return new StorageIOError(`snapshot store: ${what}: ${describe(error)}`, { cause: error });
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`), or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Makes the directory's entries durable (a rename or unlink inside it). POSIX
 * only promises that a rename survives a crash once the directory itself is
 * fsynced.
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has(errorCode(error) ?? '')) throw ioError(`cannot fsync directory ${directory}`, error);
  } finally {
    await handle?.close();
  }
}

/** Removes a file; one that is already gone counts as removed. */
export async function removeFile(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (error) {
    throw ioError(`cannot remove ${path}`, error);
  }
}

/**
 * Reads exactly `length` bytes at `position` into a new buffer. A file that
 * ends first is damaged (it was complete when committed): that is a
 * {@link CorruptionError} naming `file`, not an I/O error.
 */
export async function readExactly(handle: FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  // Each pass either fills more bytes or stops at the end of the file, so at most `length` passes.
  while (filled < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, filled, length - filled, position + filled));
    } catch (error) {
      throw ioError(`cannot read ${file} at byte ${position + filled}`, error);
    }
    if (bytesRead === 0) throw new CorruptionError(file, `file ends at byte ${position + filled}, expected ${length - filled} more bytes`);
    filled += bytesRead;
  }
  return buffer;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
