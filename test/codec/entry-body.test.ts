import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEntryRecord, readCanonicalEntryBody } from '../../src/codec/entry-body.js';
import { encodeRecord, openRecord, RECORD_HEADER_BYTES } from '../../src/codec/record.js';

const key = Uint8Array.of(0x65, 0, 0, 0, 0, 0, 0, 0, 1);

/** Values around every boundary where msgpack changes integer form. */
const unsigned = fc.oneof(
  fc.nat(300),
  fc.constantFrom(127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
const payload = fc.oneof(
  fc.constantFrom(new Uint8Array(0), new Uint8Array(new ArrayBuffer(0)), Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: 65_530, max: 65_540 }).map((length) => new Uint8Array(length).fill(7)),
);

describe('entry body codec', () => {
  it('writes exactly the bytes msgpackr writes for [term, type, data]', () => {
    fc.assert(
      fc.property(unsigned, fc.nat(300), payload, (term, type, data) => {
        const fast = encodeEntryRecord(key, term, type, data);
        const general = encodeRecord(key, [term, type, data]);

        expect(fast.equals(general)).toBe(true);
      }),
    );
  });

  it('reads back what it wrote, with data as a view of the record', () => {
    fc.assert(
      fc.property(unsigned, fc.nat(300), payload, (term, type, data) => {
        const record = encodeEntryRecord(key, term, type, data);

        const fields = readCanonicalEntryBody(openRecord(key, record, 'entry'));

        expect(fields).toBeDefined();
        const [readTerm, readType, readData] = fields!;
        expect([readTerm, readType]).toEqual([term, type]);
        expect(Buffer.from(readData).equals(Buffer.from(data))).toBe(true);
        expect(readData.buffer).toBe(record.buffer);
      }),
    );
  });

  it('declines bodies in any other form, leaving them to the general decoder', () => {
    const nonCanonical = [
      Uint8Array.of(0x93, 0xcc, 0x05, 0x00, 0xc4, 0x00), // term 5 written as uint8
      Uint8Array.of(0x94, 0x01, 0x01, 0x00, 0xc4, 0x00), // four elements
      Uint8Array.of(0x93, 0x01, 0x00, 0xc4, 0x02, 0xaa), // bin shorter than its length
      Uint8Array.of(0x93, 0x01, 0x00, 0xc4, 0x00, 0xaa), // trailing byte
      Uint8Array.of(0x93, 0x01, 0x00, 0xa1, 0x61), // a string, not binary
      Uint8Array.of(0x93, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x00, 0xc4, 0x00), // 1.0 as float64
      Uint8Array.of(),
    ];

    for (const body of nonCanonical) expect(readCanonicalEntryBody(body), Buffer.from(body).toString('hex')).toBeUndefined();
  });

  it('keeps the header size the record codec uses', () => {
    expect(encodeEntryRecord(key, 1, 0, new Uint8Array(0)).byteLength).toBe(RECORD_HEADER_BYTES + 5);
  });
});
