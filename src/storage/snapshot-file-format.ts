/**
 * The on-disk layout of one snapshot file of `FileSnapshotStore`. Pure
 * encoding and decoding of buffers; the file I/O lives elsewhere.
 *
 * ```
 * offset  bytes  field
 * 0       8      magic "KEELSNAP"
 * 8       1      format version (1)
 * 9       4      header length H in bytes, fixed part included (uint32 BE)
 * 13      4      header CRC32 over bytes 0..13 and the meta (uint32 BE)
 * 17      H-17   SnapshotMeta, msgpack: { index, term, membership: { voters, learners?, outgoingVoters?, autoLeave? } }
 * H       N      content, exactly as written
 * H+N     8      content length N (uint64 BE)
 * H+N+8   4      CRC32 over the header (bytes 0..H) and the content (uint32 BE)
 * ```
 *
 * Why two checksums: the header CRC lets `open()` trust a file's meta and
 * `latest()` without reading the content, which may be gigabytes; the trailer
 * CRC, verified while the content streams, covers everything else. A file that
 * was cut short fails the trailer's length check, so it is found at open too.
 *
 * @packageDocumentation
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { plainMembership } from '../confchange/encoding.js';
import type { Index, SnapshotMeta, Term } from '../core/types.js';
import { CorruptionError } from '../errors.js';
import { copySnapshotMeta, describeInvalidSnapshotMeta } from './snapshot-validate.js';

/** The first 8 bytes of every snapshot file. */
export const SNAPSHOT_MAGIC: Readonly<Buffer> = Buffer.from('KEELSNAP', 'latin1');

/** The only snapshot file format version this build reads and writes. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/** Bytes of the fixed part of the header: magic, version, header length, header CRC. */
export const FIXED_HEADER_BYTES = 17;

/** The largest header accepted: a bound on what `open()` reads before trusting a file. */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** Bytes of the trailer: content length and CRC32. */
export const TRAILER_BYTES = 12;

/** Suffix of a committed snapshot file. */
export const SNAPSHOT_FILE_SUFFIX = '.snap';

/** Suffix of a snapshot being written; such a file is never read and is removed at open. */
export const TEMP_FILE_SUFFIX = '.tmp';

const VERSION_OFFSET = 8;
const HEADER_LENGTH_OFFSET = 9;
const HEADER_CRC_OFFSET = 13;
const FILE_NAME_PATTERN = /^snapshot-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TWO_POW_32 = 2 ** 32;

/** Plain msgpack without msgpackr's record extension, so a file decodes the same in any process (see src/codec/record.ts). */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** The name of the committed file of a snapshot: `snapshot-<index as 16 hex>-<term as 16 hex>.snap`, which sorts by index. */
export function snapshotFileName(meta: Pick<SnapshotMeta, 'index' | 'term'>): string {
  return `snapshot-${hex64(meta.index)}-${hex64(meta.term)}${SNAPSHOT_FILE_SUFFIX}`;
}

/** The index and term a snapshot file name claims, or null when `name` is not a snapshot file name. */
export function parseSnapshotFileName(name: string): { index: Index; term: Term } | null {
  const match = FILE_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const index = Number.parseInt(match[1]!, 16);
  const term = Number.parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return null;
  return { index, term };
}

/** Encodes the whole header (fixed part and meta) of a snapshot file for `meta`. */
export function encodeSnapshotHeader(meta: SnapshotMeta): Buffer {
  const body = packr.pack({ index: meta.index, term: meta.term, membership: plainMembership(meta.membership) });
  const headerBytes = FIXED_HEADER_BYTES + body.byteLength;
  if (headerBytes > MAX_HEADER_BYTES) throw new RangeError(`snapshot header of ${headerBytes} bytes exceeds ${MAX_HEADER_BYTES}`);
  const header = Buffer.alloc(headerBytes);
  SNAPSHOT_MAGIC.copy(header, 0);
  header[VERSION_OFFSET] = SNAPSHOT_FORMAT_VERSION;
  header.writeUInt32BE(headerBytes, HEADER_LENGTH_OFFSET);
  body.copy(header, FIXED_HEADER_BYTES);
  header.writeUInt32BE(headerChecksum(header), HEADER_CRC_OFFSET);
  return header;
}

