/**
 * Randomized fault schedules for a {@link CoreCluster}: the kinds of step,
 * their weights, how each step is applied, and the liveness check after
 * healing. Shared by the fast-check property test (which draws schedules from
 * arbitraries so failures shrink) and by `keel sim` (which draws them from a
 * seeded generator so one integer replays a run).
 */
import { isMember, isVoter, membersOf } from '../src/confchange/confchange.js';
import type { ConfChange } from '../src/confchange/confchange.js';
import type { Membership } from '../src/core/types.js';
import { ConfChangeInProgressError, InvalidConfChangeError, LeaderNotReadyError, ProposalDroppedError } from '../src/errors.js';
import type { CoreCluster } from '../src/testing/core-cluster.js';
import type { SeededRandom } from '../src/util/random.js';

export type ScheduleStep =
  | { readonly kind: 'tick'; readonly node: number }
  | { readonly kind: 'tickAll' }
  | { readonly kind: 'ready'; readonly node: number }
  | { readonly kind: 'readyPhase'; readonly node: number }
  | { readonly kind: 'flush' }
  | { readonly kind: 'deliver'; readonly pick: number }
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'duplicate'; readonly pick: number }
  | { readonly kind: 'propose'; readonly node: number }
  | { readonly kind: 'read'; readonly node: number }
  | { readonly kind: 'crash'; readonly node: number }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'compact'; readonly node: number }
  | { readonly kind: 'transfer'; readonly node: number }
  | { readonly kind: 'confChange'; readonly node: number; readonly pick: number };

export type StepKind = ScheduleStep['kind'];

/**
 * How often each kind of step is drawn. Message handling dominates so that
 * elections and replication complete between faults; `readyPhase` runs one
 * phase of the Ready contract at a time so crashes land between taking,
 * persisting and sending.
 */
export const STEP_WEIGHTS: Readonly<Record<StepKind, number>> = {
  tick: 6,
  tickAll: 3,
  ready: 40,
  readyPhase: 15,
  flush: 2,
  deliver: 60,
  drop: 3,
  duplicate: 2,
  propose: 10,
  read: 2,
  crash: 1,
  restart: 3,
  partition: 1,
  heal: 4,
  compact: 2,
  transfer: 1,
  confChange: 3,
};

/** Largest node and message selectors drawn; applied modulo the cluster size and the wire length. */
export const NODE_SELECTOR_MAX = 6;
export const PICK_SELECTOR_MAX = 1000;
export const PARTITION_MASK_MAX = 127;

/** What a run reached: each counter shows that the schedule exercised that situation. */
export interface ScheduleStats {
  steps: number;
  proposals: number;
  leaderChanges: number;
  crashes: number;
  snapshotsSent: number;
  reads: number;
  transfers: number;
  /** Configuration changes the leader accepted (each entering or leaving a joint configuration counts). */
  confChanges: number;
  /** Of those, changes that entered a joint configuration. */
  jointChanges: number;
  /** Of those, changes that removed the leader itself. */
  leaderRemovals: number;
}

export function emptyStats(): ScheduleStats {
  return { steps: 0, proposals: 0, leaderChanges: 0, crashes: 0, snapshotsSent: 0, reads: 0, transfers: 0, confChanges: 0, jointChanges: 0, leaderRemovals: 0 };
}

const KINDS = Object.keys(STEP_WEIGHTS) as StepKind[];
const TOTAL_WEIGHT = KINDS.reduce((sum, kind) => sum + STEP_WEIGHTS[kind], 0);

/** Draws one step from a seeded generator with {@link STEP_WEIGHTS}. */
export function randomStep(random: SeededRandom): ScheduleStep {
  let draw = random.nextInt(TOTAL_WEIGHT);
  let kind: StepKind = 'tick';
  for (const candidate of KINDS) {
    draw -= STEP_WEIGHTS[candidate];
    if (draw < 0) {
      kind = candidate;
      break;
    }
  }
  return makeStep(kind, random.nextInt(NODE_SELECTOR_MAX + 1), random.nextInt(PICK_SELECTOR_MAX + 1), random.nextInt(PARTITION_MASK_MAX + 1));
}

