import type { Level } from 'level';
import { decodeRecord, encodeRecord } from '../codec/record.js';
import type { Membership, NodeId } from '../core/types.js';
import { CorruptionError, GroupExistsError, InvalidArgumentError, StorageClosedError, StorageIOError, UnknownGroupError } from '../errors.js';
import { assert } from '../util/assert.js';
import { checkGroupId } from '../util/group-id.js';
import type { GroupId } from '../util/group-id.js';
import { GroupCommit } from './group-commit.js';
import { getValue, openBatch, openDatabase, scanRange } from './level-db.js';
import type { LevelDb } from './level-db.js';
import { LevelStorage } from './level.js';
import type { LevelStorageOptions } from './level-options.js';
import { DEFAULT_MAX_BATCH_BYTES, isMembership } from './level-options.js';
import { PrefixedCommitter } from './prefixed-committer.js';
import type { GroupListing, GroupLogs } from './group-logs.js';

/** Options of {@link LevelEngine.open}. */
export interface LevelEngineOptions {
  /** Directory of the host's one LevelDB database. */
  readonly location: string;
  /** This host's id: every group's replica here has it as its node id. */
  readonly hostId: NodeId;
  /** When set, the database must belong to this cluster (checked at open, stored on creation). */
  readonly clusterId?: string | undefined;
  /** Bytes after which the shared batch stops accepting writes and the next one starts. @defaultValue 64 MiB */
  readonly maxBatchBytes?: number | undefined;
}

/** Options of one group's storage in the engine: those of {@link LevelStorageOptions} that are per group. */
export type GroupStorageOptions = Omit<LevelStorageOptions, 'location' | 'nodeId' | 'clusterId' | 'maxBatchBytes'>;

export type { GroupListing } from './group-logs.js';

/** Statistics of the shared database. */
export interface LevelEngineStats {
  /** Synced batches written for all groups together. */
  readonly batches: number;
  /** Writes submitted by all groups. */
  readonly writes: number;
  /** Groups whose storage is open. */
  readonly openGroups: number;
}

/** A registry record: the group's first membership, or that its removal started. */
interface RegistryRecord {
  readonly membership: Membership | null;
  readonly removing: boolean;
}

const FORMAT_VERSION = 1;
const HOST_SUBLEVEL = 'host';
const REGISTRY_SUBLEVEL = 'groups';
const META_KEY = Buffer.from('meta');
const SUBLEVEL_OPTIONS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/**
 * The shared log engine of a host running many Raft groups: one LevelDB
 * database, each group's records under its own key prefix (a sublevel named
 * `g:<group>`), a registry of the groups, and one group commit for all of
 * them. Every write the groups make in one burst of the event loop goes to
 * disk as one synced batch, so a host turn that appends to a hundred groups
 * costs one fsync, not a hundred (docs/multi-raft.md).
 *
 * Each group's storage is a full {@link LevelStorage} (same layout, checks and
 * crash rules as a node's own database) whose keys carry the group's prefix.
 * Damage in one group's keys fails that group's open with `CorruptionError`
 * naming the group; the other groups open. A failed shared batch fails every
 * group: the batch held writes of several of them.
 */
export class LevelEngine implements GroupLogs {
  private readonly shared: GroupCommit;
  private readonly open = new Map<GroupId, LevelStorage>();
  /** Callbacks that mark each open group's storage failed when the shared batch fails. */
  private readonly markFailed = new Map<GroupId, (error: StorageIOError) => void>();
  private readonly registry: LevelDb;
  private closing: Promise<void> | null = null;
  private submitCount = 0;

  private constructor(
    private readonly db: Level<Buffer, Buffer>,
    private readonly options: ResolvedEngineOptions,
  ) {
    this.registry = db.sublevel<Buffer, Buffer>(REGISTRY_SUBLEVEL, SUBLEVEL_OPTIONS);
    this.shared = new GroupCommit(() => openBatch(db), options.maxBatchBytes, (error) => {
      for (const mark of this.markFailed.values()) mark(error);
    });
  }

