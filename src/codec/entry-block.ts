/**
 * The msgpack body of an entry block: several consecutive log entries stored
 * as one LevelDB value, `[[term, typeCode, data], …]`. The key holds the first
 * entry's index; entry `i` of the block has index `first + i`.
 *
 * One value per block instead of one per entry is what lets the log store
 * write faster than LevelDB's per-key ceiling: every key costs a memtable
 * insert and a native call through level, whatever its size. Like
 * entry-body.ts, this writes exactly the bytes msgpackr would write for the
 * same array (array header in its smallest form, each entry as in
 * entry-body.ts) and reads that form directly, leaving anything else to the
 * general decoder.
 *
 * @packageDocumentation
 */
import { crc32Bytes, crc32Range } from './crc32.js';
import { binHeaderBytes, readBinHeader, readUint, uintBytes, writeBinHeader, writeUint } from './entry-body.js';
import type { EntryBodyFields } from './entry-body.js';
import { assert } from '../util/assert.js';
import { RECORD_FORMAT_VERSION, RECORD_HEADER_BYTES, sealRecordWithChecksum } from './record.js';

/** One entry of a block, as the encoder needs it; its type code comes from the caller's `typeCodeOf`. */
export interface BlockEntry {
  readonly term: number;
  readonly data: Uint8Array;
}

const FIXARRAY_3 = 0x93;
const FIXARRAY_0 = 0x90;
const FIXARRAY_MAX = 15;
const ARRAY_16 = 0xdc;
const ARRAY_32 = 0xdd;

/** Bytes of an entry inside a block body. */
export function blockEntryBytes(term: number, typeCode: number, dataBytes: number): number {
  return 1 + uintBytes(term) + uintBytes(typeCode) + binHeaderBytes(dataBytes) + dataBytes;
}

/** Bytes of the array header for `count` entries. */
export function blockHeaderBytes(count: number): number {
  if (count <= FIXARRAY_MAX) return 1;
  return count <= 0xffff ? 3 : 5;
}

/**
 * Writes the whole record (envelope and body) of the block holding
 * `entries[from..to)` under `key` into `record`, which is exactly
 * `RECORD_HEADER_BYTES + blockHeaderBytes(to - from) + Σ blockEntryBytes` long,
 * and returns it. `from === to` writes an empty block.
 */
export function writeEntryBlock<T extends BlockEntry>(
  record: Buffer,
  key: Uint8Array,
  entries: readonly T[],
  from: number,
  to: number,
  typeCodeOf: (entry: T) => number,
): Buffer {
  let at = writeArrayHeader(record, RECORD_HEADER_BYTES, to - from);
  for (let i = from; i < to; i++) {
    const entry = entries[i]!;
    record[at++] = FIXARRAY_3;
    at = writeUint(record, at, entry.term);
    at = writeUint(record, at, typeCodeOf(entry));
    at = writeBinHeader(record, at, entry.data.byteLength);
    record.set(entry.data, at);
    at += entry.data.byteLength;
  }
  if (at !== record.byteLength) assert(false, `entry block: ${record.byteLength}-byte buffer for a ${at}-byte record`);
  const checksum = crc32Range(record, RECORD_HEADER_BYTES, at, crc32Bytes(key, 0, key.byteLength, RECORD_FORMAT_VERSION));
  return sealRecordWithChecksum(record, checksum);
}

/**
 * Reads a block body in exactly the form {@link writeEntryBlock} writes.
 * Returns undefined for anything else, for the caller's general decoder. Each
 * `data` is a plain `Uint8Array` view into `body`'s memory.
 */
export function readCanonicalEntryBlock(body: Uint8Array): EntryBodyFields[] | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const header = readArrayHeader(body, view);
  if (header === undefined) return undefined;
  const fields: EntryBodyFields[] = [];
  let at = header.next;
  for (let i = 0; i < header.count; i++) {
    if (body[at] !== FIXARRAY_3) return undefined;
    const term = readUint(body, view, at + 1);
    if (term === undefined) return undefined;
    const typeCode = readUint(body, view, term.next);
    if (typeCode === undefined) return undefined;
    const bin = readBinHeader(body, view, typeCode.next);
    if (bin === undefined || bin.start + bin.length > body.byteLength) return undefined;
    fields.push([term.value, typeCode.value, new Uint8Array(body.buffer, body.byteOffset + bin.start, bin.length)]);
    at = bin.start + bin.length;
  }
  return at === body.byteLength ? fields : undefined;
}

function writeArrayHeader(out: Buffer, at: number, count: number): number {
  if (count <= FIXARRAY_MAX) {
    out[at] = FIXARRAY_0 | count;
    return at + 1;
  }
  if (count <= 0xffff) {
    out[at] = ARRAY_16;
    out.writeUInt16BE(count, at + 1);
    return at + 3;
  }
  out[at] = ARRAY_32;
  out.writeUInt32BE(count, at + 1);
  return at + 5;
}

/** The array header in the smallest form {@link writeArrayHeader} would choose; anything else is not canonical. */
function readArrayHeader(body: Uint8Array, view: DataView): { count: number; next: number } | undefined {
  const tag = body[0];
  if (tag === undefined) return undefined;
  if ((tag & 0xf0) === FIXARRAY_0) return { count: tag & 0x0f, next: 1 };
  if (tag === ARRAY_16 && body.byteLength >= 3) {
    const count = view.getUint16(1);
    return count > FIXARRAY_MAX ? { count, next: 3 } : undefined;
  }
  if (tag === ARRAY_32 && body.byteLength >= 5) {
    const count = view.getUint32(1);
    return count > 0xffff ? { count, next: 5 } : undefined;
  }
  return undefined;
}
