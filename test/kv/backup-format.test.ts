/**
 * The backup file: a header, the store's snapshot stream and a SHA-256 of
 * everything before it. A backup reads back to the same store; any damage or
 * truncation is refused with CorruptionError before anything is trusted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { backupStream, readBackup } from '../../src/kv/backup-format.js';
import type { BackupHeader } from '../../src/kv/backup-format.js';
import { encodeKvCommand } from '../../src/kv/commands.js';
import { KvStore } from '../../src/kv/store.js';

const HEADER: BackupHeader = { format: 1, appliedIndex: 42, keys: 0, node: 'n1', createdAt: '2026-01-01T00:00:00.000Z' };

function storeOf(pairs: readonly (readonly [string, string])[]): KvStore {
  const store = new KvStore();
  pairs.forEach(([key, value], i) => store.apply({ index: i + 1, term: 1, command: encodeKvCommand({ op: 'put', key, value }) }));
  return store;
}

async function backupBytes(store: KvStore): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of backupStream({ ...HEADER, keys: store.size }, store.capture().chunks())) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The bytes in chunks of `size`, as a file stream would deliver them. */
async function* inChunks(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, at + size);
}

async function readBack(bytes: Buffer, chunkSize: number): Promise<{ header: BackupHeader; store: KvStore }> {
  const parts: Uint8Array[] = [];
  const header = await readBackup(inChunks(bytes, chunkSize), (chunk) => void parts.push(Buffer.from(chunk)));
  const store = new KvStore();
  await store.restore(inChunks(Buffer.concat(parts), 1000));
  return { header, store };
}

const pairs = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 50 })), { selector: ([key]) => key, maxLength: 30 });

describe('backup file format', () => {
  it('reads back the header and a store equal to the one backed up, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, fc.integer({ min: 1, max: 97 }), async (entries, chunkSize) => {
        const original = storeOf(entries);
        const { header, store } = await readBack(await backupBytes(original), chunkSize);
        expect(header).toEqual({ ...HEADER, keys: entries.length });
        expect(store.size).toBe(entries.length);
        expect(store.digest()).toBe(original.digest());
      }),
      { seed: 17, numRuns: 60 },
    );
  });

  it('refuses every truncation of a backup', async () => {
    const bytes = await backupBytes(storeOf([['a', '1'], ['b', '22'], ['c', '333']]));
    for (let length = 0; length < bytes.byteLength; length++) {
      await expect(readBack(bytes.subarray(0, length), 7), `cut at ${length}`).rejects.toThrow(CorruptionError);
    }
  });

  it('refuses a backup with any one byte changed', async () => {
    const bytes = await backupBytes(storeOf([['alpha', 'one'], ['beta', 'two']]));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.byteLength - 1 }), fc.integer({ min: 1, max: 255 }), async (at, flip) => {
        const damaged = Buffer.from(bytes);
        damaged[at] = damaged[at]! ^ flip;
        await expect(readBack(damaged, 16)).rejects.toThrow(CorruptionError);
      }),
      { seed: 23, numRuns: 200 },
    );
  });

  it('says what is wrong: not a backup, or a checksum that does not match', async () => {
    await expect(readBack(Buffer.from('PK\u0003\u0004 a zip file'), 4)).rejects.toThrow(/not a Keel backup/);
    const bytes = await backupBytes(storeOf([['k', 'v']]));
    const damaged = Buffer.from(bytes);
    damaged[damaged.byteLength - 40] = damaged[damaged.byteLength - 40]! ^ 1;
    await expect(readBack(damaged, 64)).rejects.toThrow(/checksum does not match/);
  });
});