/** Builds a step of `kind` from raw selectors (shared by the seeded and the fast-check generators). */
export function makeStep(kind: StepKind, node: number, pick: number, mask: number): ScheduleStep {
  switch (kind) {
    case 'tickAll':
    case 'flush':
    case 'heal':
      return { kind };
    case 'deliver':
    case 'drop':
    case 'duplicate':
      return { kind, pick };
    case 'confChange':
      return { kind, node, pick };
    case 'partition':
      return { kind, mask };
    default:
      return { kind, node };
  }
}

/** A per-run counter that makes every proposed payload and read id unique. */
export interface RunState {
  next: number;
  lastLeader: string | null;
}

/** Applies one step to the cluster, then checks every invariant (the cluster throws on a violation). */
export function applyStep(cluster: CoreCluster, step: ScheduleStep, run: RunState, stats: ScheduleStats): void {
  applyFault(cluster, step, run, stats);
  cluster.observe();
  stats.steps++;
  const leader = cluster.leader();
  if (leader !== null && leader !== run.lastLeader) stats.leaderChanges++;
  run.lastLeader = leader;
}

function applyFault(cluster: CoreCluster, step: ScheduleStep, run: RunState, stats: ScheduleStats): void {
  const ids = cluster.ids;
  const idOf = (n: number): string => ids[n % ids.length]!;
  const live = (n: number): boolean => cluster.node(idOf(n)).alive;
  const at = (p: number): number => p % Math.max(1, cluster.inFlight.length);
  switch (step.kind) {
    case 'tick':
      return cluster.tick(idOf(step.node));
    case 'tickAll':
      return cluster.tickAll();
    case 'ready':
      cluster.processReady(idOf(step.node));
      return;
    case 'readyPhase':
      cluster.advanceReady(idOf(step.node));
      return;
    case 'flush':
      while (cluster.inFlight.length > 0) cluster.deliver(0);
      return;
    case 'deliver':
      if (cluster.inFlight[at(step.pick)]?.message.type === 'installSnapshot') stats.snapshotsSent++;
      return cluster.deliver(at(step.pick));
    case 'drop':
      return cluster.drop(at(step.pick));
    case 'duplicate':
      return cluster.duplicate(at(step.pick));
    case 'propose':
      if (!live(step.node) || cluster.raw(idOf(step.node)).status().role !== 'leader') return;
      try {
        cluster.propose(idOf(step.node), new TextEncoder().encode(`p${run.next++}`));
        stats.proposals++;
      } catch (error) {
        // Refused during a leadership transfer or over the uncommitted cap: an expected outcome.
        if (!(error instanceof ProposalDroppedError)) throw error;
      }
      return;
    case 'read':
      if (!live(step.node) || cluster.raw(idOf(step.node)).status().leader === null) return;
      cluster.readIndex(idOf(step.node), `r${run.next++}`);
      stats.reads++;
      return;
    case 'crash':
      if (live(step.node)) stats.crashes++;
      return cluster.crash(idOf(step.node));
    case 'restart':
      return cluster.restart(idOf(step.node));
    case 'partition':
      cluster.heal();
      return cluster.isolate(ids.filter((_, i) => (step.mask >> i) & 1));
    case 'heal':
      return cluster.heal();
    case 'compact':
      cluster.compact(idOf(step.node));
      return;
    case 'transfer': {
      // Ask the current leader, if any, to hand leadership to the selected node.
      const leader = cluster.leader();
      // Only a voter of the leader's configuration can take over (membership churn makes others likely).
      if (leader === null || !cluster.raw(leader).status().voters.includes(idOf(step.node))) return;
      cluster.transferLeadership(leader, idOf(step.node));
      stats.transfers++;
      return;
    }
    case 'confChange':
      changeMembership(cluster, idOf(step.node), idOf(step.node + 1 + (step.pick % Math.max(1, ids.length - 1))), step.pick, stats);
      return;
  }
}

