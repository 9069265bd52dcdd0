/**
 * CRC-32 (the zlib / IEEE 802.3 polynomial) in plain JavaScript, for any
 * input length and any platform: the runtime's browser path (the
 * playground) uses it where Node would call `zlib.crc32`. Values chain
 * exactly like `zlib.crc32(data, value)`, so the two can be mixed over one
 * stream; crc32.ts adds the native path for long inputs under Node.
 *
 * The table-driven loop reads eight bytes per step ("slicing by 8", eight
 * 256-entry tables), which measured about 3 times faster than one byte per step.
 *
 * @packageDocumentation
 */

/**
 * Eight lookup tables of the reflected polynomial 0xEDB88320, one after the
 * other: table 0 is the classic byte-wise table; table k advances a byte's
 * contribution past k more zero bytes.
 */
const TABLES: Int32Array = (() => {
  const tables = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    tables[byte] = crc;
  }
  for (let table = 1; table < 8; table++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(table - 1) * 256 + byte]!;
      tables[table * 256 + byte] = tables[previous & 0xff]! ^ (previous >>> 8);
    }
  }
  return tables;
})();

/**
 * Continues the CRC-32 `value` (0 to start) over `bytes[start..end)`, like
 * `zlib.crc32(bytes.subarray(start, end), value)` but in JavaScript, without
 * a view or a native call.
 */
export function crc32Bytes(bytes: Uint8Array, start: number, end: number, value: number): number {
  const t = TABLES;
  let crc = ~value;
  let at = start;
  for (const blocksEnd = start + ((end - start) & ~7); at < blocksEnd; at += 8) {
    const low = crc ^ (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24));
    crc = t[1792 + (low & 0xff)]! ^ t[1536 + ((low >>> 8) & 0xff)]! ^ t[1280 + ((low >>> 16) & 0xff)]! ^ t[1024 + (low >>> 24)]! ^
      t[768 + bytes[at + 4]!]! ^ t[512 + bytes[at + 5]!]! ^ t[256 + bytes[at + 6]!]! ^ t[bytes[at + 7]!]!;
  }
  for (; at < end; at++) crc = t[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
