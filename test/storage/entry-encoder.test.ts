/**
 * EntryEncoder writes entries as blocks and reuses its key buffer from block
 * to block; what a copying sink receives must decode to exactly the entries.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { blockHeaderBytes } from '../../src/codec/entry-block.js';
import { RECORD_HEADER_BYTES } from '../../src/codec/record.js';
import { entryKey, keyIndex } from '../../src/storage/level-keys.js';
import { BLOCK_TARGET_BYTES, decodeEntryBlock, encodeEntry, EntryEncoder } from '../../src/storage/level-records.js';

/** A sink that copies, as LevelDB's chained batch does. */
function copyingSink() {
  const puts: { key: Buffer; value: Buffer }[] = [];
  return { puts, put: (key: Buffer, value: Buffer) => void puts.push({ key: Buffer.from(key), value: Buffer.from(value) }), del: () => undefined };
}

const entries: fc.Arbitrary<Entry[]> = fc
  .tuple(
    fc.integer({ min: 1, max: 2 ** 40 }),
    // Sizes cover the reused buffers (many distinct sizes, more than the encoder keeps) and the large, unreused ones.
    fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 33 }), fc.oneof(fc.nat(300), fc.integer({ min: 16_000, max: 20_000 }))), { minLength: 1, maxLength: 60 }),
  )
  .map(([first, shapes]) => shapes.map(([term, size], i) => ({
    index: first + i,
    term,
    // Both entry types: the type is part of the record.
    type: (size + i) % 5 === 0 ? ('config' as const) : ('normal' as const),
    data: new Uint8Array(size).fill((first + i) & 0xff),
  })));

describe('EntryEncoder', () => {
  it('hands a copying sink blocks keyed by their first index that decode to exactly the entries, in order', () => {
    const encoder = new EntryEncoder();
    fc.assert(
      fc.property(entries, (batch) => {
        const sink = copyingSink();
        encoder.putAll(batch, sink);

        const decoded = sink.puts.flatMap(({ key, value }) => {
          const first = keyIndex(key);
          expect(key.equals(entryKey(first))).toBe(true);
          const block = decodeEntryBlock(key, value, first);
          // A block is split at BLOCK_TARGET_BYTES of body, unless one entry alone is larger.
          if (block.length > 1) expect(value.byteLength).toBeLessThanOrEqual(RECORD_HEADER_BYTES + blockHeaderBytes(block.length) + BLOCK_TARGET_BYTES);
          return block;
        });
        // Field by field, data with Buffer#equals: toEqual walks typed arrays element by element, seconds for these sizes.
        expect(decoded.map(({ index, term, type }) => ({ index, term, type }))).toEqual(batch.map(({ index, term, type }) => ({ index, term, type })));
        decoded.forEach((entry, i) => expect(Buffer.from(entry.data).equals(batch[i]!.data)).toBe(true));
        expect(sink.puts.length).toBeLessThanOrEqual(batch.length);
      }),
      { numRuns: 100 },
    );
  });

  it('writes a batch of small entries as one block', () => {
    const sink = copyingSink();
    const batch = Array.from({ length: 300 }, (_, i) => ({ index: 10 + i, term: 2, type: 'normal' as const, data: new Uint8Array(128).fill(i) }));

    new EntryEncoder().putAll(batch, sink);

    expect(sink.puts.map(({ key }) => keyIndex(key))).toEqual([10]);
  });

  it('writes an empty block that decodes to no entries', () => {
    const sink = copyingSink();

    new EntryEncoder().putEnd(42, sink);

    expect(sink.puts).toHaveLength(1);
    expect(decodeEntryBlock(sink.puts[0]!.key, sink.puts[0]!.value, 42)).toEqual([]);
  });

  it('reads a format-1 single-entry record as a block of one entry', () => {
    const entry = { index: 7, term: 3, type: 'config' as const, data: Uint8Array.of(1, 2, 3) };

    expect(decodeEntryBlock(entryKey(7), encodeEntry(entry), 7)).toEqual([entry]);
  });
});
