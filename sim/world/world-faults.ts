/**
 * Applies fault actions to a {@link World}, and undoes each one when its
 * duration runs out, unless a later fault already replaced it (a newer
 * partition, a restarted node). Faults stop once the world enters its
 * liveness phase; the undo actions still run, so nodes outside the healed
 * core recover on their own schedule.
 */
import { describeError } from './errors.js';
import { describeFault } from './faults.js';
import type { ChurnOp, FaultAction, ScheduledFault } from './faults.js';
import { CHURN_NEW_NODES_MAX, CHURN_VOTERS_MAX, CHURN_VOTERS_MIN } from './params.js';
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
      case 'churn':
        return this.churn(action);
    }
  }

  /**
   * Asks the node leading now for a membership change. A change refused
   * (another in progress, leadership lost, a timeout) is a normal outcome and
   * only counted; one that would take the voters outside
   * {@link CHURN_VOTERS_MIN}..{@link CHURN_VOTERS_MAX}, or that names no
   * current member, is skipped before it is asked.
   */
  private churn(action: Extract<FaultAction, { kind: 'churn' }>): void {
    const world = this.world;
    const leader = world.leader();
    const raft = leader?.node;
    if (leader === null || raft === null || raft === undefined) return world.mark('changeSkipped');
    const status = raft.status();
    const voters = status.members.length;
    const target = action.leader ? leader.id : action.node;
    const isMember = status.members.includes(target) || status.learners.includes(target);
    const tooMany = action.op === 'add' && voters >= CHURN_VOTERS_MAX;
    const tooFew = action.op === 'remove' && voters <= CHURN_VOTERS_MIN;
    const noNewNode = action.op !== 'remove' && world.nodes.length - world.params.ids.length >= CHURN_NEW_NODES_MAX;
    if (tooMany || tooFew || noNewNode || status.joint !== null || (action.op !== 'add' && !isMember)) return world.mark('changeSkipped');
    const fresh = action.op === 'remove' ? null : world.createJoiningNode().id;
    const label = action.op === 'add' ? `add ${fresh}` : action.op === 'remove' ? `remove ${target}` : `replace ${target} by ${fresh}`;
    const isLeader = target === leader.id;
    leader.runOn(() => {
      let change: Promise<void>;
      try {
        if (fresh === null) change = raft.removeMember(target);
        else if (action.op === 'add') change = raft.addVoter(fresh, `local:${fresh}`);
        else change = raft.replaceMember(target, fresh, `local:${fresh}`);
      } catch (error) {
        // Some refusals are thrown at once rather than rejected.
        this.refused(label, error);
        return;
      }
      change.then(
        () => this.changed(action.op, label, isLeader),
        (error: unknown) => this.refused(label, error),
      );
    });
  }

  private changed(op: ChurnOp, label: string, leaderTarget: boolean): void {
    const world = this.world;
    world.record(`churn ${label} committed`);
    if (op === 'add') world.mark('voterAdded');
    else if (op === 'remove') world.mark(leaderTarget ? 'leaderRemoved' : 'memberRemoved');
    else world.mark(leaderTarget ? 'leaderReplaced' : 'memberReplaced');
  }

  private refused(label: string, error: unknown): void {
    this.world.mark('changeRefused');
    this.world.record(`churn ${label} refused: ${describeError(error)}`);
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
