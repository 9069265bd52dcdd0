/**
 * Raw access to a LevelStorage directory for damage tests: a plain `level`
 * handle that bypasses Keel, and a digest of what is on disk.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { keyIndex, prefixRange } from '../../src/storage/level-keys.js';

/** A raw handle with binary keys and values. */
export type RawDb = Level<Buffer, Buffer>;

/** Opens the directory with a raw handle, runs `change`, closes. */
export async function withRaw<T>(location: string, change: (db: RawDb) => Promise<T>): Promise<T> {
  const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await change(db);
  } finally {
    await db.close();
  }
}

/** Reads a value that must exist. */
export async function rawGet(db: RawDb, key: Buffer): Promise<Buffer> {
  const value = (await db.get(key)) as Buffer | undefined;
  if (value === undefined) throw new Error(`raw get: key ${key.toString('hex')} is missing`);
  return value;
}

/** Rewrites the value under `key` with the byte at `position` (negative counts from the end) XORed with `mask`. */
export async function flipByte(db: RawDb, key: Buffer, position: number, mask = 0x01): Promise<void> {
  const value = Buffer.from(await rawGet(db, key));
  const at = position < 0 ? value.length + position : position;
  value[at]! ^= mask;
  await db.put(key, value);
}

/**
 * Opens and closes the directory once with a raw handle. LevelDB replays its
 * write-ahead log into a table file on open, so after this the data sits in
 * `.ldb` files and the `.log` is empty, and a later open that writes nothing
 * leaves every `.ldb` and `.log` byte as it was.
 */
export async function settle(location: string): Promise<void> {
  await withRaw(location, () => Promise.resolve());
}

/**
 * A digest of what a LevelStorage open could change: every table file (name
 * and bytes), the bytes of the write-ahead log, and every key and value.
 *
 * LevelDB's own bookkeeping is left out, because any open rewrites it, even
 * one that writes no data: it starts a new MANIFEST, renames the info LOG to
 * LOG.old, updates CURRENT and gives the (empty) write-ahead log a new number.
 * A write by Keel would land in the write-ahead log, and through it in the
 * keys and values, so the digest still sees it.
 */
export async function digest(location: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(location)).sort();
  for (const file of files) {
    if (file.endsWith('.ldb')) hash.update(`table ${file}\n`).update(await readFile(join(location, file)));
    if (file.endsWith('.log')) hash.update('wal\n').update(await readFile(join(location, file)));
  }
  await withRaw(location, async (db) => {
    for await (const [key, value] of db.iterator()) hash.update(key).update(':').update(value).update('\n');
  });
  return hash.digest('hex');
}

/** Version numbers on disk of the versioned record with prefix byte `prefix`, newest first. */
export async function versionsOf(db: RawDb, prefix: number): Promise<number[]> {
  const keys = await db.keys({ ...prefixRange(prefix), reverse: true }).all();
  return keys.map(keyIndex);
}
