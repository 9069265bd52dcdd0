/**
 * The liveness phase (TigerBeetle's VOPR does the same): after the faults,
 * heal a majority "core" — every link among its nodes reliable, every core
 * node running and unpaused — while nodes outside it may stay faulty. Within
 * a bound, the core must elect a leader and keep it (a stable term), finish
 * every client operation, and converge: the same commit index, everything
 * applied, the same state-machine digest on every core node.
 */
import type { NodeId } from '../../src/core/types.js';
import type { NodeStatus } from '../../src/node/raft-node.js';
import { shuffle } from '../world/streams.js';
import type { FaultInjector } from '../world/world-faults.js';
import type { World } from '../world/world.js';

/** The largest election timeout of the world, in milliseconds. */
export function electionMsMax(world: World): number {
  return 2 * world.params.electionTicks * world.params.tickIntervalMs;
}

/**
 * Heals a core and waits for it to make progress. Returns null when the core
 * converged within `boundMs`, or what was still missing when the bound ran out.
 */
export async function runLivenessPhase(world: World, faults: FaultInjector, boundMs: number): Promise<string | null> {
  const core = chooseCore(world);
  world.record(`liveness: heal core [${core.join(',')}]`);
  faults.stop();
  world.network.heal();
  world.network.makeReliable(core);
  faults.resumeAll(core);
  for (const id of core) {
    world.disarm(world.node(id));
    // Not sooner than the seed allows: where clients use lease reads, a node must not vote right after a crash.
    if (world.node(id).state === 'down') world.restartLater(world.node(id), world.params.downMsMin);
  }
  world.workload.stop();
  const started = world.now();
  world.workload.probe(core, started + boundMs);
  const stableMs = electionMsMax(world);
  let leadership = { key: '', sinceMs: started };
  let missing = 'nothing checked yet';
  while (world.now() - started < boundMs) {
    await world.runUntil(world.now() + world.params.tickIntervalMs);
    const current = leadershipKey(world, core);
    if (current !== leadership.key) leadership = { key: current, sinceMs: world.now() };
    missing = whatIsMissing(world, core, world.now() - leadership.sinceMs >= stableMs);
    if (missing === '') {
      world.record(`liveness: core converged after ${(world.now() - started).toFixed(1)}ms`);
      return null;
    }
  }
  return `within ${boundMs.toFixed(0)}ms of healing core [${core.join(',')}]: ${missing}`;
}

/**
 * A majority of the voters, drawn from the fault stream. Under membership
 * churn the voters are those of the newest configuration a running node
 * knows (the one with the most up-to-date log, which would win an election);
 * while that configuration is joint, the core is every voter of both halves,
 * since a majority of each is needed.
 */
function chooseCore(world: World): NodeId[] {
  const { voters, joint } = newestVoters(world);
  const size = joint ? voters.length : Math.floor(voters.length / 2) + 1;
  const chosen = new Set(shuffle(world.streams.faults, voters).slice(0, size));
  return voters.filter((id) => chosen.has(id));
}

function newestVoters(world: World): { voters: NodeId[]; joint: boolean } {
  let best: { term: number; last: number; voters: NodeId[]; joint: boolean } | null = null;
  for (const node of world.nodes) {
    const raft = node.state === 'up' ? node.node : null;
    if (raft === null) continue;
    const status = raft.status();
    if (status.members.length === 0) continue;
    const view = raft.inspect();
    const last = view.core.lastIndex;
    const term = view.term(last) ?? 0;
    if (best !== null && (term < best.term || (term === best.term && last <= best.last))) continue;
    const outgoing = status.joint?.outgoingVoters ?? [];
    const voters = world.ids().filter((id) => status.members.includes(id) || outgoing.includes(id));
    best = { term, last, voters, joint: outgoing.length > 0 };
  }
  return best ?? { voters: [...world.params.ids], joint: false };
}

/**
 * The core nodes still members of the configuration the leader is in: a
 * member removed meanwhile is expected to go idle, so it is not waited for.
 */
function coreMembers(core: readonly NodeId[], leader: NodeStatus): NodeId[] {
  const outgoing = leader.joint?.outgoingVoters ?? [];
  return core.filter((id) => leader.members.includes(id) || leader.learners.includes(id) || outgoing.includes(id));
}

/** Who the core follows and in which term; a change restarts the stability clock. */
function leadershipKey(world: World, core: readonly NodeId[]): string {
  return core
    .map((id) => {
      const status = world.node(id).node?.status();
      return status === undefined ? `${id}:down` : `${id}:${status.leader ?? '-'}@${status.term}`;
    })
    .join(' ');
}

/** What keeps the core from being converged, or '' when nothing does. */
function whatIsMissing(world: World, allCore: readonly NodeId[], stable: boolean): string {
  const leading = world.leader()?.node?.status();
  const core = leading === undefined ? allCore : coreMembers(allCore, leading);
  if (core.length === 0) return `no core node is a member any more (core [${allCore.join(',')}])`;
  const statuses = core.map((id) => ({ id, sim: world.node(id), status: world.node(id).node?.status() }));
  const down = statuses.filter((entry) => entry.status === undefined || entry.sim.state !== 'up').map((entry) => entry.id);
  if (down.length > 0) return `core nodes not running: ${down.join(', ')}`;
  // The leader may sit outside the core: faults have stopped, so a healthy non-core leader is as good.
  const leaderId = statuses[0]!.status!.leader;
  const leaderStatus = leaderId === null ? undefined : world.node(leaderId).node?.status();
  if (leaderStatus === undefined || leaderStatus.role !== 'leader') return `no leader the core agrees on (${leadershipKey(world, core)})`;
  const disagree = statuses.filter((entry) => entry.status!.leader !== leaderId || entry.status!.term !== leaderStatus.term);
  if (disagree.length > 0) return `core nodes disagree on the leader: ${leadershipKey(world, core)}`;
  if (!stable) return `leadership not yet stable for an election timeout: ${leadershipKey(world, core)}`;
  if (world.workload.pending() > 0) return `${world.workload.pending()} client operations still pending`;
  if (!world.workload.probesDone()) return 'a probe write through the core did not complete ok';
  const commit = leaderStatus.commitIndex;
  const lagging = statuses.filter((entry) => entry.status!.commitIndex !== commit || entry.status!.appliedIndex !== commit);
  if (lagging.length > 0) {
    return `core not converged on commit ${commit}: ${statuses.map((entry) => `${entry.id} commit ${entry.status!.commitIndex} applied ${entry.status!.appliedIndex}`).join(', ')}`;
  }
  const digests = new Set(statuses.map((entry) => entry.sim.machine.digest()));
  if (digests.size > 1) {
    // Same entries applied, different states: a safety violation, not slow progress.
    const detail = `state machines differ at applied index ${commit}: ${statuses.map((entry) => `${entry.id} ${entry.sim.machine.digest()}`).join(', ')}`;
    world.fail('State machine convergence', detail);
    return detail;
  }
  return '';
}
