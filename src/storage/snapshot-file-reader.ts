/**
 * Reading snapshot files (layout in snapshot-file-format.ts): the cheap
 * structural check that `open()` runs on every file, and the streaming read
 * that verifies the full checksum as the content goes by.
 *
 * @packageDocumentation
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Index, SnapshotMeta, Term } from '../core/types.js';
import { CorruptionError } from '../errors.js';
import {
  decodeHeaderLength,
  decodeSnapshotHeader,
  decodeSnapshotTrailer,
  FIXED_HEADER_BYTES,
  hex32,
  startContentChecksum,
  TRAILER_BYTES,
} from './snapshot-file-format.js';
import { ioError, readExactly } from './snapshot-file-io.js';

/** A snapshot file whose header and trailer verified. Its content checksum is verified only when it is read. */
export interface IntactSnapshotFile {
  readonly kind: 'intact';
  /** The file's full path; it names the file in errors. */
  readonly path: string;
  readonly index: Index;
  readonly term: Term;
  readonly meta: SnapshotMeta;
  /** Where the content starts. */
  readonly headerBytes: number;
  readonly contentBytes: number;
}

/** A snapshot file that failed its structural check at open. It is never `latest()`; reading it throws `damage`. */
export interface DamagedSnapshotFile {
  readonly kind: 'damaged';
  readonly path: string;
  /** As claimed by the file name. */
  readonly index: Index;
  readonly term: Term;
  readonly damage: CorruptionError;
}

/** A committed snapshot file as the store knows it. */
export type SnapshotFile = IntactSnapshotFile | DamagedSnapshotFile;

/**
 * Checks a committed file's structure without reading its content: magic,
 * version, header checksum, meta matching the file name, and a trailer whose
 * content length matches the file size (which catches truncation). A failed
 * check yields a damaged file; an I/O failure throws `StorageIOError`.
 */
export async function inspectSnapshotFile(directory: string, name: string, claimed: { index: Index; term: Term }): Promise<SnapshotFile> {
  const path = join(directory, name);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw ioError(`cannot open ${path}`, error);
  }
  try {
    const layout = await readLayout(handle, path, claimed);
    return { kind: 'intact', path, index: claimed.index, term: claimed.term, ...layout };
  } catch (error) {
    if (error instanceof CorruptionError) return { kind: 'damaged', path, index: claimed.index, term: claimed.term, damage: error };
    throw error;
  } finally {
    await handle.close();
  }
}

async function readLayout(
  handle: FileHandle,
  path: string,
  claimed: { index: Index; term: Term },
): Promise<{ meta: SnapshotMeta; headerBytes: number; contentBytes: number }> {
  let size: number;
  try {
    ({ size } = await handle.stat());
  } catch (error) {
    throw ioError(`cannot stat ${path}`, error);
  }
  if (size < FIXED_HEADER_BYTES + TRAILER_BYTES) {
    throw new CorruptionError(path, `file is ${size} bytes, shorter than an empty snapshot (${FIXED_HEADER_BYTES + TRAILER_BYTES})`);
  }
  const headerBytes = decodeHeaderLength(await readExactly(handle, 0, FIXED_HEADER_BYTES, path), path);
  if (headerBytes + TRAILER_BYTES > size) throw new CorruptionError(path, `file is ${size} bytes, too short for its ${headerBytes}-byte header and trailer`);
  const meta = decodeSnapshotHeader(await readExactly(handle, 0, headerBytes, path), path);
  if (meta.index !== claimed.index || meta.term !== claimed.term) {
    throw new CorruptionError(path, `header holds index ${meta.index} term ${meta.term}, the file name says index ${claimed.index} term ${claimed.term}`);
  }
  const trailer = decodeSnapshotTrailer(await readExactly(handle, size - TRAILER_BYTES, TRAILER_BYTES, path), path);
  const contentBytes = size - headerBytes - TRAILER_BYTES;
  if (trailer.contentBytes !== contentBytes) {
    throw new CorruptionError(path, `trailer records ${trailer.contentBytes} content bytes but the file holds ${contentBytes} (truncated or extended)`);
  }
  return { meta, headerBytes, contentBytes };
}

/**
 * Streams the content of `file` from an open handle in chunks of exactly
 * `chunkBytes` (the last may be shorter), each a new buffer. The checksum over
 * header and content is compared only after the last chunk, so a mismatch
 * throws `CorruptionError` at the end of the stream: a consumer must not act on
 * what it read until the stream has ended without an error.
 *
 * `checkOpen` runs before each chunk and throws when the store has closed.
 */
export async function* streamSnapshotContent(
  handle: FileHandle,
  file: IntactSnapshotFile,
  chunkBytes: number,
  checkOpen: () => void,
): AsyncGenerator<Uint8Array> {
  let checksum = startContentChecksum(await readExactly(handle, 0, file.headerBytes, file.path));
  const contentEnd = file.headerBytes + file.contentBytes;
  // Each pass reads at least one byte (readExactly fills the chunk or throws), so at most contentBytes passes.
  for (let position = file.headerBytes; position < contentEnd;) {
    checkOpen();
    const chunk = await readExactly(handle, position, Math.min(chunkBytes, contentEnd - position), file.path);
    checksum = crc32(chunk, checksum);
    position += chunk.byteLength;
    yield chunk;
  }
  checkOpen();
  const trailer = decodeSnapshotTrailer(await readExactly(handle, contentEnd, TRAILER_BYTES, file.path), file.path);
  if (trailer.contentBytes !== file.contentBytes) {
    throw new CorruptionError(file.path, `trailer records ${trailer.contentBytes} content bytes, expected ${file.contentBytes}`);
  }
  if (trailer.checksum !== checksum) {
    throw new CorruptionError(file.path, `checksum mismatch: stored ${hex32(trailer.checksum)}, computed ${hex32(checksum)}; discard everything read from this stream`);
  }
}
