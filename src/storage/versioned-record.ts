import { CorruptionError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { BatchSink } from './group-commit.js';
import { scanRange } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { hasIndexKeyShape, keyIndex, keyName, prefixRange, versionKey } from './level-keys.js';

/** Versions kept on disk: the current one and the one before it. */
export const KEPT_VERSIONS = 2;

/** Encodes a value as the record stored under `key`. */
export type VersionEncoder<T> = (key: Uint8Array, value: T) => Buffer;
/** Decodes and checks the record stored under `key`. */
export type VersionDecoder<T> = (key: Uint8Array, value: Uint8Array) => T;

/**
 * A record that is rewritten often (the hard state, the snapshot meta), stored
 * as its two newest versions under `prefix + version` instead of being
 * overwritten in place.
 *
 * Why: LevelDB keeps every version of an overwritten key in its table files
 * until a compaction drops the old ones, and it does not verify block
 * checksums on ordinary reads. One damaged byte in the newest version's
 * internal key (its sequence number or type) can then make LevelDB return an
 * older version, whose own record checksum is perfectly valid. For the hard
 * state that would be a stale term and vote: a node that votes twice in a
 * term. With a fresh key per version there is no older version of the same
 * key to resurface, and the version numbers make a lost or resurrected
 * version visible: a healthy database holds exactly two versions, numbered
 * `n - 1` and `n`, and reads `n`.
 */
export class VersionedRecord<T> {
  /** Invariant: versions `version - 1` and `version` are on disk (or queued to be). */
  private version: number;

  /**
   * @param prefix the key prefix byte of this record's versions.
   * @param encode encodes a value for a given version key.
   * @param version the newest version on disk.
   */
  constructor(private readonly prefix: number, private readonly encode: VersionEncoder<T>, version: number) {
    assert(Number.isSafeInteger(version) && version >= KEPT_VERSIONS - 1, () => `versioned record: invalid version ${version}`);
    this.version = version;
  }

  /** Puts the record of a new database into `sink`: versions 0 and 1, both `value`. */
  static initialise<T>(prefix: number, encode: VersionEncoder<T>, value: T, sink: BatchSink): void {
    for (const version of [0, 1]) {
      const key = versionKey(prefix, version);
      sink.put(key, encode(key, value));
    }
  }

  /** Puts into `sink` the operations that make `value` the newest version: put version n + 1, delete version n - 1. */
  write(value: T, sink: BatchSink): void {
    const next = this.version + 1;
    const key = versionKey(this.prefix, next);
    sink.put(key, this.encode(key, value));
    sink.del(versionKey(this.prefix, this.version - 1));
    this.version = next;
  }
}

/**
 * Reads the newest version of the record with prefix `prefix`, after checking
 * that exactly the two newest versions are on disk, numbered consecutively,
 * and that both decode. `label` names the record in errors.
 */
export async function readVersionedRecord<T>(
  db: LevelDb,
  prefix: number,
  decode: VersionDecoder<T>,
  label: string,
): Promise<{ readonly version: number; readonly value: T }> {
  const found: [Buffer, Buffer][] = [];
  // Newest first; one more than expected, to notice an extra (resurrected) version.
  await scanRange(db, { ...prefixRange(prefix), reverse: true, limit: KEPT_VERSIONS + 1 }, (key, value) => {
    if (!hasIndexKeyShape(key, prefix)) throw new CorruptionError(keyName(key), `malformed ${label} key`);
    found.push([key, value]);
    return true;
  });
  const versions = found.map(([key]) => keyIndex(key));
  if (found.length !== KEPT_VERSIONS) {
    throw new CorruptionError(label, `expected the ${KEPT_VERSIONS} newest versions on disk, found ${found.length === 0 ? 'none' : versions.join(', ')}`);
  }
  const [newest, previous] = found as [[Buffer, Buffer], [Buffer, Buffer]];
  if (versions[0] !== versions[1]! + 1) {
    throw new CorruptionError(keyName(newest[0]), `versions ${versions[1]} and ${versions[0]} are not consecutive: a version was lost`);
  }
  decode(previous[0], previous[1]);
  return { version: versions[0]!, value: decode(newest[0], newest[1]) };
}
