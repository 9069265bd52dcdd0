/**
 * CRC-32 (the zlib / IEEE 802.3 polynomial) in JavaScript, for short inputs.
 * `zlib.crc32` is faster per byte but every call pays for a native transition
 * and argument checks (about 100 ns on the benchmark machine); the key, the
 * header bytes and the payload of a typical stored entry are shorter than the
 * point where that pays off. Values chain exactly like
 * `zlib.crc32(data, value)`, so the two can be mixed over one stream.
 *
 * The JavaScript half lives in crc32-js.ts, which imports nothing Node-only.
 *
 * @packageDocumentation
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32Bytes } from './crc32-js.js';

export { crc32Bytes } from './crc32-js.js';

/** Inputs at least this long go to `zlib.crc32`: measured crossover on the benchmark machine, about 180 bytes. */
export const CRC_NATIVE_FROM_BYTES = 192;

/**
 * {@link crc32Bytes} for inputs of any length: short ranges in JavaScript,
 * long ones with one `zlib.crc32` call.
 */
export function crc32Range(bytes: Uint8Array, start: number, end: number, value: number): number {
  if (end - start < CRC_NATIVE_FROM_BYTES) return crc32Bytes(bytes, start, end, value);
  return zlibCrc32(bytes.subarray(start, end), value);
}
