/**
 * Faults in the multi-group world strike hosts, as they strike machines:
 * a crash takes every replica of the host down and loses every group's
 * unsynced writes; a partition or a clog cuts or slows the host's one
 * connection to a peer host, so every group they share; a pause stops the
 * host's one clock, so every group on it. Disk faults strike one group's
 * disk on a host. The schedule is drawn as the single-group world's is
 * (faults.ts), with hosts for nodes.
 */
import { describeFault } from '../world/faults.js';
import type { FaultAction, ScheduledFault } from '../world/faults.js';
import { partitionOf } from '../world/partitions.js';
import { pick } from '../world/streams.js';
import type { HostWorld } from './host-world.js';

/** Injects a schedule of host faults into a world, and undoes each when its time runs out. */
export class HostFaultInjector {
  private active = true;
  private partitionGeneration = 0;
  private readonly pauseGeneration = new Map<string, number>();

  constructor(private readonly world: HostWorld) {}

  /** Schedules every fault of `schedule` on the world clock. */
  schedule(schedule: readonly ScheduledFault[]): void {
    for (const fault of schedule) {
      this.world.at(fault.atMs, () => {
        if (this.active) this.apply(fault.action);
      });
    }
  }

  /** No fault strikes any more (the liveness phase). */
  stop(): void {
    this.active = false;
  }

  /** Applies one fault now. */
  apply(action: FaultAction): void {
    const world = this.world;
    world.record(`fault ${describeFault(action)}`);
    switch (action.kind) {
      case 'partition': {
        const generation = ++this.partitionGeneration;
        world.mark('partition');
        world.network.partition(partitionOf(action.shape, action.order));
        world.at(world.now() + action.durationMs, () => {
          if (this.partitionGeneration !== generation) return;
          world.record('heal partition');
          world.network.partition([]);
        });
        return;
      }
      case 'clog':
        world.mark('clog');
        world.network.clog(action.a, action.b, world.now() + action.durationMs);
        return;
      case 'crash': {
        const host = world.host(action.node);
        if (host.state === 'down') return;
        if (action.duringWrite) {
          world.armCrashOnWrite(host, action.downMs);
          return;
        }
        world.crash(host);
        world.restartLater(host, action.downMs);
        return;
      }
      case 'pause':
        return this.pause(action.node, action.durationMs);
      case 'ioError': {
        const host = world.host(action.node);
        const groups = host.logs.ids();
        // Drawn only when the host holds a group, from the fault stream: the run stays a function of the seed.
        if (host.state !== 'up' || groups.length === 0) return;
        world.armIoError(host, pick(world.streams.faults, groups), action.downMs);
        return;
      }
      case 'transfer':
        return this.transfer(action.target);
      case 'churn':
        // Not drawn in a multi-group world (HOST_FAULT_KINDS): moving replicas belongs to the sharded key-value service.
        throw new RangeError('a multi-group world has no churn fault');
    }
  }

  /** Resumes every paused host now (the liveness phase). */
  resumeAll(): void {
    for (const host of this.world.hosts) {
      const clock = host.clock;
      if (clock?.isPaused !== true) continue;
      this.pauseGeneration.set(host.id, (this.pauseGeneration.get(host.id) ?? 0) + 1);
      this.world.record(`${host.id} resume`);
      clock.resume();
    }
  }

  /**
   * Asks the leader of one of `target`'s groups (drawn from the fault
   * stream among those led by another host) to hand leadership to it.
   */
  private transfer(target: string): void {
    const world = this.world;
    const host = world.host(target);
    const led = world.params.groups.filter(({ group, members }) => {
      const leader = members.includes(target) && host.replica(group) !== null ? world.leaderOf(group) : null;
      return leader !== null && leader.id !== target;
    });
    if (led.length === 0) return;
    const { group } = pick(world.streams.faults, led);
    const leader = world.leaderOf(group)!;
    const raft = leader.replica(group)?.node;
    if (raft === null || raft === undefined) return;
    world.mark('transferStarted');
    leader.runOn(() => {
      raft.transferLeadership(target).then(
        () => {
          world.mark('transferCompleted');
          world.record(`${group}: transfer to ${target} completed`);
        },
        () => undefined,
      );
    });
  }

  private pause(id: string, durationMs: number): void {
    const world = this.world;
    const host = world.host(id);
    const clock = host.clock;
    if (host.state === 'down' || clock === null || clock.isPaused) return;
    const generation = (this.pauseGeneration.get(id) ?? 0) + 1;
    this.pauseGeneration.set(id, generation);
    world.mark('pause');
    world.markHost('hostPaused');
    clock.pause();
    world.at(world.now() + durationMs, () => {
      if (this.pauseGeneration.get(id) !== generation || host.clock !== clock) return;
      world.record(`${id} resume`);
      clock.resume();
    });
  }
}