  /**
   * Opens (creating when missing) the host database at `options.location`.
   * Fails with `StorageLockedError` when it is open elsewhere, `CorruptionError`
   * when it belongs to another host or cluster or its meta record is damaged,
   * `InvalidArgumentError` for bad options. Groups left half-removed by a
   * crash are cleared here.
   */
  static async open(options: LevelEngineOptions): Promise<LevelEngine> {
    const resolved = resolveEngineOptions(options);
    const db = await openDatabase(resolved.location);
    const engine = new LevelEngine(db, resolved);
    try {
      await engine.checkMeta();
      await engine.finishRemovals();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    return engine;
  }

  /** Every group in the registry, in id order; a damaged record is listed with its error. */
  async listGroups(): Promise<GroupListing[]> {
    this.checkOpen();
    const listing: GroupListing[] = [];
    await scanRange(this.registry, {}, (key, value) => {
      const group = key.toString('utf8');
      try {
        const record = decodeRegistryRecord(key, value, group);
        if (!record.removing) listing.push({ group, membership: record.membership });
      } catch (error) {
        if (!(error instanceof CorruptionError)) throw error;
        listing.push({ group, error });
      }
      return true;
    });
    return listing;
  }

  /**
   * Registers a new group and opens its storage. Rejects with
   * `GroupExistsError` when the registry holds it already, and
   * `InvalidArgumentError` for a malformed id or options.
   */
  async createGroup(group: GroupId, options: GroupStorageOptions): Promise<LevelStorage> {
    this.checkOpen();
    checkGroupId(group, 'createGroup');
    if (this.open.has(group) || (await this.readRegistry(group)) !== undefined) throw new GroupExistsError(group);
    // Keys left by a removal that crashed before clearing them must not read as this new group's log.
    await this.groupDb(group).clear();
    await this.writeRegistry(group, { membership: options.membership ?? null, removing: false });
    return this.openRegistered(group, options);
  }

  /**
   * Opens the storage of a registered group. Rejects with `UnknownGroupError`
   * when the registry does not hold it, `CorruptionError` (naming the group)
   * when its records are damaged, and `InvalidArgumentError` when it is open already.
   */
  async openGroup(group: GroupId, options: GroupStorageOptions = {}): Promise<LevelStorage> {
    this.checkOpen();
    checkGroupId(group, 'openGroup');
    if (this.open.has(group)) throw new InvalidArgumentError(`openGroup: group ${group} is open already`);
    const record = await this.readRegistry(group);
    if (record === undefined || record.removing) throw new UnknownGroupError(group, 'openGroup');
    return this.openRegistered(group, { ...options, membership: options.membership ?? record.membership });
  }

  /**
   * Deletes a group and every key it wrote. Its storage must be closed first.
   * The registry marks the removal before the keys are cleared, so a crash
   * in between finishes the removal at the next open rather than leaving a
   * group with half its log. Rejects with `UnknownGroupError` for an unknown group.
   */
  async removeGroup(group: GroupId): Promise<void> {
    this.checkOpen();
    checkGroupId(group, 'removeGroup');
    if (this.open.has(group)) throw new InvalidArgumentError(`removeGroup: close group ${group}'s storage first`);
    const record = await this.readRegistry(group);
    if (record === undefined) throw new UnknownGroupError(group, 'removeGroup');
    await this.writeRegistry(group, { membership: null, removing: true });
    await this.clearGroup(group);
  }

  /** Statistics of the shared database. */
  stats(): LevelEngineStats {
    return { batches: this.shared.batches, writes: this.submitCount, openGroups: this.open.size };
  }

  /** Closes every group's storage still open, then the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async openRegistered(group: GroupId, options: GroupStorageOptions): Promise<LevelStorage> {
    const location = `${this.options.location}#${group}`;
    const db = this.groupDb(group);
    const prefix = Buffer.from(db.prefix, 'utf8');
    const storageOptions: LevelStorageOptions = {
      ...options,
      location,
      nodeId: this.options.hostId,
      clusterId: this.options.clusterId,
      maxBatchBytes: this.options.maxBatchBytes,
    };
    const closed = (): void => {
      this.open.delete(group);
      this.markFailed.delete(group);
    };
    const onSubmit = (): void => {
      this.submitCount++;
    };
    let storage: LevelStorage;
    try {
      storage = await LevelStorage.openShared(db, storageOptions, (markFailed) => {
        this.markFailed.set(group, markFailed);
        return new PrefixedCommitter(this.shared, prefix, onSubmit);
      }, closed);
    } catch (error) {
      this.markFailed.delete(group);
      throw forGroup(error, group);
    }
    this.open.set(group, storage);
    return storage;
  }

  /** The group's sublevel, and its key prefix as bytes (what {@link PrefixedCommitter} puts before each key). */
  private groupDb(group: GroupId): LevelDb & { readonly prefix: string } {
    return this.db.sublevel<Buffer, Buffer>(`g:${group}`, SUBLEVEL_OPTIONS);
  }

  private async readRegistry(group: GroupId): Promise<RegistryRecord | undefined> {
    const key = Buffer.from(group, 'utf8');
    const value = await getValue(this.registry, key);
    return value === undefined ? undefined : decodeRegistryRecord(key, value, group);
  }

  private async writeRegistry(group: GroupId, record: RegistryRecord): Promise<void> {
    const key = Buffer.from(group, 'utf8');
    const batch = openBatch(this.registry);
    batch.put(key, encodeRecord(key, { membership: record.membership, removing: record.removing }));
    try {
      await batch.write();
    } catch (error) {
      throw new StorageIOError(`cannot write the registry record of group ${group}`, { cause: error });
    }
  }

  private async clearGroup(group: GroupId): Promise<void> {
    try {
      await this.groupDb(group).clear();
      const batch = openBatch(this.registry);
      batch.del(Buffer.from(group, 'utf8'));
      await batch.write();
    } catch (error) {
      throw new StorageIOError(`cannot clear the keys of group ${group}`, { cause: error });
    }
  }

  /** Clears the groups whose removal a crash interrupted. */
  private async finishRemovals(): Promise<void> {
    const removing: GroupId[] = [];
    await scanRange(this.registry, {}, (key, value) => {
      const group = key.toString('utf8');
      try {
        if (decodeRegistryRecord(key, value, group).removing) removing.push(group);
      } catch (error) {
        // A damaged record is reported by listGroups, for its group alone.
        if (!(error instanceof CorruptionError)) throw error;
      }
      return true;
    });
    for (const group of removing) await this.clearGroup(group);
  }

  private async checkMeta(): Promise<void> {
    const host = this.db.sublevel<Buffer, Buffer>(HOST_SUBLEVEL, SUBLEVEL_OPTIONS);
    const label = `${this.options.location} host meta`;
    const stored = await getValue(host, META_KEY);
    if (stored === undefined) {
      const batch = openBatch(host);
      batch.put(META_KEY, encodeRecord(META_KEY, { formatVersion: FORMAT_VERSION, hostId: this.options.hostId, clusterId: this.options.clusterId ?? null }));
      await batch.write();
      return;
    }
    const meta = decodeRecord(META_KEY, stored, label) as { formatVersion?: unknown; hostId?: unknown; clusterId?: unknown };
    if (meta.formatVersion !== FORMAT_VERSION) throw new CorruptionError(label, `unknown host database format ${String(meta.formatVersion)}`);
    if (meta.hostId !== this.options.hostId) {
      throw new CorruptionError(label, `database belongs to host ${JSON.stringify(meta.hostId)}, not ${JSON.stringify(this.options.hostId)}`);
    }
    if (this.options.clusterId !== undefined && meta.clusterId !== this.options.clusterId) {
      throw new CorruptionError(label, `database belongs to cluster ${JSON.stringify(meta.clusterId)}, not ${JSON.stringify(this.options.clusterId)}`);
    }
  }

  private async closeAll(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((storage) => storage.close()));
    await this.shared.idle();
    assert(this.open.size === 0, 'level engine: a group storage stayed open through close');
    try {
      await this.db.close();
    } catch (error) {
      throw new StorageIOError(`cannot close the host database at ${this.options.location}`, { cause: error });
    }
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new StorageClosedError();
  }
}

