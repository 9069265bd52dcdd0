/**
 * EntryEncoder reuses its buffers from entry to entry; what a copying sink
 * receives must be exactly what the one-entry encoder produces.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { entryKey } from '../../src/storage/level-keys.js';
import { decodeEntry, encodeEntry, EntryEncoder } from '../../src/storage/level-records.js';

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
  it('hands a copying sink the same keys and records as entryKey and encodeEntry, entry after entry', () => {
    const encoder = new EntryEncoder();
    fc.assert(
      fc.property(entries, (batch) => {
        const sink = copyingSink();
        encoder.putAll(batch, sink);

        expect(sink.puts).toHaveLength(batch.length);
        batch.forEach((entry, i) => {
          const { key, value } = sink.puts[i]!;
          expect(key.equals(entryKey(entry.index))).toBe(true);
          expect(value.equals(encodeEntry(entry))).toBe(true);
          expect(decodeEntry(key, value, entry.index)).toEqual(entry);
        });
      }),
      { numRuns: 100 },
    );
  });
});