/**
 * Membership churn: asks the leader to change the role of `target` — add a
 * non-member as learner or voter, promote a learner, remove a member (the
 * leader included) — and, for some picks, of `second` too in the same
 * joint change, left automatically or (for a fifth of them) explicitly by a
 * later churn step. Refusals the protocol makes (another change
 * uncommitted, no commit in this term yet, a transfer under way, a change
 * set that does not apply) are expected outcomes.
 */
function changeMembership(cluster: CoreCluster, target: string, second: string, pick: number, stats: ScheduleStats): void {
  const leader = cluster.leader();
  if (leader === null) return;
  const membership = cluster.raw(leader).status().membership;
  try {
    if ((membership.outgoingVoters?.length ?? 0) > 0) {
      cluster.leaveJoint(leader);
      stats.confChanges++;
      return;
    }
    const joint = pick % 3 === 2 && second !== target;
    const changes = joint ? [changeFor(membership, target, pick), changeFor(membership, second, pick >> 2)] : [changeFor(membership, target, pick)];
    cluster.proposeConfChange(leader, changes, joint ? { joint: true, autoLeave: pick % 5 !== 0 } : {});
    stats.confChanges++;
    if (joint) stats.jointChanges++;
    if (changes.some((change) => change.type === 'removeNode' && change.node === leader)) stats.leaderRemovals++;
  } catch (error) {
    const expected = [ConfChangeInProgressError, InvalidConfChangeError, LeaderNotReadyError, ProposalDroppedError];
    if (!expected.some((kind) => error instanceof kind)) throw error;
  }
}

/** A change for `node` that makes sense in `membership`, varied by `pick`. */
function changeFor(membership: Membership, node: string, pick: number): ConfChange {
  if (isVoter(membership, node)) return { type: 'removeNode', node };
  if (isMember(membership, node)) return { type: pick % 2 === 0 ? 'addVoter' : 'removeNode', node };
  return { type: pick % 2 === 0 ? 'addVoter' : 'addLearner', node };
}

/**
 * The liveness phase: heal the network, restart every node, then tick until a
 * leader of the current term has committed in its term and every node has
 * applied the same commit index. Returns the ticks it took, or null when
 * `maxTicks` was not enough.
 */
export function healAndConverge(cluster: CoreCluster, maxTicks: number): number | null {
  cluster.heal();
  for (const id of cluster.ids) cluster.restart(id);
  for (let ticks = 0; ticks < maxTicks; ticks++) {
    restartMembers(cluster);
    if (converged(cluster)) return ticks;
    cluster.tickAndStabilize();
  }
  return converged(cluster) ? maxTicks : null;
}

/**
 * Once a leader's configuration is committed, its members run. Nodes outside
 * it keep running too: a removed node that never learned of its removal
 * campaigns on its own, and must neither win nor keep the members from
 * converging, with or without PreVote and CheckQuorum.
 */
function restartMembers(cluster: CoreCluster): void {
  const leader = cluster.leader();
  if (leader === null) return;
  const status = cluster.raw(leader).status();
  if (status.configIndex > status.commitIndex) return;
  const members = new Set(membersOf(status.membership));
  for (const id of cluster.ids) {
    if (id !== leader && members.has(id)) cluster.restart(id);
  }
}

/** A leader of the current term has committed its configuration and an entry of its term, and every member has applied all of it. */
function converged(cluster: CoreCluster): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const leaderStatus = cluster.raw(leader).status();
  if (cluster.raw(leader).term(leaderStatus.commitIndex) !== leaderStatus.term) return false;
  if (leaderStatus.configIndex > leaderStatus.commitIndex) return false;
  return membersOf(leaderStatus.membership).every((id) => {
    const status = cluster.raw(id).status();
    return status.leader === leader && status.appliedIndex === leaderStatus.commitIndex && status.lastIndex === leaderStatus.lastIndex;
  });
}
