import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, RECORD_FORMAT_VERSION, RECORD_HEADER_BYTES } from '../../src/codec/record.js';
import { CorruptionError } from '../../src/errors.js';

const key = Buffer.from('h-key');
const body = { term: 3, vote: 'n2', commit: 17, nested: [1, 'two', Uint8Array.of(3)] };

describe('record codec', () => {
  it('round-trips a body under its key', () => {
    const record = encodeRecord(key, body);

    expect(record[0]).toBe(RECORD_FORMAT_VERSION);
    expect(decodeRecord(key, record, 'k')).toEqual({ ...body, nested: [1, 'two', Buffer.from([3])] });
  });

  it('fails the checksum for every single flipped bit', () => {
    const record = encodeRecord(key, body);

    for (let byte = 1; byte < record.byteLength; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(record);
        damaged[byte]! ^= 1 << bit;
        expect(() => decodeRecord(key, damaged, 'k'), `byte ${byte} bit ${bit}`).toThrow(/checksum mismatch/);
      }
    }
  });

  it('fails a record read under another key (the checksum covers the key)', () => {
    const record = encodeRecord(key, body);

    expect(() => decodeRecord(Buffer.from('h-kez'), record, 'other')).toThrow(CorruptionError);
  });

  it('names an unknown format version and a record shorter than its header', () => {
    const record = encodeRecord(key, body);
    record[0] = 7;

    expect(() => decodeRecord(key, record, 'k')).toThrow(/unknown record format version 7/);
    expect(() => decodeRecord(key, record.subarray(0, RECORD_HEADER_BYTES - 1), 'k')).toThrow(/shorter than its 5-byte header/);
  });
});
