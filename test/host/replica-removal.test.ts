/**
 * A replica removed from its group while its host was cut off never hears of
 * its removal from its own log: the leader stops sending to it once the
 * removal commits. Its host learns it from a member's not-a-member notice,
 * the replica stops campaigning, and the host's safe drop deletes it only
 * when no leader can count on it (docs/multi-raft.md). Deterministic:
 * virtual clock, in-process network.
 */
import { describe, expect, it } from 'vitest';
import type { HostLogRecord } from '../../src/host/raft-host.js';
import { ELECTION_TICKS, HostCluster, TICK_MS, startClosedAfterEach } from './host-cluster.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const ELECTION_MS = ELECTION_TICKS * TICK_MS;
const start = startClosedAfterEach();

/** A group g0 on h1..h3 with a leader, and one of its followers. */
async function groupWithFollower(cluster: HostCluster): Promise<{ leader: string; follower: string }> {
  await cluster.createGroup('g0', ['h1', 'h2', 'h3']);
  const leader = (await cluster.waitForLeaders(['g0'])).get('g0')!;
  await cluster.run(cluster.replica(leader, 'g0').propose(encode('first')));
  const follower = ['h1', 'h2', 'h3'].find((id) => id !== leader)!;
  return { leader, follower };
}

/** The notices every host sent so far. */
function noticesSent(cluster: HostCluster): number {
  let sent = 0;
  for (const entry of cluster.hosts.values()) sent += entry.host?.stats().removalNotices.sent ?? 0;
  return sent;
}

