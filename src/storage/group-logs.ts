import type { Membership } from '../core/types.js';
import { GroupExistsError, InvalidArgumentError, StorageClosedError, UnknownGroupError } from '../errors.js';
import { checkGroupId } from '../util/group-id.js';
import type { GroupId } from '../util/group-id.js';
import type { CorruptionError } from '../errors.js';
import { MemoryStorage } from './memory.js';
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../core/types.js';
import type { InitialState } from '../core/log-reader.js';
import type { LogStorage } from './storage.js';

/** A group found in a host's storage at open. */
export type GroupListing =
  | {
      /** The group's id. */
      readonly group: GroupId;
      /** The configuration its storage records, or null when it has none yet (a replica that joins). */
      readonly membership: Membership | null;
      /** Absent: the group can be opened. */
      readonly error?: undefined;
    }
  /** The group's record is damaged: the group cannot be opened, the others can. */
  | {
      /** The group's id. */
      readonly group: GroupId;
      /** What is damaged. */
      readonly error: CorruptionError;
    };

/**
 * The durable logs of every Raft group of a host: what `RaftHost` opens,
 * creates and removes groups' storages through. `LevelEngine` keeps them in
 * one LevelDB database with one group commit; {@link MemoryGroupLogs} in memory.
 */
export interface GroupLogs {
  /** Every group recorded, in id order. */
  listGroups(): Promise<GroupListing[]>;
  /** Records a new group and opens its log. Rejects with `GroupExistsError` for a known id. */
  createGroup(group: GroupId, options: { readonly membership?: Membership | null }): Promise<LogStorage>;
  /** Opens a recorded group's log. Rejects with `UnknownGroupError` for an unknown id. */
  openGroup(group: GroupId): Promise<LogStorage>;
  /** Deletes a group's log; it must be closed. Rejects with `UnknownGroupError` for an unknown id. */
  removeGroup(group: GroupId): Promise<void>;
  /** Closes every log still open, and the store. */
  close(): Promise<void>;
}

/**
 * {@link GroupLogs} in memory, for tests and simulations: each group a
 * `MemoryStorage`, which survives its own close and reopen (as a disk would)
 * until the group is removed.
 */
export class MemoryGroupLogs implements GroupLogs {
  private readonly groups = new Map<GroupId, { storage: MemoryStorage; membership: Membership | null }>();
  private readonly open = new Set<GroupId>();
  private closed = false;

  listGroups(): Promise<GroupListing[]> {
    if (this.closed) return Promise.reject(new StorageClosedError());
    const ids = [...this.groups.keys()].sort();
    return Promise.resolve(ids.map((group) => ({ group, membership: this.groups.get(group)!.membership })));
  }

  async createGroup(group: GroupId, options: { readonly membership?: Membership | null }): Promise<LogStorage> {
    this.checkOpen();
    checkGroupId(group, 'createGroup');
    if (this.groups.has(group)) throw new GroupExistsError(group);
    const membership = options.membership ?? null;
    this.groups.set(group, { storage: new MemoryStorage(membership), membership });
    return this.openGroup(group);
  }

  async openGroup(group: GroupId): Promise<LogStorage> {
    this.checkOpen();
    checkGroupId(group, 'openGroup');
    const entry = this.groups.get(group);
    if (entry === undefined) throw new UnknownGroupError(group, 'openGroup');
    if (this.open.has(group)) throw new InvalidArgumentError(`openGroup: group ${group} is open already`);
    this.open.add(group);
    return new OpenMemoryLog(entry.storage, () => this.open.delete(group));
  }

  async removeGroup(group: GroupId): Promise<void> {
    this.checkOpen();
    checkGroupId(group, 'removeGroup');
    if (!this.groups.has(group)) throw new UnknownGroupError(group, 'removeGroup');
    if (this.open.has(group)) throw new InvalidArgumentError(`removeGroup: close group ${group}'s storage first`);
    this.groups.delete(group);
  }

  close(): Promise<void> {
    this.closed = true;
    this.open.clear();
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}

/**
 * A group's open handle on its memory log: closing it closes the handle, not
 * the log, which stays for the next open, like a file on disk.
 */
class OpenMemoryLog implements LogStorage {
  private closed = false;

  constructor(
    private readonly log: MemoryStorage,
    private readonly onClose: () => void,
  ) {}

  initialState(): InitialState {
    this.checkOpen();
    return this.log.initialState();
  }

  firstIndex(): Index {
    this.checkOpen();
    return this.log.firstIndex();
  }

  lastIndex(): Index {
    this.checkOpen();
    return this.log.lastIndex();
  }

  term(index: Index): Term {
    this.checkOpen();
    return this.log.term(index);
  }

  entries(low: Index, high: Index, maxBytes: number): readonly Entry[] | undefined {
    this.checkOpen();
    return this.log.entries(low, high, maxBytes);
  }

  configEntries(): readonly Entry[] {
    this.checkOpen();
    return this.log.configEntries();
  }

  snapshotMeta(): SnapshotMeta {
    this.checkOpen();
    return this.log.snapshotMeta();
  }

  append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    if (this.closed) return Promise.reject(new StorageClosedError());
    return this.log.append(entries, hardState);
  }

  saveSnapshot(meta: SnapshotMeta): Promise<void> {
    if (this.closed) return Promise.reject(new StorageClosedError());
    return this.log.saveSnapshot(meta);
  }

  close(): Promise<void> {
    if (!this.closed) this.onClose();
    this.closed = true;
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }
}
