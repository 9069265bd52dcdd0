/**
 * CRC-32 (the zlib / IEEE 802.3 polynomial) in JavaScript, for a few bytes at
 * a time. `zlib.crc32` is faster per byte but costs a native call with
 * argument checks; for the 9-byte key and the few header bytes of every
 * stored entry, a table lookup per byte is cheaper. Values chain exactly like
 * `zlib.crc32(data, value)`, so the two can be mixed over one stream.
 *
 * @packageDocumentation
 */

/** The byte-wise lookup table of the reflected polynomial 0xEDB88320. */
const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    table[byte] = crc >>> 0;
  }
  return table;
})();

/**
 * Continues the CRC-32 `value` (0 to start) over `bytes[start..end)`, like
 * `zlib.crc32(bytes.subarray(start, end), value)` but without a view or a
 * native call.
 */
export function crc32Bytes(bytes: Uint8Array, start: number, end: number, value: number): number {
  let crc = ~value;
  for (let at = start; at < end; at++) crc = TABLE[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
