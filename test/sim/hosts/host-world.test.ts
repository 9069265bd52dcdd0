/**
 * The multi-group simulator: worlds of hosts each running the production
 * RaftHost with many groups, faults striking hosts, invariants checked per
 * group, keys sharded over the groups. Deterministic: every run is a
 * function of its seed, which each test names.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../../src/util/random.js';
import { addHostCoverage, emptyHostCoverage, HOST_COVERAGE_MARKS } from '../../../sim/hosts/host-coverage.js';
import { drawHostParams, GROUPS_MAX, HOST_FAULT_KINDS } from '../../../sim/hosts/host-params.js';
import { runHostSeed, runHostSwarm } from '../../../sim/hosts/host-run.js';
import { HostWorld } from '../../../sim/hosts/host-world.js';
import { PLANTED_BUGS } from '../../../sim/runtime/planted-bugs.js';
import { splitStreams } from '../../../sim/world/streams.js';

describe('multi-group world parameters', () => {
  test('every seed draws 3 to 5 hosts, 1 to 64 groups of three distinct hosts each, and keys that each map to one of them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
        const params = drawHostParams(new SeededRandom(seed), { faults: HOST_FAULT_KINDS });
        const hosts = params.world.ids;
        expect(hosts.length).toBeGreaterThanOrEqual(3);
        expect(hosts.length).toBeLessThanOrEqual(5);
        expect(params.groups.length).toBeGreaterThanOrEqual(1);
        expect(params.groups.length).toBeLessThanOrEqual(GROUPS_MAX);
        for (const { members } of params.groups) {
          expect(new Set(members).size).toBe(3);
          for (const member of members) expect(hosts).toContain(member);
        }
        const groups = new Set(params.groups.map((placement) => placement.group));
        for (const key of params.keys) expect(groups.has(params.keyGroup.get(key)!)).toBe(true);
        expect(params.world.faults.every((kind) => HOST_FAULT_KINDS.includes(kind))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test('the same seed draws the same world', () => {
    const first = drawHostParams(new SeededRandom(99), { faults: HOST_FAULT_KINDS });
    const again = drawHostParams(new SeededRandom(99), { faults: HOST_FAULT_KINDS });
    expect(again).toEqual(first);
  });
});

describe('multi-group simulator runs', () => {
  test('determinism: the same seed twice gives the same trace hash, events, history and coverage, with another seed run in between', async () => {
    const options = { durationMs: 1000, groups: 4 } as const;
    const first = await runHostSeed(7, options);
    await runHostSeed(8, options);
    const again = await runHostSeed(7, options);

    console.log(`[hosts determinism] seed 7: trace ${first.traceHash}, ${first.events} events`);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(again.operations).toEqual(first.operations);
    expect(again.multiGroup).toEqual(first.multiGroup);
  });

  test('a small swarm of multi-group seeds finds no violation, every group stays live, and reaches the new coverage marks', async () => {
    // Seeds chosen (from 1..24) so that between them every new mark is reached; all of 1..24 pass.
    const seeds = [4, 5, 12, 16, 17, 18];
    // Without the rebalancer, so that these seeds keep their worlds (host-rebalance.test.ts runs rebalance worlds).
    const swarm = await runHostSwarm(seeds, { durationMs: 2500, groups: 10, rebalance: false });
    for (const report of swarm.reports) if (!report.ok) console.log(report.replay, report.violation?.detail ?? report.livenessFailure?.detail);

    console.log(`[hosts swarm] ${swarm.runs} runs, ${swarm.groups.total} groups, ${swarm.eventsPerSecond} events/s, coverage ${JSON.stringify(swarm.hostCoverage)}`);
    expect(swarm.failingSeeds).toEqual([]);
    expect(swarm.reports.every((report) => report.linearizability === 'ok')).toBe(true);
    expect(swarm.reports.reduce((sum, report) => sum + report.operations.ok, 0)).toBeGreaterThan(0);
    expect(swarm.coverage.transferCompleted).toBeGreaterThan(0);
    for (const mark of ['groupQuiesced', 'wokenByProposal', 'wokenByMessage', 'wokenByLeaderSilence', 'heartbeatsCoalesced', 'hostCrashed', 'hostReopenedGroups', 'leaderHostLostWhileQuiesced', 'groupDiskFailed'] as const) {
      expect(swarm.hostCoverage[mark], mark).toBeGreaterThan(0);
    }
  });

  test("a host crash while it leads quiesced groups: their followers hear its silence, wake and elect new leaders", async () => {
    const seed = 31;
    const streams = splitStreams(seed);
    const drawn = drawHostParams(streams.params, { hosts: 3, groups: 8, faults: [] });
    const params = { ...drawn, quiescence: true };
    const world = new HostWorld({ params, streams, traceTail: 100 });
    const electionMs = 2 * params.world.electionTicks * params.world.tickIntervalMs;
    world.start();
    await world.runUntil(12 * electionMs);

    const quiescedLed = (hostId: string): string[] =>
      params.groups.filter(({ group }) => {
        const host = world.host(hostId);
        return host.replica(group)?.node?.status().role === 'leader' && world.quiesced(host, group);
      }).map(({ group }) => group);
    const victim = world.hosts.map((host) => host.id).find((id) => quiescedLed(id).length > 0);
    expect(victim, `seed ${seed}: some host leads a quiesced group`).toBeDefined();
    const orphaned = quiescedLed(victim!);
    world.crash(world.host(victim!));
    await world.runUntil(world.now() + 10 * electionMs);

    expect(world.found).toBeNull();
    expect(world.hostCoverage.leaderHostLostWhileQuiesced).toBe(1);
    expect(world.hostCoverage.wokenByLeaderSilence).toBeGreaterThan(0);
    for (const group of orphaned) {
      const leaders = params.groups.find((placement) => placement.group === group)!.members.filter((id) => world.host(id).replica(group)?.node?.status().role === 'leader');
      expect(leaders, `group ${group} after ${victim} died`).toHaveLength(1);
      expect(leaders[0]).not.toBe(victim);
    }
  });

  test('teeth: the per-group checks catch a disk that lies about fsync, and the per-key check catches reads without a barrier', async () => {
    const lying = await runHostSeed(2, { durationMs: 3000, groups: 4, rebalance: false, faults: ['crash'], adjustParams: (params) => ({ ...params, world: PLANTED_BUGS['lying-disk'].plant(params.world) }) });
    const unsafe = await runHostSeed(2, { durationMs: 3000, groups: 4, rebalance: false, faults: ['partition', 'pause'], adjustParams: (params) => ({ ...params, world: PLANTED_BUGS['unsafe-reads'].plant(params.world) }) });

    expect(lying.violation?.invariant).toBe('Leader Completeness');
    expect(unsafe.violation?.invariant).toBe('Linearizability');
  });

  test('coverage counters add up', () => {
    const total = emptyHostCoverage();
    const one = emptyHostCoverage();
    one.groupQuiesced = 2;
    addHostCoverage(total, one);
    addHostCoverage(total, one);
    expect(total.groupQuiesced).toBe(4);
    expect(Object.keys(total)).toEqual([...HOST_COVERAGE_MARKS]);
  });

  test('bad options are refused with a typed error', async () => {
    await expect(runHostSeed(1, { groups: 65 })).rejects.toMatchObject({ code: 'KEEL_INVALID_ARGUMENT' });
    await expect(runHostSeed(1, { hosts: 2 })).rejects.toMatchObject({ code: 'KEEL_INVALID_ARGUMENT' });
    await expect(runHostSeed(1, { faults: ['churn'] })).rejects.toMatchObject({ code: 'KEEL_INVALID_ARGUMENT' });
    await expect(runHostSeed(-1)).rejects.toMatchObject({ code: 'KEEL_INVALID_ARGUMENT' });
  });
});

describe('budgets of a multi-group run', () => {
  test('a run past its event budget or its held-items budget is a budget failure of its seed, not a hang', async () => {
    const events = await runHostSeed(3, { durationMs: 2000, groups: 8, maxEvents: 500 });
    expect(events.ok).toBe(false);
    expect(events.budgetFailure?.budget).toBe('events');
    expect(events.budgetFailure?.limit).toBe(500);
    const memory = await runHostSeed(3, { durationMs: 2000, groups: 8, maxHeldItems: 50 });
    expect(memory.ok).toBe(false);
    expect(memory.budgetFailure?.budget).toBe('memory');
  });

  test('the default budgets leave a clean seed alone and report how much it held', async () => {
    const report = await runHostSeed(3, { durationMs: 2000, groups: 8 });
    expect(report.budgetFailure).toBeNull();
    expect(report.peakHeldItems).toBeGreaterThan(0);
  });
});
