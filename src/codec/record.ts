/**
 * The envelope around every value Keel stores on disk.
 *
 * Layout: `[format version: 1 byte][CRC32: 4 bytes, big-endian][msgpack body]`.
 * The checksum covers the record's key and body and is seeded with the format
 * version, so it depends on all three. Covering the key means a value that
 * ends up under the wrong key (a damaged key in a LevelDB block, a misdirected
 * write) fails the check instead of being read as the entry at another index.
 *
 * LevelDB checksums its own blocks but does not verify them on ordinary reads,
 * so this is the check that stands between a flipped bit and a wrong answer.
 *
 * @packageDocumentation
 */
import { Packr } from 'msgpackr';
import { CorruptionError } from '../errors.js';
import { crc32Bytes, crc32Range } from './crc32.js';

/** The only record format version this build reads and writes. */
export const RECORD_FORMAT_VERSION = 1;

/** Bytes before the msgpack body: version byte plus CRC32. */
export const RECORD_HEADER_BYTES = 5;

/**
 * One reusable encoder. `useRecords: false` keeps the output plain msgpack:
 * msgpackr's record extension would make a value's meaning depend on
 * structures held by the encoder, which a reader after a restart would not have.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Wraps `body` as a stored record for `key`. */
export function encodeRecord(key: Uint8Array, body: unknown): Buffer {
  // `pack` returns a view into packr's reusable buffer, valid until the next
  // call: copy it into the record at once.
  const packed = packr.pack(body);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + packed.byteLength);
  packed.copy(record, RECORD_HEADER_BYTES);
  return sealRecord(key, record);
}

/**
 * Completes a record whose msgpack body is already written at
 * {@link RECORD_HEADER_BYTES}: sets the version byte and the checksum. For
 * encoders that write the body in place (see entry-body.ts).
 */
export function sealRecord(key: Uint8Array, record: Buffer): Buffer {
  return sealRecordWithChecksum(record, recordChecksum(key, record));
}

/**
 * Sets the version byte and `checksum` (computed by the caller exactly as
 * {@link recordChecksum} would, see entry-body.ts) in a record.
 */
export function sealRecordWithChecksum(record: Buffer, checksum: number): Buffer {
  record[0] = RECORD_FORMAT_VERSION;
  record[1] = checksum >>> 24;
  record[2] = (checksum >>> 16) & 0xff;
  record[3] = (checksum >>> 8) & 0xff;
  record[4] = checksum & 0xff;
  return record;
}

/**
 * Verifies and unwraps a stored record. Throws {@link CorruptionError} naming
 * `keyLabel` when the record is too short, has an unknown format version, fails
 * its checksum or does not parse as msgpack.
 */
export function decodeRecord(key: Uint8Array, record: Uint8Array, keyLabel: string): unknown {
  return unpackBody(openRecord(key, record, keyLabel), keyLabel);
}

/**
 * Verifies a stored record's header and checksum and returns its msgpack body
 * (a view, not a copy). Throws {@link CorruptionError} naming `keyLabel`.
 */
export function openRecord(key: Uint8Array, record: Uint8Array, keyLabel: string): Uint8Array {
  if (record.byteLength < RECORD_HEADER_BYTES) {
    throw new CorruptionError(keyLabel, `record is ${record.byteLength} bytes, shorter than its ${RECORD_HEADER_BYTES}-byte header`);
  }
  const version = record[0];
  if (version !== RECORD_FORMAT_VERSION) {
    throw new CorruptionError(keyLabel, `unknown record format version ${String(version)} (this build reads ${RECORD_FORMAT_VERSION})`);
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const stored = view.getUint32(1);
  const computed = recordChecksum(key, record);
  if (stored !== computed) {
    throw new CorruptionError(keyLabel, `checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`);
  }
  return record.subarray(RECORD_HEADER_BYTES);
}

/** Parses a verified msgpack body. Throws {@link CorruptionError} naming `keyLabel` when it is not msgpack. */
export function unpackBody(body: Uint8Array, keyLabel: string): unknown {
  try {
    return packr.unpack(body);
  } catch (error) {
    throw new CorruptionError(keyLabel, 'record body is not valid msgpack', { cause: error });
  }
}

/**
 * CRC32 over the key and then the body (everything after the CRC field),
 * starting from the format version instead of 0. Seeding with the version
 * makes the checksum depend on it as if the version byte were checksummed,
 * with one native call fewer per record (this runs for every entry written
 * and read). Callers have checked or written the version byte, so it is
 * {@link RECORD_FORMAT_VERSION} here.
 */
export function recordChecksum(key: Uint8Array, record: Uint8Array): number {
  return crc32Range(record, RECORD_HEADER_BYTES, record.byteLength, crc32Bytes(key, 0, key.byteLength, RECORD_FORMAT_VERSION));
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