describe('a replica removed while its host was partitioned', () => {
  it('learns it from a notice after the partition heals, stops campaigning, and the safe drop deletes it', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 21);
    const { leader, follower } = await groupWithFollower(cluster);
    const everyone = ['h1', 'h2', 'h3'];

    // Arrange: the follower is cut off while the leader removes it; the group goes on without it.
    cluster.network.isolate([follower], everyone);
    await cluster.run(cluster.replica(leader, 'g0').removeMember(follower));
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('after the removal')));
    await cluster.clock.advance(5 * ELECTION_MS);
    const cutOff = cluster.replica(follower, 'g0').status();
    expect(cutOff.members).toContain(follower);
    expect(cutOff.removed).toBe(false);

    // Act: the partition heals; the follower campaigns, and a member answers its vote request with a notice.
    cluster.network.heal();
    await cluster.clock.advance(5 * ELECTION_MS);

    const told = cluster.replica(follower, 'g0').status();
    expect(told.removed).toBe(true);
    expect(told.removedByNotice).toBe(true);
    expect(told.members).toContain(follower); // its own log never learned it
    expect(noticesSent(cluster)).toBeGreaterThanOrEqual(1);
    expect(cluster.host(follower).stats().transport.notMemberReceived).toBeGreaterThanOrEqual(1);

    // It no longer ticks: no more campaigns, so no more notices, and its term stays put.
    const sentBefore = noticesSent(cluster);
    const termBefore = told.term;
    await cluster.clock.advance(20 * ELECTION_MS);
    expect(noticesSent(cluster)).toBe(sentBefore);
    expect(cluster.replica(follower, 'g0').status().term).toBe(termBefore);
    const leaderNow = cluster.leaderOf('g0');
    expect(leaderNow).not.toBeNull();
    expect(leaderNow).not.toBe(follower);

    // The safe drop deletes it; the group goes on.
    const dropped = await cluster.run(cluster.host(follower).dropRemovedGroup('g0'));
    expect(dropped).toBe(true);
    expect(cluster.host(follower).groups()).toEqual([]);
    expect((await cluster.hosts.get(follower)!.logs.listGroups()).map((listing) => listing.group)).toEqual([]);
    await cluster.run(cluster.replica(leaderNow!, 'g0').propose(encode('still committing')));
  });

  it('a learner removed before its promotion never campaigns: it asks the voters, learns it from a notice, and the safe drop deletes it', async () => {
    // Found by the rebalance swarm (seeds 251, 268, 295): no vote request of the learner's would ever draw a notice.
    const cluster = await start(['h1', 'h2', 'h3', 'h4'], 23);
    const { leader } = await groupWithFollower(cluster);
    const everyone = ['h1', 'h2', 'h3', 'h4'];
    await cluster.host('h4').createGroup('g0', { join: true });
    await cluster.run(cluster.replica(leader, 'g0').addLearner('h4', 'h4'));
    await cluster.clock.advance(ELECTION_MS);
    expect(cluster.replica('h4', 'g0').status().learners).toContain('h4');

    // Arrange: the learner is cut off while the leader removes it.
    cluster.network.isolate(['h4'], everyone);
    await cluster.run(cluster.replica(leader, 'g0').removeMember('h4'));
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('after the removal')));
    await cluster.clock.advance(5 * ELECTION_MS);
    const cutOff = cluster.replica('h4', 'g0').status();
    expect(cutOff.learners).toContain('h4');
    expect(cutOff.removed).toBe(false);

    // Act: the partition heals; the learner, with no leader, asks the voters, and they answer with a notice.
    cluster.network.heal();
    await cluster.clock.advance(5 * ELECTION_MS);

    const told = cluster.replica('h4', 'g0').status();
    expect(told.removed).toBe(true);
    expect(told.removedByNotice).toBe(true);
    expect(told.learners).toContain('h4'); // its own log never learned it
    const queried = ['h1', 'h2', 'h3'].reduce((sum, id) => sum + cluster.host(id).stats().removalNotices.queried, 0);
    expect(queried).toBeGreaterThanOrEqual(1);
    expect(cluster.host('h4').stats().transport.notMemberReceived).toBeGreaterThanOrEqual(1);

    const dropped = await cluster.run(cluster.host('h4').dropRemovedGroup('g0'));
    expect(dropped).toBe(true);
    expect(cluster.host('h4').groups()).toEqual([]);
  });

  it('a learner that is still one asks the voters when cut off from its leader, and no notice answers it', async () => {
    const cluster = await start(['h1', 'h2', 'h3', 'h4'], 24);
    const { leader } = await groupWithFollower(cluster);
    const others = ['h1', 'h2', 'h3'].filter((id) => id !== leader);
    await cluster.host('h4').createGroup('g0', { join: true });
    await cluster.run(cluster.replica(leader, 'g0').addLearner('h4', 'h4'));
    await cluster.clock.advance(ELECTION_MS);

    // Cut off from its leader only: it asks the other voters, whose committed configuration lists it, and they stay silent.
    cluster.network.isolate(['h4'], ['h4', leader]);
    await cluster.clock.advance(5 * ELECTION_MS);

    const queried = others.reduce((sum, id) => sum + cluster.host(id).stats().removalNotices.queried, 0);
    expect(queried).toBeGreaterThanOrEqual(2);
    expect(cluster.host('h4').stats().transport.notMemberReceived).toBe(0);
    expect(cluster.replica('h4', 'g0').status().removed).toBe(false);

    // Healed, its leader reaches it again and it follows on as a learner.
    cluster.network.heal();
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('after the heal')));
    await cluster.clock.advance(ELECTION_MS);
    expect(cluster.replica('h4', 'g0').status().commitIndex).toBe(cluster.replica(leader, 'g0').status().commitIndex);
    expect(cluster.replica('h4', 'g0').status().removed).toBe(false);
  });

  it('a notice is sent only for a committed configuration that leaves the asker out', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 22);
    const { leader } = await groupWithFollower(cluster);
    const others = ['h1', 'h2', 'h3'].filter((id) => id !== leader);

    // The leader hears the others but cannot reach them, nor they each other: the removal it appends never commits,
    // and no one else is elected to overwrite it.
    for (const other of others) cluster.network.cutLink(leader, other);
    cluster.network.cutLink(others[0]!, others[1]!);
    cluster.network.cutLink(others[1]!, others[0]!);
    const removal = cluster.replica(leader, 'g0').removeMember(others[0]!, { timeoutMs: 3 * ELECTION_MS });
    removal.catch(() => undefined);
    await cluster.clock.advance(10 * ELECTION_MS);

    // The others campaign and ask the leader's host for votes; its configuration leaves others[0] out, uncommitted.
    expect(cluster.replica(leader, 'g0').status().members).not.toContain(others[0]);
    expect(cluster.host(leader).stats().removalNotices.checked).toBeGreaterThan(0);
    expect(cluster.host(leader).stats().removalNotices.sent).toBe(0);
    expect(cluster.replica(others[0]!, 'g0').status().removed).toBe(false);
    await expect(removal).rejects.toBeDefined();
  });

  it('a forged notice naming a configuration the replica already has is ignored; one for a group not held and a malformed one are refused', async () => {
    const refusals: HostLogRecord[] = [];
    const cluster = await start(['h1', 'h2', 'h3'], 23, { log: (record) => refusals.push(record) });
    const { leader, follower } = await groupWithFollower(cluster);
    const configIndex = cluster.replica(follower, 'g0').status().configIndex;
    const batch = (items: unknown[]) => ({ kind: 'groups', from: leader, to: follower, items }) as never;

    cluster.network.send(leader, follower, batch([{ group: 'g0', notMember: { configIndex: Math.max(configIndex, 1) } }]));
    cluster.network.send(leader, follower, batch([{ group: 'nope', notMember: { configIndex: 5 } }]));
    cluster.network.send(leader, follower, batch([{ group: 'g0', notMember: { configIndex: 'x' } }, { group: 'g0', notMember: { configIndex: 0 } }]));
    await cluster.clock.advance(3 * TICK_MS);

    // A replica whose configuration starts from index 0 (the group's initial members) believes a notice of index 1 or more.
    const status = cluster.replica(follower, 'g0').status();
    if (configIndex >= 1) expect(status.removed).toBe(false);
    const transport = cluster.host(follower).stats().transport;
    expect(transport.notMemberRefused).toBe(3);
    expect(refusals.filter((record) => record.event === 'refused' && record.message.includes('not-a-member'))).toHaveLength(3);
    // The host and its group go on.
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('fine')));
  });
});

