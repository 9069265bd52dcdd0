/**
 * What a person can do to the running world from the page, and how each is
 * done: through the simulator's own world operations (a crash loses unsynced
 * writes as a scheduled crash does) and through the public API of the
 * unchanged `RaftNode` (a client write is a `propose`, a transfer is
 * `transferLeadership`, a membership change goes through the simulator's
 * churn fault). Each action is recorded with the moment it was taken (the
 * number of world turns before it), so a replay of the run takes it again at
 * exactly the same point.
 */
import type { NodeId } from '../../src/core/types.js';
import { describeError } from '../../sim/world/errors.js';
import { encodeKvCommand } from '../../sim/world/kv-state-machine.js';
import type { KvStateMachine } from '../../sim/world/kv-state-machine.js';
import { isolateOne } from '../../sim/world/partitions.js';
import type { Link } from '../../sim/world/partitions.js';
import { CHURN_VOTERS_MAX, CHURN_VOTERS_MIN } from '../../sim/world/params.js';
import { FaultInjector } from '../../sim/world/world-faults.js';
import type { World } from '../../sim/world/world.js';

/** The key the page's own client writes; the simulated clients never use it, so their history stays checkable. */
export const PLAYGROUND_KEY = 'playground';

/** One action of a person on the world. */
export type UserAction =
  | { readonly kind: 'crash' | 'restart' | 'pause' | 'resume' | 'isolate'; readonly node: NodeId }
  | { readonly kind: 'remove'; readonly node: NodeId }
  | { readonly kind: 'cut'; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: 'heal' }
  | { readonly kind: 'write'; readonly node: NodeId; readonly value: string }
  | { readonly kind: 'transfer'; readonly target: NodeId }
  | { readonly kind: 'add' };

/** An action and when it was taken: before the world's turn number `atTurn` ran. */
export interface TimedAction {
  readonly atTurn: number;
  readonly action: UserAction;
}

/** How a write of the page's client ended, as the page shows it. */
export interface WriteOutcome {
  readonly value: string;
  readonly node: NodeId;
  status: 'pending' | 'ok' | 'failed';
  detail: string;
}

/** A short description of an action, for the page's list and the trace. */
export function describeAction(action: UserAction): string {
  switch (action.kind) {
    case 'cut':
      return `cut ${action.from}→${action.to}`;
    case 'heal':
      return 'heal the network';
    case 'write':
      return `write ${PLAYGROUND_KEY}=${action.value} on ${action.node}`;
    case 'transfer':
      return `transfer leadership to ${action.target}`;
    case 'add':
      return 'add a member';
    default:
      return `${action.kind} ${action.node}`;
  }
}

/** Applies actions to one world; keeps the outcomes of the page's writes. */
export class ActionApplier {
  readonly writes: WriteOutcome[] = [];
  private readonly faults: FaultInjector;

  constructor(private readonly world: World) {
    this.faults = new FaultInjector(world);
  }

  /** Takes `action` now. The world must be between two events (the page only acts then). */
  apply(action: UserAction): void {
    const world = this.world;
    world.record(`user: ${describeAction(action)}`);
    switch (action.kind) {
      case 'crash':
        return world.crash(world.node(action.node));
      case 'restart':
        return world.restart(world.node(action.node));
      case 'pause':
        return world.node(action.node).clock?.pause();
      case 'resume':
        return world.node(action.node).clock?.resume();
      case 'isolate':
        return this.cut(isolateOne(world.ids(), action.node));
      case 'cut':
        return this.cut([{ from: action.from, to: action.to }]);
      case 'heal':
        return world.network.partition([]);
      case 'write':
        return this.write(action.node, action.value);
      case 'transfer':
        return this.faults.apply({ kind: 'transfer', target: action.target });
      case 'add':
      case 'remove':
        return this.changeMembership(action);
    }
  }

  /**
   * Asks the leader for a membership change, as the simulator's churn fault
   * does, and says in the trace when it was not even asked (no leader, a
   * change under way, or the voters would leave 3 to 7).
   */
  private changeMembership(action: { readonly kind: 'add' } | { readonly kind: 'remove'; readonly node: NodeId }): void {
    const world = this.world;
    const skipped = world.coverage.changeSkipped;
    const node = action.kind === 'remove' ? action.node : world.ids()[0]!;
    this.faults.apply({ kind: 'churn', op: action.kind, node, leader: false });
    if (world.coverage.changeSkipped > skipped) {
      world.record(`user: ${describeAction(action)} not asked: no leader, a change under way, or the voters would leave ${CHURN_VOTERS_MIN} to ${CHURN_VOTERS_MAX}`);
    }
  }

  /** Adds `links` to the links cut now. */
  private cut(links: readonly Link[]): void {
    const current = this.world.network.currentCuts();
    const fresh = links.filter((link) => !current.some((cut) => cut.from === link.from && cut.to === link.to));
    this.world.network.partition([...current, ...fresh]);
  }

  /** A client write of `value` to {@link PLAYGROUND_KEY}, proposed on `id` (a follower forwards it to the leader). */
  private write(id: NodeId, value: string): void {
    const world = this.world;
    const outcome: WriteOutcome = { value, node: id, status: 'pending', detail: 'proposed' };
    this.writes.push(outcome);
    const simNode = world.node(id);
    const raft = simNode.node;
    if (simNode.state !== 'up' || raft === null) {
      outcome.status = 'failed';
      outcome.detail = `${id} is down`;
      return;
    }
    const settle = (status: 'ok' | 'failed', detail: string): void => {
      outcome.status = status;
      outcome.detail = detail;
      world.record(`user: write ${value} ${status === 'ok' ? 'committed and applied' : `failed: ${detail}`}`);
    };
    simNode.runOn(() => {
      raft.propose(encodeKvCommand({ op: 'put', key: PLAYGROUND_KEY, value }), { timeoutMs: world.params.requestTimeoutMs }).then(
        () => settle('ok', `applied on ${id}`),
        (error: unknown) => settle('failed', describeError(error)),
      );
    });
  }
}

/** The value of {@link PLAYGROUND_KEY} in a node's state machine, or null. */
export function playgroundValue(machine: unknown): string | null {
  return (machine as KvStateMachine).get(PLAYGROUND_KEY);
}
