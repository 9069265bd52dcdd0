/**
 * The KV service's backup file: a consistent copy of the store at one
 * applied index, as `GET /admin/backup` serves it and `keel kv restore`
 * reads it.
 *
 * Layout: the magic `KEELBAK1`; a 4-byte big-endian length and that many
 * bytes of a JSON header ({@link BackupHeader}); the store's own snapshot
 * stream (see `KvStore.capture`); and a SHA-256 digest of every byte before
 * it. The digest comes last so that the server can stream a large store
 * without holding it; a reader checks it before trusting anything.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { CorruptionError } from '../errors.js';

/** The first bytes of every backup file. */
export const BACKUP_MAGIC = Buffer.from('KEELBAK1', 'latin1');
const DIGEST_BYTES = 32;
/** A header larger than this is not one of ours. */
const MAX_HEADER_BYTES = 64 * 1024;

/** What a backup says about itself. */
export interface BackupHeader {
  /** The file format's version: 1. */
  readonly format: 1;
  /** The applied index the copy reflects: every write committed before the backup began is in it. */
  readonly appliedIndex: number;
  /** Keys in the copy. */
  readonly keys: number;
  /** The node that served the backup. */
  readonly node: string;
  /** When the copy was taken, ISO 8601. */
  readonly createdAt: string;
}

/** Frames a store's snapshot stream as a backup file, digest last. */
export async function* backupStream(header: BackupHeader, storeChunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const hash = createHash('sha256');
  const emit = (bytes: Uint8Array): Uint8Array => {
    hash.update(bytes);
    return bytes;
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(json.byteLength);
  yield emit(Buffer.concat([BACKUP_MAGIC, length, json]));
  for await (const chunk of storeChunks) yield emit(chunk);
  yield hash.digest();
}

/**
 * Reads a backup file's stream: checks the magic and header as they arrive
 * and the digest at the end. Resolves with the header once the whole stream
 * was read and matched its digest; `onStoreChunk` sees the store's snapshot
 * bytes as they pass (do not act on them before this resolves). Rejects with
 * `CorruptionError` (key `backup`) for a stream that is not a backup, is
 * truncated, or does not match its digest.
 */
export async function readBackup(chunks: AsyncIterable<Uint8Array>, onStoreChunk: (chunk: Uint8Array) => void | Promise<void> = () => undefined): Promise<BackupHeader> {
  const reader = new BackupReader();
  for await (const chunk of chunks) {
    for (const storeChunk of reader.push(chunk)) await onStoreChunk(storeChunk);
  }
  return reader.finish();
}

/** Splits a backup stream into header, store bytes and digest, keeping the last 32 bytes back until the end. */
class BackupReader {
  private readonly hash: Hash = createHash('sha256');
  private head: Buffer = Buffer.alloc(0);
  private header: BackupHeader | null = null;
  /** The newest bytes: they may be the digest, so they are hashed and passed on only when more arrive. */
  private tail: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Uint8Array[] {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.header === null) {
      this.head = Buffer.concat([this.head, bytes]);
      const parsed = this.parseHeader();
      if (parsed === null) return [];
      this.hash.update(this.head.subarray(0, parsed));
      bytes = this.head.subarray(parsed);
      this.head = Buffer.alloc(0);
    }
    const joined = this.tail.byteLength === 0 ? bytes : Buffer.concat([this.tail, bytes]);
    if (joined.byteLength <= DIGEST_BYTES) {
      this.tail = Buffer.from(joined);
      return [];
    }
    const ready = joined.subarray(0, joined.byteLength - DIGEST_BYTES);
    this.tail = Buffer.from(joined.subarray(joined.byteLength - DIGEST_BYTES));
    this.hash.update(ready);
    return [ready];
  }

  finish(): BackupHeader {
    if (this.header === null) throw corrupt(`the file ends inside its header (${this.head.byteLength} bytes)`);
    if (this.tail.byteLength < DIGEST_BYTES) throw corrupt('the file is truncated: it ends before its checksum');
    if (!this.hash.digest().equals(this.tail)) throw corrupt('the checksum does not match: the file is damaged or truncated');
    return this.header;
  }

  /** Parses the header once its bytes are in; returns how many bytes it took, or null while more are needed. */
  private parseHeader(): number | null {
    const head = this.head;
    const magic = Math.min(head.byteLength, BACKUP_MAGIC.byteLength);
    if (!head.subarray(0, magic).equals(BACKUP_MAGIC.subarray(0, magic))) throw corrupt('not a Keel backup (bad magic)');
    if (head.byteLength < BACKUP_MAGIC.byteLength + 4) return null;
    const length = head.readUInt32BE(BACKUP_MAGIC.byteLength);
    if (length > MAX_HEADER_BYTES) throw corrupt(`header length ${length} is over ${MAX_HEADER_BYTES}`);
    const end = BACKUP_MAGIC.byteLength + 4 + length;
    if (head.byteLength < end) return null;
    this.header = parseHeaderJson(head.subarray(BACKUP_MAGIC.byteLength + 4, end));
    return end;
  }
}

function parseHeaderJson(bytes: Buffer): BackupHeader {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('the header is not JSON');
  }
  const header = value as Partial<Record<keyof BackupHeader, unknown>>;
  if (typeof value !== 'object' || value === null || header.format !== 1) throw corrupt(`unknown backup format ${JSON.stringify(header?.format)}`);
  const index = header.appliedIndex;
  const keys = header.keys;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 1) throw corrupt('the header\'s appliedIndex is not a positive integer');
  if (typeof keys !== 'number' || !Number.isSafeInteger(keys) || keys < 0) throw corrupt('the header\'s keys is not a count');
  if (typeof header.node !== 'string' || typeof header.createdAt !== 'string') throw corrupt('the header lacks node or createdAt');
  return { format: 1, appliedIndex: index, keys, node: header.node, createdAt: header.createdAt };
}

function corrupt(message: string): CorruptionError {
  return new CorruptionError('backup', message);
}
