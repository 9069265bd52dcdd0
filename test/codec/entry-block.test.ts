import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockEntryBytes, blockHeaderBytes, readCanonicalEntryBlock, writeEntryBlock } from '../../src/codec/entry-block.js';
import { encodeRecord, openRecord, RECORD_HEADER_BYTES } from '../../src/codec/record.js';

const key = Uint8Array.of(0x65, 0, 0, 0, 0, 0, 0, 0, 1);

const unsigned = fc.oneof(fc.nat(300), fc.constantFrom(127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32), fc.maxSafeNat());
interface TestEntry { readonly term: number; readonly typeCode: number; readonly data: Uint8Array }
const blockEntry: fc.Arbitrary<TestEntry> = fc.record({ term: unsigned, typeCode: fc.nat(3), data: fc.uint8Array({ maxLength: 300 }) });
/** Counts around the array header's boundaries (15/16 entries) and the empty block. */
const blocks = fc.oneof(fc.array(blockEntry, { maxLength: 20 }), fc.integer({ min: 14, max: 17 }).chain((n) => fc.array(blockEntry, { minLength: n, maxLength: n })));

function encode(entries: readonly TestEntry[]): Buffer {
  const size = RECORD_HEADER_BYTES + blockHeaderBytes(entries.length) + entries.reduce((sum, e) => sum + blockEntryBytes(e.term, e.typeCode, e.data.byteLength), 0);
  return writeEntryBlock(Buffer.allocUnsafe(size), key, entries, 0, entries.length, (e) => e.typeCode);
}

describe('entry block codec', () => {
  it('writes exactly the bytes msgpackr writes for [[term, type, data], …]', () => {
    fc.assert(
      fc.property(blocks, (entries) => {
        expect(encode(entries).equals(encodeRecord(key, entries.map((e) => [e.term, e.typeCode, e.data])))).toBe(true);
      }),
    );
  });

  it('writes blocks of more than 65,535 entries with a 32-bit count, as msgpackr does', () => {
    const entries = Array.from({ length: 65_536 }, (_, i) => ({ term: 1, typeCode: 0, data: Uint8Array.of(i & 0xff) }));
    expect(encode(entries).equals(encodeRecord(key, entries.map((e) => [e.term, e.typeCode, e.data])))).toBe(true);
  });

  it('reads back what it wrote, each data a view of the record', () => {
    fc.assert(
      fc.property(blocks, (entries) => {
        const record = encode(entries);

        const fields = readCanonicalEntryBlock(openRecord(key, record, 'entry'));

        expect(fields?.map(([term, typeCode, data]) => ({ term, typeCode, data: Array.from(data) }))).toEqual(
          entries.map((e) => ({ term: e.term, typeCode: e.typeCode, data: Array.from(e.data) })),
        );
        for (const [, , data] of fields!) expect(data.buffer).toBe(record.buffer);
      }),
    );
  });

  it('declines bodies in any other form, leaving them to the general decoder', () => {
    const nonCanonical = [
      Uint8Array.of(0xdc, 0x00, 0x01, 0x93, 0x01, 0x00, 0xc4, 0x00), // one entry behind an array16 header
      Uint8Array.of(0x91, 0x93, 0xcc, 0x05, 0x00, 0xc4, 0x00), // term 5 written as uint8
      Uint8Array.of(0x91, 0x92, 0x01, 0x00), // an entry of two fields
      Uint8Array.of(0x92, 0x93, 0x01, 0x00, 0xc4, 0x00), // count says two, one present
      Uint8Array.of(0x91, 0x93, 0x01, 0x00, 0xc4, 0x02, 0x07), // data shorter than its header says
      Uint8Array.of(0x90, 0x00), // trailing byte after an empty block
      Uint8Array.of(0x93, 0x01, 0x00, 0xc4, 0x00), // a single entry body (storage format 1), not a block
    ];
    for (const body of nonCanonical) expect(readCanonicalEntryBlock(body)).toBeUndefined();
  });
});