/** A group's corruption names the group, so that a host with many groups reports which one is damaged. */
function forGroup(error: unknown, group: GroupId): unknown {
  if (!(error instanceof CorruptionError)) return error;
  const reason = error.message.slice(`corruption at ${error.key}: `.length);
  return new CorruptionError(`group ${group} ${error.key}`, reason, { cause: error });
}

function decodeRegistryRecord(key: Buffer, value: Buffer, group: GroupId): RegistryRecord {
  const label = `registry record of group ${group}`;
  const body = decodeRecord(key, value, label) as { membership?: unknown; removing?: unknown } | null;
  if (body === null || typeof body !== 'object') throw new CorruptionError(label, 'not a record');
  const membership = body.membership ?? null;
  if (membership !== null && !isMembership(membership)) throw new CorruptionError(label, 'membership is malformed');
  if (typeof body.removing !== 'boolean') throw new CorruptionError(label, 'removing flag is missing');
  return { membership, removing: body.removing };
}

interface ResolvedEngineOptions {
  readonly location: string;
  readonly hostId: NodeId;
  readonly clusterId: string | undefined;
  readonly maxBatchBytes: number;
}

function resolveEngineOptions(options: LevelEngineOptions): ResolvedEngineOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('LevelEngine.open: options must be an object');
  const { location, hostId, clusterId, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES } = options;
  if (typeof location !== 'string' || location.length === 0) throw new InvalidArgumentError('LevelEngine.open: location must be a non-empty string');
  if (typeof hostId !== 'string' || hostId.length === 0) throw new InvalidArgumentError('LevelEngine.open: hostId must be a non-empty string');
  if (clusterId !== undefined && (typeof clusterId !== 'string' || clusterId.length === 0)) {
    throw new InvalidArgumentError('LevelEngine.open: clusterId must be a non-empty string');
  }
  if (!Number.isSafeInteger(maxBatchBytes) || maxBatchBytes <= 0) throw new InvalidArgumentError('LevelEngine.open: maxBatchBytes must be a positive integer');
  return { location, hostId, clusterId, maxBatchBytes };
}
