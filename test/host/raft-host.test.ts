/**
 * Many Raft groups per process: hosts that share one loop, one transport and
 * one ticker among their groups' replicas (src/host/). Deterministic: virtual
 * clock, in-process network.
 */
import { describe, expect, it } from 'vitest';
import { GroupExistsError, InvalidArgumentError, UnknownGroupError, UnknownMemberError } from '../../src/errors.js';
import type { HostLogRecord } from '../../src/host/raft-host.js';
import { TICK_MS, startClosedAfterEach } from './host-cluster.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const start = startClosedAfterEach();

const groupIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `g${i}`);

describe('RaftHost', () => {
  it('runs many groups of three replicas on three hosts; each group commits its own commands', async () => {
    const cluster = await start();
    const groups = groupIds(12);
    for (const group of groups) await cluster.createGroup(group);
    const leaders = await cluster.waitForLeaders(groups);

    const results = await cluster.run(Promise.all(groups.map((group) => cluster.replica(leaders.get(group)!, group).propose(encode(`${group}:a`)))));
    expect(results).toEqual(groups.map(() => 1));
    // Proposed on a follower: forwarded to its group's leader, through the shared transport.
    const follower = (group: string): string => cluster.ids.find((id) => id !== leaders.get(group))!;
    await cluster.run(Promise.all(groups.map((group) => cluster.replica(follower(group), group).propose(encode(`${group}:b`)))));
    await cluster.run(Promise.all(groups.map((group) => cluster.replica('h1', group).read())));

    for (const group of groups) {
      expect(cluster.hosts.get('h1')!.machines.get(group)!.items).toEqual([`${group}:a`, `${group}:b`]);
    }
    // Leaders spread over the hosts: each group elects on its own.
    expect(new Set(leaders.values()).size).toBeGreaterThan(1);
  });

  it('sends one batch per host pair per round: messages per tick do not grow with the number of groups', async () => {
    /** Over 50 idle ticks: wire messages and group messages per tick per directed host link (3 hosts: 6 links). */
    async function perTickPerLink(groupCount: number): Promise<{ wire: number; items: number }> {
      // Quiescence off: this measures how the heartbeats of awake groups are coalesced.
      const cluster = await start(['h1', 'h2', 'h3'], 3, { quiescence: { enabled: false } });
      const groups = groupIds(groupCount);
      for (const group of groups) await cluster.createGroup(group);
      await cluster.waitForLeaders(groups);
      await cluster.clock.advance(20 * TICK_MS);
      const items = (): number => cluster.ids.reduce((sum, id) => sum + cluster.host(id).stats().transport.itemsSent, 0);
      const wireBefore = cluster.network.counters.sent;
      const itemsBefore = items();
      const ticks = 50;
      await cluster.clock.advance(ticks * TICK_MS);
      return { wire: (cluster.network.counters.sent - wireBefore) / ticks / 6, items: (items() - itemsBefore) / ticks / 6 };
    }

    const few = await perTickPerLink(10);
    const many = await perTickPerLink(80);
    console.log(`[host] per tick per directed host link: 10 groups ${few.wire.toFixed(2)} wire messages (${few.items.toFixed(1)} group messages), ` +
      `80 groups ${many.wire.toFixed(2)} wire messages (${many.items.toFixed(1)} group messages)`);
    // The group messages grow with the groups; the wire messages do not: one batch of heartbeats and one of responses each way.
    expect(many.items).toBeGreaterThan(4 * few.items);
    expect(few.wire).toBeLessThanOrEqual(2);
    expect(many.wire).toBeLessThanOrEqual(2);
  });

  it('refuses a message for a group the host does not hold, and the other groups are not disturbed', async () => {
    const refusals: HostLogRecord[] = [];
    const cluster = await start(['h1', 'h2', 'h3'], 5, { log: (record) => refusals.push(record) });
    await cluster.createGroup('g0');
    const leaders = await cluster.waitForLeaders(['g0']);

    // A forged batch from h2 naming a group h1 does not hold.
    cluster.network.send('h2', 'h1', {
      kind: 'groups',
      from: 'h2',
      to: 'h1',
      items: [{ group: 'nope', message: { kind: 'raft', message: { type: 'heartbeat', from: 'h2', to: 'h1', term: 99, commit: 0, readRound: 0 } } }],
    });
    await cluster.clock.advance(TICK_MS);

    expect(cluster.host('h1').stats().transport.unknownGroup).toBe(1);
    expect(refusals.some((record) => record.event === 'refused' && record.message.includes('nope'))).toBe(true);
    expect(cluster.host('h1').groups()).toEqual(['g0']);
    await cluster.run(cluster.replica(leaders.get('g0')!, 'g0').propose(encode('still fine')));
    expect(cluster.replica('h1', 'g0').status().term).toBeLessThan(99);
  });

  it('refuses a group created twice, members that are not hosts, a malformed id, and unknown groups', async () => {
    const cluster = await start();
    await cluster.createGroup('g0');
    const h1 = cluster.host('h1');

    await expect(h1.createGroup('g0', { members: ['h1'] })).rejects.toBeInstanceOf(GroupExistsError);
    await expect(h1.createGroup('g1', { members: ['h1', 'h9'] })).rejects.toBeInstanceOf(UnknownMemberError);
    await expect(h1.createGroup('bad id', { members: ['h1'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(h1.createGroup('g2', { members: [] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(h1.removeGroup('nope')).rejects.toBeInstanceOf(UnknownGroupError);

    expect(h1.groups()).toEqual(['g0']);
    expect((await cluster.hosts.get('h1')!.logs.listGroups()).map((listing) => listing.group)).toEqual(['g0']);
  });

  it('gives a flooded group one bounded turn per round, so a quiet group still commits at once', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 9, { groupDefaults: { electionTicks: 10, limits: { maxInputsPerTurn: 16, maxPendingProposals: 100_000 } } });
    await cluster.createGroup('busy');
    await cluster.createGroup('quiet');
    const leaders = await cluster.waitForLeaders(['busy', 'quiet']);
    const busy = cluster.replica(leaders.get('busy')!, 'busy');
    const quiet = cluster.replica(leaders.get('quiet')!, 'quiet');

    const order: string[] = [];
    const flood = Array.from({ length: 3000 }, (_, i) => busy.propose(encode(`b${i}`)).then(() => order.push('busy')));
    const alone = quiet.propose(encode('q')).then(() => order.push('quiet'));
    await cluster.run(Promise.all([...flood, alone]));

    const quietAt = order.indexOf('quiet');
    console.log(`[host] the quiet group's proposal completed after ${quietAt} of 3000 flooded proposals`);
    expect(quietAt).toBeGreaterThanOrEqual(0);
    expect(quietAt).toBeLessThan(1500);
    expect(cluster.host(leaders.get('busy')!).stats().loop.maxTurnsPerRound).toBeGreaterThan(1);
  });

  it('reopens every group from its logs after a host restart, and a removed group stays gone', async () => {
    const cluster = await start();
    for (const group of ['g0', 'g1', 'g2']) await cluster.createGroup(group);
    const leaders = await cluster.waitForLeaders(['g0', 'g1', 'g2']);
    for (const group of ['g0', 'g1', 'g2']) await cluster.run(cluster.replica(leaders.get(group)!, group).propose(encode(`${group}-1`)));

    // Remove h3's replica of g2 from the group first, then the group from h3.
    await cluster.run(cluster.replica(leaders.get('g2')!, 'g2').removeMember('h3'));
    await cluster.host('h3').removeGroup('g2');
    await cluster.crashHost('h3');
    await cluster.startHost('h3');

    expect(cluster.host('h3').groups()).toEqual(['g0', 'g1']);
    await cluster.run(cluster.replica('h3', 'g0').read());
    await cluster.run(cluster.replica('h3', 'g1').read());
    expect(cluster.hosts.get('h3')!.machines.get('g0')!.items).toEqual(['g0-1']);
    expect(cluster.hosts.get('h3')!.machines.get('g1')!.items).toEqual(['g1-1']);
    const g2 = await cluster.waitForLeaders(['g2']);
    expect(g2.get('g2')).not.toBe('h3');
    await cluster.run(cluster.replica(g2.get('g2')!, 'g2').propose(encode('g2-2')));
    expect(cluster.replica(g2.get('g2')!, 'g2').status().members).toEqual(['h1', 'h2']);
  });

  it('elects new leaders for every group a crashed host led', async () => {
    const cluster = await start();
    const groups = groupIds(9);
    for (const group of groups) await cluster.createGroup(group);
    const leaders = await cluster.waitForLeaders(groups);
    const victim = leaders.get('g0')!;
    const led = groups.filter((group) => leaders.get(group) === victim);

    await cluster.crashHost(victim);
    const after = await cluster.waitForLeaders(led);

    for (const group of led) expect(after.get(group)).not.toBe(victim);
    const survivor = cluster.ids.find((id) => id !== victim)!;
    await cluster.run(Promise.all(led.map((group) => cluster.replica(survivor, group).propose(encode('after')))));
  });
});
