import { crc32 } from 'node:zlib';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Bytes, crc32Range } from '../../src/codec/crc32.js';

describe('crc32Bytes', () => {
  it('computes zlib.crc32 of any non-empty range, continuing any value', () => {
    fc.assert(
      // Lengths past 8 and past a few blocks, at every alignment, exercise both the 8-byte steps and the byte-wise rest.
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(299), fc.nat(300), fc.nat({ max: 0xffffffff }), (bytes, a, b, value) => {
        const start = Math.min(a, bytes.length - 1);
        const end = Math.min(Math.max(start + 1, b), bytes.length);
        const expected = crc32(bytes.subarray(start, end), value);

        expect(crc32Bytes(bytes, start, end, value)).toBe(expected);
        expect(crc32Range(bytes, start, end, value)).toBe(expected);
      }),
    );
  });

  it('leaves the value unchanged over an empty range (where zlib may return 0)', () => {
    expect(crc32Bytes(Uint8Array.of(1, 2, 3), 2, 2, 0x1234_5678)).toBe(0x1234_5678);
    expect(crc32Range(Uint8Array.of(1, 2, 3), 2, 2, 0x1234_5678)).toBe(0x1234_5678);
  });

  it('chains with zlib.crc32 over one stream', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (head, tail) => {
        const whole = Buffer.concat([head, tail]);

        expect(crc32(tail, crc32Bytes(head, 0, head.length, 0))).toBe(crc32(whole));
      }),
    );
  });

  it('gives the standard check value for "123456789"', () => {
    expect(crc32Bytes(Buffer.from('123456789'), 0, 9, 0)).toBe(0xcbf43926);
    expect(crc32Range(Buffer.from('123456789'), 0, 9, 0)).toBe(0xcbf43926);
  });
});
