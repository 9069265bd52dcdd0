/**
 * The msgpack body of a stored log entry, `[term, typeCode, data]`, written
 * and read by hand. The index is not repeated in the body: the key holds it,
 * and the record checksum covers the key, so a value read under another key
 * fails its check.
 *
 * Storage format 1 stored one such record per entry; format 2 stores entry
 * blocks (entry-block.ts), whose entries have this same layout and are
 * written and read with the helpers exported here. This module's whole-record
 * functions remain for reading format-1 databases and for tests.
 *
 * Entries are written and read by the thousand (every append, and the tail at
 * every open), and msgpackr's general encoder costs a few
 * microseconds per call, which shows against a synced batch. The layout is
 * fixed, so this writes the same bytes msgpackr does — a fixarray of three,
 * unsigned integers in their smallest form (float64 above 2^32, as msgpackr
 * writes integers that do not fit 32 bits), a bin8/16/32 — straight into the
 * record buffer. The tests check byte equality with msgpackr. Reading takes
 * the same fast path for bodies in exactly that form and hands anything else
 * to msgpackr, so a body this code did not write still decodes (or fails)
 * exactly as msgpack.
 *
 * @packageDocumentation
 */
import { crc32 } from 'node:zlib';
import { crc32Bytes, CRC_NATIVE_FROM_BYTES } from './crc32.js';
import { assert } from '../util/assert.js';
import { RECORD_FORMAT_VERSION, RECORD_HEADER_BYTES, sealRecordWithChecksum } from './record.js';

/** The fields of an entry body, as stored. */
export type EntryBodyFields = readonly [term: number, typeCode: number, data: Uint8Array];

const FIXARRAY_3 = 0x93;
const UINT_8 = 0xcc;
const UINT_16 = 0xcd;
const UINT_32 = 0xce;
const FLOAT_64 = 0xcb;
const BIN_8 = 0xc4;
const BIN_16 = 0xc5;
const BIN_32 = 0xc6;
const POSITIVE_FIXINT_MAX = 0x7f;
const UINT32_RANGE = 0x1_0000_0000;

/** Builds the whole record (header and body) of an entry stored under `key`. */
export function encodeEntryRecord(key: Uint8Array, term: number, typeCode: number, data: Uint8Array): Buffer {
  return writeEntryRecord(Buffer.allocUnsafe(entryRecordBytes(term, typeCode, data.byteLength)), key, term, typeCode, data);
}

/** The size of an entry's whole record. */
export function entryRecordBytes(term: number, typeCode: number, dataBytes: number): number {
  return RECORD_HEADER_BYTES + 1 + uintBytes(term) + uintBytes(typeCode) + binHeaderBytes(dataBytes) + dataBytes;
}

/**
 * Writes the whole record of an entry stored under `key` into `record`, which
 * is exactly {@link entryRecordBytes} long, and returns it.
 */
export function writeEntryRecord(record: Buffer, key: Uint8Array, term: number, typeCode: number, data: Uint8Array): Buffer {
  const size = record.byteLength;
  let at = RECORD_HEADER_BYTES;
  record[at++] = FIXARRAY_3;
  at = writeUint(record, at, term);
  at = writeUint(record, at, typeCode);
  at = writeBinHeader(record, at, data.byteLength);
  // Checked without assert's message closure: this runs for every entry written.
  if (at + data.byteLength !== size) assert(false, `entry record: ${size}-byte buffer for a ${at + data.byteLength}-byte record`);
  record.set(data, at);
  // The same value as recordChecksum: the key, then the body. A short body is
  // checksummed in JavaScript straight from the record; a long one hands the
  // payload (the caller's own array, no view needed) to zlib in one call.
  const overKey = crc32Bytes(key, 0, key.byteLength, RECORD_FORMAT_VERSION);
  const checksum = size - RECORD_HEADER_BYTES < CRC_NATIVE_FROM_BYTES
    ? crc32Bytes(record, RECORD_HEADER_BYTES, size, overKey)
    : crc32(data, crc32Bytes(record, RECORD_HEADER_BYTES, at, overKey));
  return sealRecordWithChecksum(record, checksum);
}

