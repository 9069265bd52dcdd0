/**
 * The writes {@link LevelStorage.open} may make before it hands the storage
 * out: the first batch of a new database, and the upgrade of a database
 * written by an older storage format. Each is one durable batch, so a crash
 * during it leaves the database as it was.
 *
 * @packageDocumentation
 */
import { EMPTY_HARD_STATE } from '../core/types.js';
import type { Entry, Index, SnapshotMeta } from '../core/types.js';
import { StorageIOError } from '../errors.js';
import { blockStartAt, decodeBlock } from './entry-blocks.js';
import { openBatch, scanRange } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { configKey, entryKey, HARD_STATE_PREFIX, META_KEY, SNAPSHOT_PREFIX } from './level-keys.js';
import type { StoredState } from './level-open.js';
import type { ResolvedLevelStorageOptions } from './level-options.js';
import { encodeConfigEntry, encodeHardState, encodeSnapshotMeta, encodeStorageMeta, STORAGE_FORMAT_VERSION } from './level-records.js';
import { VersionedRecord } from './versioned-record.js';

/** The first format that keeps a copy of every configuration entry under the `c` keys. */
const CONFIG_INDEX_FORMAT_VERSION = 3;

/**
 * First open of an empty database: write the storage meta and the first two
 * versions of the hard state and snapshot meta, in one durable batch.
 */
export async function initialise(db: LevelDb, options: ResolvedLevelStorageOptions): Promise<StoredState> {
  const meta = { formatVersion: STORAGE_FORMAT_VERSION, nodeId: options.nodeId, clusterId: options.clusterId ?? null };
  const batch = openBatch(db);
  batch.put(META_KEY, encodeStorageMeta(meta));
  VersionedRecord.initialise(HARD_STATE_PREFIX, encodeHardState, EMPTY_HARD_STATE, batch);
  VersionedRecord.initialise<SnapshotMeta | null>(SNAPSHOT_PREFIX, encodeSnapshotMeta, null, batch);
  try {
    await batch.write();
  } catch (error) {
    throw new StorageIOError(`cannot initialise storage at ${options.location}`, { cause: error });
  }
  return {
    meta,
    hardState: EMPTY_HARD_STATE,
    hardStateVersion: 1,
    snapshot: null,
    snapshotVersion: 1,
    runs: [],
    configs: [],
    lastIndex: 0,
    tail: [],
    garbageFloor: null,
  };
}

/**
 * A database of an older format is brought to the current one before
 * anything else is written in it, so that an older build refuses it rather
 * than misreading what this build writes. Format 1 (entries as blocks of one)
 * reads as it is. Formats 1 and 2 lack the copies of the configuration
 * entries: the log is scanned once for them, and they are written in the same
 * batch as the new meta record. That scan reads the whole log, once per
 * database; every later open reads only the `c` keys.
 */
export async function upgradeFormat(db: LevelDb, stored: StoredState, location: string): Promise<StoredState> {
  if (stored.meta.formatVersion === STORAGE_FORMAT_VERSION) return stored;
  const meta = { ...stored.meta, formatVersion: STORAGE_FORMAT_VERSION };
  const firstIndex = (stored.snapshot?.index ?? 0) + 1;
  const configs = stored.meta.formatVersion < CONFIG_INDEX_FORMAT_VERSION
    ? await scanConfigEntries(db, firstIndex, stored.lastIndex)
    : stored.configs;
  const batch = openBatch(db);
  batch.put(META_KEY, encodeStorageMeta(meta));
  for (const config of configs) batch.put(configKey(config.index), encodeConfigEntry(config));
  try {
    await batch.write();
  } catch (error) {
    throw new StorageIOError(`cannot upgrade storage at ${location} to format ${STORAGE_FORMAT_VERSION}`, { cause: error });
  }
  return { ...stored, meta, configs };
}

/**
 * The configuration entries of the stored log `firstIndex .. lastIndex`, read
 * block by block in key order. A block replaces, from its first index on,
 * whatever the blocks before it hold (entry-blocks.ts), so the entries found
 * at or after a block's key are dropped when it is reached.
 */
async function scanConfigEntries(db: LevelDb, firstIndex: Index, lastIndex: Index): Promise<Entry[]> {
  const configs: Entry[] = [];
  if (lastIndex < firstIndex) return configs;
  const start = (await blockStartAt(db, firstIndex)) ?? firstIndex;
  await scanRange(db, { gte: entryKey(start), lt: entryKey(lastIndex + 1) }, (key, value) => {
    const { first, entries } = decodeBlock(key, value);
    while (configs.length > 0 && configs[configs.length - 1]!.index >= first) configs.pop();
    for (const entry of entries) {
      if (entry.type === 'config' && entry.index >= firstIndex && entry.index <= lastIndex) configs.push(entry);
    }
    return true;
  });
  return configs;
}