/**
 * Checks the fixed part of a header (magic and version) and returns the
 * header length it declares. `file` names the file in errors.
 */
export function decodeHeaderLength(fixed: Uint8Array, file: string): number {
  if (fixed.byteLength < FIXED_HEADER_BYTES) {
    throw new CorruptionError(file, `file is ${fixed.byteLength} bytes, shorter than the ${FIXED_HEADER_BYTES}-byte fixed header`);
  }
  const bytes = Buffer.from(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  if (!bytes.subarray(0, VERSION_OFFSET).equals(SNAPSHOT_MAGIC)) throw new CorruptionError(file, 'bad magic: not a Keel snapshot file');
  const version = bytes[VERSION_OFFSET];
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new CorruptionError(file, `unknown snapshot format version ${String(version)} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const headerBytes = bytes.readUInt32BE(HEADER_LENGTH_OFFSET);
  if (headerBytes < FIXED_HEADER_BYTES || headerBytes > MAX_HEADER_BYTES) {
    throw new CorruptionError(file, `header length ${headerBytes} is outside ${FIXED_HEADER_BYTES}..${MAX_HEADER_BYTES}`);
  }
  return headerBytes;
}

/** Verifies a whole header (as sized by {@link decodeHeaderLength}) and returns the meta it holds. */
export function decodeSnapshotHeader(header: Uint8Array, file: string): SnapshotMeta {
  const headerBytes = decodeHeaderLength(header, file);
  if (header.byteLength !== headerBytes) throw new CorruptionError(file, `header is ${header.byteLength} bytes, expected ${headerBytes}`);
  const bytes = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  const stored = bytes.readUInt32BE(HEADER_CRC_OFFSET);
  const computed = headerChecksum(bytes);
  if (stored !== computed) throw new CorruptionError(file, `header checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`);
  let body: unknown;
  try {
    body = packr.unpack(bytes.subarray(FIXED_HEADER_BYTES));
  } catch (error) {
    throw new CorruptionError(file, 'header meta is not valid msgpack', { cause: error });
  }
  const problem = describeInvalidSnapshotMeta(body);
  if (problem !== null) throw new CorruptionError(file, `header meta: ${problem}`);
  return copySnapshotMeta(body as SnapshotMeta);
}

/** Encodes the trailer: the content length and the CRC32 over header and content. */
export function encodeSnapshotTrailer(contentBytes: number, checksum: number): Buffer {
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32BE(Math.floor(contentBytes / TWO_POW_32), 0);
  trailer.writeUInt32BE(contentBytes % TWO_POW_32, 4);
  trailer.writeUInt32BE(checksum >>> 0, 8);
  return trailer;
}

/** Decodes a trailer. Its values are checked against the file by the caller. */
export function decodeSnapshotTrailer(trailer: Uint8Array, file: string): { contentBytes: number; checksum: number } {
  if (trailer.byteLength !== TRAILER_BYTES) throw new CorruptionError(file, `trailer is ${trailer.byteLength} bytes, expected ${TRAILER_BYTES}`);
  const bytes = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  const contentBytes = bytes.readUInt32BE(0) * TWO_POW_32 + bytes.readUInt32BE(4);
  if (!Number.isSafeInteger(contentBytes)) throw new CorruptionError(file, 'trailer content length is not a safe integer');
  return { contentBytes, checksum: bytes.readUInt32BE(8) };
}

/** Starts the trailer CRC of a file: the CRC32 of its header. Content chunks are then folded in with `crc32(chunk, previous)`. */
export function startContentChecksum(header: Uint8Array): number {
  return crc32(header);
}

/** Formats a CRC32 for messages. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

/** CRC32 over the header without its own CRC field. */
function headerChecksum(header: Buffer): number {
  return crc32(header.subarray(FIXED_HEADER_BYTES), crc32(header.subarray(0, HEADER_CRC_OFFSET)));
}

function hex64(value: number): string {
  return value.toString(16).padStart(16, '0');
}
