/**
 * Applies fault actions to a {@link World}, and undoes each one when its
 * duration runs out, unless a later fault already replaced it (a newer
 * partition, a restarted node). Faults stop once the world enters its
 * liveness phase; the undo actions still run, so nodes outside the healed
 * core recover on their own schedule.
 */
import { describeFault } from './faults.js';
import type { FaultAction, ScheduledFault } from './faults.js';
import { partitionOf } from './partitions.js';
import type { World } from './world.js';

/** Injects a schedule of faults into a world. */
export class FaultInjector {
  private active = true;
  private partitionGeneration = 0;
  /** Per node: pause generation, so a resume only ends the pause it belongs to. */
  private readonly pauseGeneration = new Map<string, number>();

  constructor(private readonly world: World) {}

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
      case 'partition':
        return this.partition(action);
      case 'clog':
        world.mark('clog');
        world.network.clog(action.a, action.b, world.now() + action.durationMs);
        return;
      case 'crash': {
        const node = world.node(action.node);
        if (node.state !== 'up') return;
        if (action.duringWrite) {
          world.armCrashOnWrite(node, action.downMs);
          return;
        }
        world.crash(node);
        world.restartLater(node, action.downMs);
        return;
      }
      case 'pause':
        return this.pause(action.node, action.durationMs);
      case 'ioError':
        world.armIoError(world.node(action.node), action.downMs);
        return;
      case 'transfer':
        return this.transfer(action.target);
    }
  }

  private partition(action: Extract<FaultAction, { kind: 'partition' }>): void {
    const world = this.world;
    const generation = ++this.partitionGeneration;
    world.mark('partition');
    world.network.partition(partitionOf(action.shape, action.order));
    world.at(world.now() + action.durationMs, () => {
      if (this.partitionGeneration !== generation) return;
      world.record('heal partition');
      world.network.partition([]);
    });
  }

  private pause(id: string, durationMs: number): void {
    const world = this.world;
    const node = world.node(id);
    const clock = node.clock;
    if (node.state !== 'up' || clock === null || clock.isPaused) return;
    const generation = (this.pauseGeneration.get(id) ?? 0) + 1;
    this.pauseGeneration.set(id, generation);
    world.mark('pause');
    clock.pause();
    world.at(world.now() + durationMs, () => {
      if (this.pauseGeneration.get(id) !== generation || node.clock !== clock) return;
      world.record(`${id} resume`);
      clock.resume();
    });
  }

  /** Asks the current leader to hand over to `target`. */
  private transfer(target: string): void {
    const world = this.world;
    const leader = world.leader();
    const raft = leader?.node;
    if (leader === null || raft === null || raft === undefined || leader.id === target) return;
    world.mark('transferStarted');
    leader.runOn(() => {
      try {
        raft.transferLeadership(target).then(
          () => {
            world.mark('transferCompleted');
            world.record(`transfer to ${target} completed`);
          },
          () => undefined,
        );
      } catch {
        // The leader stepped down before the request ran: an expected outcome.
      }
    });
  }

  /** Resumes every paused node among `ids` now (the liveness phase heals its core). */
  resumeAll(ids: readonly string[]): void {
    for (const id of ids) {
      const clock = this.world.node(id).clock;
      if (clock?.isPaused !== true) continue;
      this.pauseGeneration.set(id, (this.pauseGeneration.get(id) ?? 0) + 1);
      this.world.record(`${id} resume`);
      clock.resume();
    }
  }
}