/**
 * Reads a body in exactly the form {@link encodeEntryRecord} writes. Returns
 * undefined for anything else (another encoder's msgpack, damage that the
 * checksum did not catch); the caller then falls back to a general msgpack
 * decoder. `data` is a view into `body`.
 */
export function readCanonicalEntryBody(body: Uint8Array): EntryBodyFields | undefined {
  if (body[0] !== FIXARRAY_3) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const term = readUint(body, view, 1);
  if (term === undefined) return undefined;
  const typeCode = readUint(body, view, term.next);
  if (typeCode === undefined) return undefined;
  const bin = readBinHeader(body, view, typeCode.next);
  if (bin === undefined || bin.start + bin.length !== body.byteLength) return undefined;
  return [term.value, typeCode.value, body.subarray(bin.start)];
}

export function uintBytes(value: number): number {
  if (value <= POSITIVE_FIXINT_MAX) return 1;
  if (value <= 0xff) return 2;
  if (value <= 0xffff) return 3;
  return value < UINT32_RANGE ? 5 : 9;
}

export function binHeaderBytes(length: number): number {
  if (length <= 0xff) return 2;
  return length <= 0xffff ? 3 : 5;
}

export function writeUint(out: Buffer, at: number, value: number): number {
  if (value <= POSITIVE_FIXINT_MAX) {
    out[at] = value;
    return at + 1;
  }
  if (value <= 0xff) {
    out[at] = UINT_8;
    out[at + 1] = value;
    return at + 2;
  }
  if (value <= 0xffff) {
    out[at] = UINT_16;
    out.writeUInt16BE(value, at + 1);
    return at + 3;
  }
  if (value < UINT32_RANGE) {
    out[at] = UINT_32;
    out.writeUInt32BE(value, at + 1);
    return at + 5;
  }
  out[at] = FLOAT_64;
  out.writeDoubleBE(value, at + 1);
  return at + 9;
}

export function writeBinHeader(out: Buffer, at: number, length: number): number {
  if (length <= 0xff) {
    out[at] = BIN_8;
    out[at + 1] = length;
    return at + 2;
  }
  if (length <= 0xffff) {
    out[at] = BIN_16;
    out.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  out[at] = BIN_32;
  out.writeUInt32BE(length, at + 1);
  return at + 5;
}

/** An unsigned integer in the smallest form {@link writeUint} would choose; anything else is not canonical. */
export function readUint(body: Uint8Array, view: DataView, at: number): { value: number; next: number } | undefined {
  const tag = body[at];
  if (tag === undefined) return undefined;
  if (tag <= POSITIVE_FIXINT_MAX) return { value: tag, next: at + 1 };
  if (tag === UINT_8 && at + 2 <= body.byteLength) return canonical(view.getUint8(at + 1), at + 2, 0x80);
  if (tag === UINT_16 && at + 3 <= body.byteLength) return canonical(view.getUint16(at + 1), at + 3, 0x100);
  if (tag === UINT_32 && at + 5 <= body.byteLength) return canonical(view.getUint32(at + 1), at + 5, 0x1_0000);
  if (tag === FLOAT_64 && at + 9 <= body.byteLength) {
    const value = view.getFloat64(at + 1);
    return Number.isSafeInteger(value) && value >= UINT32_RANGE ? { value, next: at + 9 } : undefined;
  }
  return undefined;
}

function canonical(value: number, next: number, minimum: number): { value: number; next: number } | undefined {
  return value >= minimum ? { value, next } : undefined;
}

export function readBinHeader(body: Uint8Array, view: DataView, at: number): { start: number; length: number } | undefined {
  const tag = body[at];
  if (tag === BIN_8 && at + 2 <= body.byteLength) return { start: at + 2, length: view.getUint8(at + 1) };
  if (tag === BIN_16 && at + 3 <= body.byteLength) return { start: at + 3, length: view.getUint16(at + 1) };
  if (tag === BIN_32 && at + 5 <= body.byteLength) return { start: at + 5, length: view.getUint32(at + 1) };
  return undefined;
}
