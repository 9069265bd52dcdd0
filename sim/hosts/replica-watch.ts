/**
 * What the multi-group world sees of one replica (one group on one host, in
 * one incarnation of the host): the entries it applies, the snapshots it
 * takes or installs and the state they hold, and what the safety checker
 * observes of it, re-read only when something it shows changed. The same
 * watching `SimNode` does for a single-group node, per replica.
 */
import type { CoreReader } from '../../src/core/raw-node.js';
import type { Entry, HardState, Index, NodeId } from '../../src/core/types.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import { observationOf } from '../../src/testing/invariants.js';
import type { NodeObservation } from '../../src/testing/invariants.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { KvStateMachine } from '../world/kv-state-machine.js';
import type { DiskHandle, SimDisk } from '../world/sim-disk.js';

/** What a replica's watch reports to its world. */
export interface ReplicaWatchHost {
  applied(host: NodeId, group: GroupId, entry: Entry): void;
  snapshotted(host: NodeId, group: GroupId, index: Index, digest: string): void;
  roleChanged(host: NodeId, group: GroupId, role: string, term: number): void;
  /** The replica stopped on its own (`fatal`, `snapshotFailed`). */
  failed(host: NodeId, group: GroupId, error: Error): void;
  note(event: string): void;
}

/** One replica of one host incarnation, watched. */
export class ReplicaWatch {
  node: RaftNode<unknown> | null = null;
  /** The replica's disk handle in this incarnation, or null once the host died. */
  private handle: DiskHandle | null = null;
  /** Digest of the state machine at each snapshot capture not yet reported taken. */
  readonly capturedDigests = new Map<Index, string>();
  private reportedApplied: Index = 0;
  private readonly stamp: (string | number | null | undefined)[] = [];
  private seen: { readonly core: CoreReader; changes: number; writes: number; durable: HardState } | null = null;
  private observed: { core: CoreReader; changes: number; writes: number; durable: HardState; observation: NodeObservation } | null = null;
  /** World time a failed write was first seen while the replica still ran (see the world's I/O check). */
  diskFailedSinceMs: number | null = null;
  /** Set once the replica stopped on its own: it is no longer observed. */
  stopped = false;

  constructor(
    readonly hostId: NodeId,
    readonly group: GroupId,
    readonly members: readonly NodeId[],
    readonly machine: KvStateMachine,
    readonly disk: SimDisk,
    private readonly world: ReplicaWatchHost,
  ) {}

  /** The replica's node opened on `handle`: report what it applied during the open, then every event. */
  attach(node: RaftNode<unknown>, handle: DiskHandle): void {
    this.node = node;
    this.handle = handle;
    this.reportedApplied = handle.firstIndex() - 1;
    this.subscribe(node);
    const applied = node.status().appliedIndex;
    for (let index = this.reportedApplied + 1; index <= applied; index++) this.reportApplied(index);
  }

  /** True while the replica runs (its host is up and it did not stop). */
  get running(): boolean {
    return this.node !== null && this.handle !== null && !this.stopped;
  }

  /** True when a write of this replica's disk failed with an I/O error. */
  get diskFailed(): boolean {
    return this.handle?.failed === true;
  }

  /** The host died: nothing of this incarnation is watched any more. */
  detach(): void {
    this.node = null;
    this.handle = null;
  }

  /** True when anything {@link observe} reports changed since the last call, or the replica started or stopped. */
  changedSinceLastLook(): boolean {
    const node = this.node;
    const handle = this.handle;
    const stamp = this.stamp;
    if (node === null || handle === null || this.stopped) {
      const changed = stamp.length > 0;
      stamp.length = 0;
      this.seen = null;
      return changed;
    }
    const core = node.coreReader();
    const durable = this.disk.durableHardState();
    const seen = this.seen;
    if (seen !== null && seen.core === core && seen.changes === core.changeCount && seen.writes === handle.writeCount && seen.durable === durable) return false;
    if (seen === null || seen.core !== core) this.seen = { core, changes: core.changeCount, writes: handle.writeCount, durable };
    else {
      // Most changes are ticks: the same record is updated in place rather than allocated anew.
      seen.changes = core.changeCount;
      seen.writes = handle.writeCount;
      seen.durable = durable;
    }
    const changedBefore = stamp.length === 0;
    const lastIndex = core.lastIndex();
    let at = 0;
    let differs = 0;
    differs |= note(stamp, at++, core.role);
    differs |= note(stamp, at++, core.currentTerm);
    differs |= note(stamp, at++, core.vote);
    differs |= note(stamp, at++, durable.term);
    differs |= note(stamp, at++, durable.vote);
    differs |= note(stamp, at++, core.commitIndex);
    differs |= note(stamp, at++, core.appliedIndex);
    differs |= note(stamp, at++, core.firstIndex());
    differs |= note(stamp, at++, lastIndex);
    differs |= note(stamp, at++, core.term(lastIndex));
    for (const id of this.members) differs |= note(stamp, at++, core.matchIndex(id));
    return changedBefore || differs !== 0;
  }

  /** What the group's safety checker sees of this replica, or null when it is not running. */
  observe(): NodeObservation | null {
    const node = this.node;
    const handle = this.handle;
    if (node === null || handle === null || this.stopped) return null;
    const core = node.coreReader();
    const durable = this.disk.durableHardState();
    const last = this.observed;
    if (last !== null && last.core === core && last.changes === core.changeCount && last.writes === handle.writeCount && last.durable === durable) {
      return last.observation;
    }
    const view = node.inspect();
    const observation = observationOf(view.core, durable, (index) => view.term(index), view.configIndexes);
    this.observed = { core, changes: core.changeCount, writes: handle.writeCount, durable, observation };
    return observation;
  }

  private subscribe(node: RaftNode<unknown>): void {
    const world = this.world;
    const id = this.hostId;
    const group = this.group;
    node.on('role', (role) => {
      if (this.node === node) world.roleChanged(id, group, role, node.status().term);
    });
    node.on('apply', (index) => {
      if (this.node === node) this.reportApplied(index);
    });
    node.on('snapshot', ({ kind, index }) => {
      if (this.node !== node) return;
      this.reportedApplied = Math.max(this.reportedApplied, index);
      const digest = kind === 'taken' ? this.capturedDigests.get(index) : this.machine.digest();
      for (const captured of this.capturedDigests.keys()) if (captured <= index) this.capturedDigests.delete(captured);
      if (digest === undefined) {
        world.failed(id, group, new Error(`${id}/${group} reported a snapshot taken at ${index} that it never captured`));
        return;
      }
      world.note(`${id}/${group} snapshot ${index} digest ${digest}`);
      world.snapshotted(id, group, index, digest);
    });
    node.on('snapshotFailed', (error) => {
      if (this.node === node) world.failed(id, group, error);
    });
    node.on('fatal', (error) => {
      if (this.node === node) world.failed(id, group, error);
    });
  }

  private reportApplied(index: Index): void {
    if (index <= this.reportedApplied) return;
    this.reportedApplied = index;
    const handle = this.handle;
    if (handle === null || index < handle.firstIndex() || index > handle.lastIndex()) return;
    const entry = handle.entries(index, index + 1, Number.POSITIVE_INFINITY)[0];
    if (entry !== undefined) this.world.applied(this.hostId, this.group, entry);
  }
}

/** Stores `value` at `at` in `stamp`; 1 when it differed from what was there. */
function note(stamp: (string | number | null | undefined)[], at: number, value: string | number | null | undefined): number {
  if (stamp[at] === value) return 0;
  stamp[at] = value;
  return 1;
}
