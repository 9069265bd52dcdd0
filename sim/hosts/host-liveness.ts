/**
 * The liveness phase of the multi-group world: after the faults, heal
 * everything (every host running and unpaused, every link reliable) and
 * require, within a bound, that **every** group elects a leader its three
 * replicas agree on and keeps it, finishes every client operation, writes
 * one probe per client, and converges (same commit index, all applied, the
 * same state digest on every replica). Then, with quiescence on, the groups
 * are left idle until they quiesce, and every group must serve one more
 * probe write: a quiesced group wakes on a proposal and commits it.
 * In a rebalance world the replicas are those the final layout places, and
 * the rebalancers must have reached it (sim-rebalance.ts): every shard's
 * voters are its placement, and no host holds a replica it should not.
 */
import type { NodeId } from '../../src/core/types.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { HostFaultInjector } from './host-faults.js';
import type { HostWorld } from './host-world.js';

/** The largest election timeout of the world, in milliseconds. */
export function hostElectionMsMax(world: HostWorld): number {
  return 2 * world.params.world.electionTicks * world.params.world.tickIntervalMs;
}

/** Heals every host and waits for every group to make progress; null when all did within `boundMs`, else what was missing. */
export async function runHostLivenessPhase(world: HostWorld, faults: HostFaultInjector, boundMs: number): Promise<string | null> {
  world.record('liveness: heal every host');
  faults.stop();
  world.rebalance?.endFaultPhase();
  world.network.heal();
  world.network.makeReliable(world.params.world.ids);
  faults.resumeAll();
  for (const host of world.hosts) {
    world.disarm(host);
    if (host.state === 'down') world.restartLater(host, world.params.world.downMsMin);
  }
  world.clients.stop();
  const started = world.now();
  world.clients.probe(started + boundMs);
  const first = await waitConverged(world, started + boundMs);
  if (first !== null) return `within ${boundMs.toFixed(0)}ms of healing: ${first}`;
  world.record(`liveness: every group converged after ${(world.now() - started).toFixed(1)}ms`);
  if (!world.params.quiescence) return null;
  // Idle long enough for every group to quiesce, then wake each with a write.
  const idleMs = (world.params.quiesceAfterTicks + 2 * world.params.world.electionTicks) * world.params.world.tickIntervalMs;
  await world.runUntil(world.now() + idleMs);
  const woken = world.now();
  world.clients.probeIdle(woken + boundMs);
  const second = await waitConverged(world, woken + boundMs);
  if (second !== null) return `within ${boundMs.toFixed(0)}ms of a probe after ${idleMs.toFixed(0)}ms idle: ${second}`;
  world.record(`liveness: every group served a write after idling, in ${(world.now() - woken).toFixed(1)}ms`);
  return null;
}

/** Runs tick by tick until every group converged (null) or `deadlineMs` passed (what was missing). */
async function waitConverged(world: HostWorld, deadlineMs: number): Promise<string | null> {
  const stableMs = hostElectionMsMax(world);
  const leadership = new Map<GroupId, { key: string; sinceMs: number }>();
  let missing = 'nothing checked yet';
  while (world.now() < deadlineMs) {
    await world.runUntil(world.now() + world.params.world.tickIntervalMs);
    missing = '';
    for (const { group, members: placed } of world.params.groups) {
      const members = world.rebalance?.placement(group) ?? placed;
      const key = leadershipKey(world, group, members);
      const seen = leadership.get(group);
      if (seen === undefined || seen.key !== key) leadership.set(group, { key, sinceMs: world.now() });
      // Every group is looked at every tick, so each one's stability clock runs from when its leadership last changed.
      const groupMissing = whatIsMissing(world, group, members, world.now() - leadership.get(group)!.sinceMs >= stableMs);
      if (groupMissing !== '' && missing === '') missing = `group ${group}: ${groupMissing}`;
    }
    if (missing === '' && world.rebalance !== null) missing = world.rebalance.missing();
    if (missing === '' && world.clients.pending() > 0) missing = `${world.clients.pending()} client operations still pending`;
    if (missing === '' && world.clients.probesMissing().length > 0) missing = `probe writes not done in groups ${world.clients.probesMissing().join(', ')}`;
    if (missing === '') return null;
  }
  return missing;
}

/** Who each replica of `group` follows and in which term; a change restarts the stability clock. */
function leadershipKey(world: HostWorld, group: GroupId, members: readonly NodeId[]): string {
  return members
    .map((id) => {
      const status = world.host(id).replica(group)?.node?.status();
      return status === undefined ? `${id}:down` : `${id}:${status.leader ?? '-'}@${status.term}`;
    })
    .join(' ');
}

/** What keeps `group` from having converged, or '' when nothing does. */
function whatIsMissing(world: HostWorld, group: GroupId, members: readonly NodeId[], stable: boolean): string {
  const replicas = members.map((id) => ({ id, replica: world.host(id).replica(group) }));
  const down = replicas.filter((entry) => entry.replica?.node === null || entry.replica === null).map((entry) => entry.id);
  if (down.length > 0) return `replicas not running on ${down.join(', ')}`;
  const statuses = replicas.map((entry) => ({ id: entry.id, replica: entry.replica!, status: entry.replica!.node!.status() }));
  const leaderId = statuses[0]!.status.leader;
  const leader = statuses.find((entry) => entry.id === leaderId);
  if (leader === undefined || leader.status.role !== 'leader') return `no leader the replicas agree on (${leadershipKey(world, group, members)})`;
  if (statuses.some((entry) => entry.status.leader !== leaderId || entry.status.term !== leader.status.term)) {
    return `replicas disagree on the leader: ${leadershipKey(world, group, members)}`;
  }
  if (!stable) return `leadership not yet stable for an election timeout: ${leadershipKey(world, group, members)}`;
  const commit = leader.status.commitIndex;
  if (statuses.some((entry) => entry.status.commitIndex !== commit || entry.status.appliedIndex !== commit)) {
    return `not converged on commit ${commit}: ${statuses.map((entry) => `${entry.id} commit ${entry.status.commitIndex} applied ${entry.status.appliedIndex}`).join(', ')}`;
  }
  const digests = new Set(statuses.map((entry) => entry.replica.machine.digest()));
  if (digests.size > 1) {
    const detail = `group ${group}: state machines differ at applied index ${commit}: ${statuses.map((entry) => `${entry.id} ${entry.replica.machine.digest()}`).join(', ')}`;
    world.fail('State machine convergence', detail);
    return detail;
  }
  return '';
}
