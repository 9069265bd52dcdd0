/**
 * Quiescence of idle groups on a multi-group host (docs/multi-raft.md): idle
 * groups stop ticking and heartbeating, wake on a proposal, a read or a
 * message, and followers of a quiesced group still elect a new leader when
 * their leader's host dies. A quiesced leader's read lease is void, so a
 * partitioned old leader cannot serve a stale lease read. Deterministic:
 * virtual clock, in-process network.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { ELECTION_TICKS, HostCluster, TICK_MS, startClosedAfterEach } from './host-cluster.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const groupIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `g${i}`);
const startCluster = startClosedAfterEach();
const start = (seed = 21): Promise<HostCluster> => startCluster(['h1', 'h2', 'h3'], seed);

function quiescedEverywhere(cluster: HostCluster): number {
  return Math.min(...cluster.ids.filter((id) => cluster.hosts.get(id)!.host !== null).map((id) => cluster.host(id).stats().quiescence.quiesced));
}

/** Wire messages and group messages per tick per directed host link, over `ticks` ticks. */
async function traffic(cluster: HostCluster, ticks: number): Promise<{ wire: number; items: number }> {
  const items = (): number => cluster.ids.reduce((sum, id) => sum + cluster.host(id).stats().transport.itemsSent, 0);
  const wireBefore = cluster.network.counters.sent;
  const itemsBefore = items();
  await cluster.clock.advance(ticks * TICK_MS);
  return { wire: (cluster.network.counters.sent - wireBefore) / ticks / 6, items: (items() - itemsBefore) / ticks / 6 };
}

describe('quiescence', () => {
  it('idle groups quiesce on every host: no group messages at all, one host heartbeat per tick per link', async () => {
    const cluster = await start();
    const groups = groupIds(30);
    for (const group of groups) await cluster.createGroup(group);
    await cluster.waitForLeaders(groups);
    await cluster.clock.advance(4 * ELECTION_TICKS * TICK_MS);

    expect(quiescedEverywhere(cluster)).toBe(groups.length);
    const idle = await traffic(cluster, 50);
    console.log(`[quiescence] 30 quiesced groups: ${idle.wire.toFixed(2)} wire messages and ${idle.items.toFixed(2)} group messages per tick per host link`);
    expect(idle.items).toBe(0);
    expect(idle.wire).toBeLessThanOrEqual(1);
  });

  it('a proposal wakes its group, commits, and the group quiesces again; the others stay asleep', async () => {
    const cluster = await start();
    const groups = groupIds(5);
    for (const group of groups) await cluster.createGroup(group);
    const leaders = await cluster.waitForLeaders(groups);
    await cluster.clock.advance(4 * ELECTION_TICKS * TICK_MS);
    expect(quiescedEverywhere(cluster)).toBe(5);

    const leader = cluster.replica(leaders.get('g2')!, 'g2');
    expect(await cluster.run(leader.propose(encode('wake')))).toBe(1);
    // Proposed on a follower: the forward is a message, and wakes the leader's replica too.
    const follower = cluster.ids.find((id) => id !== leaders.get('g3'))!;
    expect(await cluster.run(cluster.replica(follower, 'g3').propose(encode('wake too')))).toBe(1);
    for (const id of cluster.ids) await cluster.run(cluster.replica(id, 'g2').read());
    expect(cluster.hosts.get('h1')!.machines.get('g2')!.items).toEqual(['wake']);

    await cluster.clock.advance(4 * ELECTION_TICKS * TICK_MS);
    expect(quiescedEverywhere(cluster)).toBe(5);
    const woken = cluster.ids.reduce((sum, id) => sum + cluster.host(id).stats().quiescence.wakes, 0);
    expect(woken).toBeGreaterThanOrEqual(2);
    // Each wake is counted by its cause: the proposal on g2's leader, the forwarded proposal on g3's.
    const causes = cluster.ids.map((id) => cluster.host(id).stats().quiescence.wakesBy);
    expect(causes.reduce((sum, by) => sum + (by['propose'] ?? 0), 0)).toBeGreaterThanOrEqual(2);
    expect(causes.reduce((sum, by) => sum + (by['message:forward'] ?? 0), 0)).toBeGreaterThanOrEqual(1);
    expect(causes.reduce((sum, by) => sum + Object.values(by).reduce((a, b) => a + b, 0), 0)).toBe(woken);
  });

  it("followers of quiesced groups elect new leaders when their leader's host dies", async () => {
    const cluster = await start(33);
    const groups = groupIds(9);
    for (const group of groups) await cluster.createGroup(group);
    const leaders = await cluster.waitForLeaders(groups);
    await cluster.clock.advance(4 * ELECTION_TICKS * TICK_MS);
    expect(quiescedEverywhere(cluster)).toBe(9);
    const victim = leaders.get('g0')!;
    const led = groups.filter((group) => leaders.get(group) === victim);

    await cluster.crashHost(victim);
    const after = await cluster.waitForLeaders(led);

    for (const group of led) expect(after.get(group)).not.toBe(victim);
    const survivors = cluster.ids.filter((id) => id !== victim);
    expect(survivors.reduce((sum, id) => sum + cluster.host(id).stats().quiescence.livenessWakes, 0)).toBeGreaterThanOrEqual(led.length);
    expect(survivors.reduce((sum, id) => sum + (cluster.host(id).stats().quiescence.wakesBy['liveness'] ?? 0), 0)).toBeGreaterThanOrEqual(led.length);
    await cluster.run(Promise.all(led.map((group) => cluster.replica(survivors[0]!, group).propose(encode('after')))));
  });

  it('a partitioned quiesced leader does not serve a lease read after the others elected a new leader and wrote', async () => {
    const cluster = await start(44);
    await cluster.createGroup('g0');
    const leaders = await cluster.waitForLeaders(['g0']);
    const oldLeader = leaders.get('g0')!;
    await cluster.run(cluster.replica(oldLeader, 'g0').propose(encode('v1')));
    await cluster.clock.advance(4 * ELECTION_TICKS * TICK_MS);
    expect(quiescedEverywhere(cluster)).toBe(1);

    cluster.network.isolate([oldLeader], cluster.ids);
    const others = cluster.ids.filter((id) => id !== oldLeader);
    let newLeader: string | null = null;
    for (let elapsed = 0; newLeader === null && elapsed < 200 * ELECTION_TICKS * TICK_MS; elapsed += TICK_MS) {
      await cluster.clock.advance(TICK_MS);
      newLeader = others.find((id) => cluster.replica(id, 'g0').status().role === 'leader') ?? null;
    }
    expect(newLeader).not.toBeNull();
    await cluster.run(cluster.replica(newLeader!, 'g0').propose(encode('v2')));

    // The old leader still believes it leads (nothing woke it until now); its lease was voided when it quiesced.
    const stale = cluster.replica(oldLeader, 'g0');
    const read = stale.read({ lease: true, timeoutMs: 5 * ELECTION_TICKS * TICK_MS });
    const outcome = await cluster.run(read.then(() => 'served', (error: unknown) => error));
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(cluster.hosts.get(oldLeader)!.machines.get('g0')!.items).toEqual(['v1']);
  });
});
