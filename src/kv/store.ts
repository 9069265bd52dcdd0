/**
 * Keel's replicated key-value store: the state machine behind the KV service
 * (and the simulator's workload). String keys and values; get, put, delete,
 * append and compare-and-set; snapshots streamed in chunks so that a large
 * store never has to sit in one buffer.
 *
 * @packageDocumentation
 */
import { CorruptionError } from '../errors.js';
import type { AppliedCommand, SnapshotPoint, SnapshotSource, StateMachine } from '../node/state-machine.js';
import { decodeKvCommand } from './commands.js';
import type { KvResult } from './commands.js';
import { LayeredMap } from './layered-map.js';
import type { MapView } from './layered-map.js';

/** Snapshot stream header: magic and format version ("KEELKV", 0, 1). */
const SNAPSHOT_MAGIC = new Uint8Array([0x4b, 0x45, 0x45, 0x4c, 0x4b, 0x56, 0x00, 0x01]);
// Plain Uint8Array and TextEncoder rather than Buffer: the store also runs in a browser (the playground).
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
/** Pairs are gathered into chunks of about this size. */
const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** The replicated key-value store. */
export class KvStore implements StateMachine<KvResult> {
  /** Copy-on-write, so that a snapshot is captured in O(1) and streamed while writes go on (see layered-map.ts). */
  private readonly data = new LayeredMap();

  apply(applied: AppliedCommand): KvResult {
    const command = decodeKvCommand(applied.command);
    const current = this.data.get(command.key) ?? null;
    switch (command.op) {
      case 'get':
        return current;
      case 'put':
        this.data.set(command.key, command.value);
        return null;
      case 'delete':
        this.data.delete(command.key);
        return null;
      case 'append':
        this.data.set(command.key, (current ?? '') + command.value);
        return null;
      case 'cas':
        if (current !== command.expect) return { status: 'mismatch', actual: current };
        this.data.set(command.key, command.value);
        return { status: 'swapped' };
    }
  }

  /** The local value of `key` (null: absent). Linearizable right after `RaftNode.read()` resolves on this node. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** Number of keys. */
  get size(): number {
    return this.data.size;
  }

  /**
   * The store as it is now, in O(1): writes applied after this call do not
   * show in the snapshot. Its `chunks()` stream a header, then
   * `[u32 key bytes][key][u32 value bytes][value]` for every pair in key
   * order (so equal stores give equal snapshots), then a `u32` pair count as
   * a trailer, in chunks of about 256 KiB. Call `release()` when done (the
   * runtime does): until then every write is kept in an overlay.
   */
  capture(): SnapshotSource {
    const { view, release } = this.data.capture();
    return { chunks: () => streamView(view), release };
  }

  /**
   * Replaces the store with a snapshot's; throws `CorruptionError` when the
   * stream is not one, leaving the store as it was. The snapshot's position
   * (`_point`) is not needed: the store keeps no index of its own.
   */
  async restore(chunks: AsyncIterable<Uint8Array>, _point?: SnapshotPoint): Promise<void> {
    const reader = new PairReader();
    for await (const chunk of chunks) reader.push(chunk);
    this.data.replace(reader.finish());
  }

  /** A short fingerprint of the whole state, equal on nodes that applied the same commands. */
  digest(): string {
    let hash = 0x811c9dc5;
    const mix = (text: string): void => {
      for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
      hash = Math.imul(hash ^ 0xff, 0x01000193);
    };
    for (const key of this.sortedKeys()) {
      mix(key);
      mix(this.data.get(key)!);
    }
    return (hash >>> 0).toString(16).padStart(8, '0');
  }

  private sortedKeys(): string[] {
    return this.data.sortedKeys();
  }
}

/** Streams a frozen view in the snapshot format (see {@link KvStore.capture}). */
async function* streamView(view: MapView): AsyncIterable<Uint8Array> {
  yield SNAPSHOT_MAGIC;
  let parts: Uint8Array[] = [];
  let bytes = 0;
  let count = 0;
  for (const key of view.sortedKeys()) {
    const keyBytes = utf8.encode(key);
    const valueBytes = utf8.encode(view.get(key)!);
    parts.push(u32(keyBytes.byteLength), keyBytes, u32(valueBytes.byteLength), valueBytes);
    bytes += 8 + keyBytes.byteLength + valueBytes.byteLength;
    count++;
    if (bytes >= SNAPSHOT_CHUNK_BYTES) {
      yield concat(parts);
      parts = [];
      bytes = 0;
    }
  }
  parts.push(u32(count));
  yield concat(parts);
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
}

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
}

/** Parses a snapshot stream split at arbitrary chunk boundaries. */
class PairReader {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly data = new Map<string, string>();
  private headerSeen = false;
  private pendingKey: string | null = null;

  push(chunk: Uint8Array): void {
    this.pending = this.pending.byteLength === 0 ? chunk.slice() : concat([this.pending, chunk]);
    let at = 0;
    if (!this.headerSeen) {
      if (this.pending.byteLength < SNAPSHOT_MAGIC.byteLength) return;
      if (!SNAPSHOT_MAGIC.every((byte, i) => this.pending[i] === byte)) {
        throw new CorruptionError('kv-snapshot', 'not a key-value store snapshot (bad header)');
      }
      at = SNAPSHOT_MAGIC.byteLength;
      this.headerSeen = true;
    }
    // Read whole strings while they are complete; the last four bytes may be the trailer, so keep them.
    while (this.pending.byteLength - at >= 8) {
      const length = readU32(this.pending, at);
      if (this.pending.byteLength - at - 4 < length + 4) break;
      const text = fromUtf8.decode(this.pending.subarray(at + 4, at + 4 + length));
      at += 4 + length;
      if (this.pendingKey === null) {
        this.pendingKey = text;
      } else {
        this.data.set(this.pendingKey, text);
        this.pendingKey = null;
      }
    }
    this.pending = this.pending.subarray(at);
  }

  finish(): Map<string, string> {
    if (!this.headerSeen) throw new CorruptionError('kv-snapshot', 'snapshot stream ended before its header');
    if (this.pendingKey !== null || this.pending.byteLength !== 4) {
      throw new CorruptionError('kv-snapshot', 'snapshot stream ended in the middle of a pair');
    }
    const count = readU32(this.pending, 0);
    if (count !== this.data.size) throw new CorruptionError('kv-snapshot', `snapshot trailer counts ${count} pairs, the stream held ${this.data.size}`);
    return this.data;
  }
}