describe('RaftHost.dropRemovedGroup', () => {
  it('keeps a replica marked removed that a leader replicated to since: its acknowledgement cleared the mark, and it follows on', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 24);
    const { leader, follower } = await groupWithFollower(cluster);

    // A notice marks the follower removed (as one would after a removal it never saw) ...
    cluster.network.send(leader, follower, { kind: 'groups', from: leader, to: follower, items: [{ group: 'g0', notMember: { configIndex: 1_000 } }] });
    await cluster.clock.advance(TICK_MS);
    expect(cluster.replica(follower, 'g0').status().removedByNotice).toBe(true);
    // ... but a leader still replicates to it (as one that added it back would), and it acknowledges.
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('appended after the mark')));
    await cluster.clock.advance(3 * TICK_MS);

    const node = cluster.replica(follower, 'g0');
    expect(node.status().removed).toBe(false);
    expect(await cluster.run(cluster.host(follower).dropRemovedGroup('g0'))).toBe(false);
    expect(cluster.replica(follower, 'g0')).toBe(node);
    await cluster.run(cluster.replica(leader, 'g0').propose(encode('it follows on')));
    await cluster.clock.advance(3 * TICK_MS);
    expect(cluster.hosts.get(follower)!.machines.get('g0')!.items).toEqual(['first', 'appended after the mark', 'it follows on']);
  });

  it('a replica marked removed that acknowledges an append, even of entries it held, is no longer marked and is not dropped', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 27);
    const { leader, follower } = await groupWithFollower(cluster);
    const status = cluster.replica(leader, 'g0').status();
    cluster.network.send(leader, follower, { kind: 'groups', from: leader, to: follower, items: [{ group: 'g0', notMember: { configIndex: 1_000 } }] });
    await cluster.clock.advance(TICK_MS);
    expect(cluster.replica(follower, 'g0').status().removed).toBe(true);

    // A leader probing far back: the follower holds it all and answers with its commit index, appending nothing.
    const probe = { type: 'appendEntries', from: leader, to: follower, term: status.term, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: status.commitIndex } as const;
    cluster.network.send(leader, follower, { kind: 'groups', from: leader, to: follower, items: [{ group: 'g0', message: { kind: 'raft', message: probe } }] });
    await cluster.clock.advance(TICK_MS);

    expect(cluster.replica(follower, 'g0').status().removed).toBe(false);
    expect(await cluster.run(cluster.host(follower).dropRemovedGroup('g0'))).toBe(false);
  });

  it('does nothing for a replica that is not marked removed', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 25);
    const { follower } = await groupWithFollower(cluster);
    const node = cluster.replica(follower, 'g0');

    expect(await cluster.host(follower).dropRemovedGroup('g0')).toBe(false);
    expect(cluster.replica(follower, 'g0')).toBe(node);
    await expect(cluster.host(follower).dropRemovedGroup('nope')).rejects.toMatchObject({ code: 'KEEL_UNKNOWN_GROUP' });
  });

  it('a replica removed and then added back is no longer marked removed, ticks again and is not dropped', async () => {
    const cluster = await start(['h1', 'h2', 'h3'], 26);
    const { leader, follower } = await groupWithFollower(cluster);
    await cluster.run(cluster.replica(leader, 'g0').removeMember(follower));
    await cluster.clock.advance(3 * TICK_MS);
    expect(cluster.replica(follower, 'g0').status().removed).toBe(true);

    await cluster.run(cluster.replica(leader, 'g0').addVoter(follower, follower));
    await cluster.clock.advance(3 * TICK_MS);

    const back = cluster.replica(follower, 'g0').status();
    expect(back.removed).toBe(false);
    expect(back.members).toContain(follower);
    expect(await cluster.host(follower).dropRemovedGroup('g0')).toBe(false);
    // It ticks again: with the others gone, it takes part in electing a new leader.
    const others = ['h1', 'h2', 'h3'].filter((id) => id !== leader);
    await cluster.crashHost(leader);
    const elected = await cluster.waitForLeaders(['g0']);
    expect(others).toContain(elected.get('g0'));
  });
});
