/**
 * {@link GroupLogs} over simulated disks: one {@link SimDisk} per group on a
 * simulated host, with the fsync model of sim-disk.ts (a write is durable
 * once its promise resolves; a crash loses the rest, or keeps a random
 * prefix). What `RaftHost` runs on in the multi-group world, in place of
 * `LevelEngine`.
 *
 * One disk per group is more adversarial than the shared engine it stands
 * for: `LevelEngine` writes every group's entries of a round in one synced
 * batch, so its groups' unsynced writes are lost or kept together; here each
 * group's are lost or kept on their own. Every behaviour of the shared
 * engine is one of this model's, so a safety bug the engine could expose,
 * this model can too.
 *
 * The directory of groups (which groups exist, with their founding
 * membership) is durable as soon as `createGroup` returns, as a host's
 * metadata record would be; the groups' logs follow the disk model.
 */
import type { Membership } from '../../src/core/types.js';
import { GroupExistsError, InvalidArgumentError, StorageClosedError, UnknownGroupError } from '../../src/errors.js';
import type { GroupListing, GroupLogs } from '../../src/storage/group-logs.js';
import type { LogStorage } from '../../src/storage/storage.js';
import type { Clock } from '../../src/util/clock.js';
import { checkGroupId } from '../../src/util/group-id.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { SeededRandom } from '../../src/util/random.js';
import { SimDisk } from '../world/sim-disk.js';
import type { DiskEvent, DiskHandle, DiskOptions } from '../world/sim-disk.js';

/** What the group logs of one simulated host need from their world. */
export interface SimGroupLogsHost {
  /** Disk behaviour of every group's disk on this host. */
  readonly disk: DiskOptions;
  /** The host's disk stream: each new group's disk gets a stream split off it, in creation order. */
  readonly random: SeededRandom;
  /** A group's disk reported something. */
  report(group: GroupId, event: DiskEvent): void;
}

interface GroupRecord {
  readonly disk: SimDisk;
  readonly membership: Membership | null;
  /** The open handle of the current incarnation, or null. */
  handle: DiskHandle | null;
}

/**
 * The logs of every group of one simulated host, across its incarnations:
 * {@link SimGroupLogs.beginIncarnation} gives each new incarnation its clock,
 * {@link SimGroupLogs.crash} pulls the plug on every group's disk at once.
 */
export class SimGroupLogs implements GroupLogs {
  private readonly groups = new Map<GroupId, GroupRecord>();
  private clock: Clock | null = null;

  constructor(private readonly host: SimGroupLogsHost) {}

  /** A new incarnation of the host starts; its groups' disk timers run on `clock`. */
  beginIncarnation(clock: Clock): void {
    this.clock = clock;
  }

  /**
   * The machine lost power: every group's unsynced writes are lost (or a
   * random prefix kept, per disk), every open handle is revoked. Returns the
   * writes lost over all groups.
   */
  crash(): number {
    this.clock = null;
    let lost = 0;
    // In id order, so the disks' draws do not depend on the order groups were opened in.
    for (const group of this.ids()) {
      const record = this.groups.get(group)!;
      lost += record.disk.crash();
      record.handle = null;
    }
    return lost;
  }

  /** The disk of `group`, or undefined when this host holds none. */
  disk(group: GroupId): SimDisk | undefined {
    return this.groups.get(group)?.disk;
  }

  /** The open handle of `group` in the current incarnation, or null. */
  handle(group: GroupId): DiskHandle | null {
    return this.groups.get(group)?.handle ?? null;
  }

  /** Every group recorded, in id order. */
  ids(): GroupId[] {
    return [...this.groups.keys()].sort();
  }

  listGroups(): Promise<GroupListing[]> {
    return Promise.resolve(this.ids().map((group) => ({ group, membership: this.groups.get(group)!.membership })));
  }

  async createGroup(group: GroupId, options: { readonly membership?: Membership | null }): Promise<LogStorage> {
    checkGroupId(group, 'createGroup');
    if (this.groups.has(group)) throw new GroupExistsError(group);
    const disk = new SimDisk(this.host.random.split(), this.host.disk, (event) => this.host.report(group, event));
    this.groups.set(group, { disk, membership: options.membership ?? null, handle: null });
    return this.openGroup(group);
  }

  async openGroup(group: GroupId): Promise<LogStorage> {
    checkGroupId(group, 'openGroup');
    const record = this.groups.get(group);
    if (record === undefined) throw new UnknownGroupError(group, 'openGroup');
    if (this.clock === null) throw new StorageClosedError();
    if (record.handle !== null && record.handle.revoked) {
      // Closed by its host (a refused safe drop reopens the group): what was written stays, like a closed file.
      if (record.handle.pendingWrites() === 0) record.disk.release();
      else record.disk.crash();
      record.handle = null;
    }
    if (record.handle !== null) throw new InvalidArgumentError(`openGroup: group ${group} is open already`);
    record.handle = record.disk.open(this.clock);
    return record.handle;
  }

  async removeGroup(group: GroupId): Promise<void> {
    checkGroupId(group, 'removeGroup');
    const record = this.groups.get(group);
    if (record === undefined) throw new UnknownGroupError(group, 'removeGroup');
    record.disk.crash();
    this.groups.delete(group);
  }

  /** The host's clean close: nothing to do; the disks outlive every incarnation. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
