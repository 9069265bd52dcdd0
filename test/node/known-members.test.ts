import { describe, expect, it } from 'vitest';
import type { Membership } from '../../src/core/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { KnownMembers } from '../../src/node/membership/known-members.js';
import { MemberAddresses } from '../../src/node/membership/member-addresses.js';

function setUp(initial: Membership, hosted: { heardFromLeader?: () => boolean; askMembership?: (voters: readonly string[]) => void } = {}) {
  const clock = new VirtualClock();
  const removedPeers: string[] = [];
  let removals = 0;
  let readds = 0;
  let membership = initial;
  let configIndex = 0;
  let logEnd = { index: 0, term: 0 };
  let running = true;
  const members = new KnownMembers({
    id: 'a',
    clock,
    addresses: new MemberAddresses(),
    transport: { addPeer: () => undefined, removePeer: (id) => void removedPeers.push(id) },
    forgetAfterMs: 100,
    membership: () => membership,
    isRunning: () => running,
    configIndex: () => configIndex,
    commitIndex: () => 1_000,
    heardFromLeader: hosted.heardFromLeader ?? (() => false),
    logEnd: () => logEnd,
    removed: () => void removals++,
    readded: () => void readds++,
    ...(hosted.askMembership === undefined ? {} : { askMembership: hosted.askMembership }),
  }, initial);
  return {
    clock,
    members,
    removedPeers,
    apply(next: Membership) {
      membership = next;
      configIndex++;
      members.configurationApplied(next);
    },
    /** Appends a configuration at `index` without applying it (a follower's log got it), then ends the turn. */
    append(next: Membership, index: number) {
      membership = next;
      configIndex = index;
      members.checkReadded();
    },
    setLogEnd(index: number, term: number) {
      logEnd = { index, term };
    },
    setConfigIndex(index: number) {
      configIndex = index;
    },
    get readds() {
      return readds;
    },
    /** Applies an older configuration than the one in force, as a restarted node replaying its log does. */
    replay(older: Membership) {
      members.configurationApplied(older);
    },
    get removals() {
      return removals;
    },
    close() {
      running = false;
      members.stop();
    },
  };
}

describe('KnownMembers', () => {
  it('forgets a member that left an election timeout after the configuration was applied', async () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });

    node.apply({ voters: ['a', 'b'] });
    await node.clock.advance(99);
    const before = [...node.removedPeers];
    await node.clock.advance(1);

    expect(before).toEqual([]);
    expect(node.removedPeers).toEqual(['c']);
    expect(node.clock.pending()).toBe(0);
  });

  it('leaves no timer behind once the node stops', async () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.apply({ voters: ['a', 'b'] });
    const pendingBefore = node.clock.pending();

    node.close();
    await node.clock.advance(1_000);

    expect(pendingBefore).toBe(1);
    expect(node.clock.pending()).toBe(0);
    expect(node.removedPeers).toEqual([]);
  });

  it('a node removed by an applied configuration that the log keeps is removed, once', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.apply({ voters: ['b', 'c'] });
    node.apply({ voters: ['b', 'c', 'd'] });
    expect(node.members.removed).toBe(true);
    expect(node.removals).toBe(1);
  });

  it('a restarted node replaying the configurations from before it was added is not removed (the simulator found it)', () => {
    // The log's latest configuration has 'a'; the entries replayed from index 1 hold the ones before it joined.
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.replay({ voters: ['b', 'c', 'd'] });
    node.replay({ voters: ['b', 'c', 'd'], learners: ['a'] });
    node.replay({ voters: ['b', 'c'] });
    expect(node.members.removed).toBe(false);
    expect(node.removals).toBe(0);
    // And once it applies its own removal, with a log that no longer has it, it is removed.
    node.apply({ voters: ['b', 'c', 'a'] });
    node.apply({ voters: ['b', 'c'] });
    expect(node.members.removed).toBe(true);
  });

  it('a notice of a committed configuration the log has not reached marks the node removed, with its log end', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.setConfigIndex(4);
    node.setLogEnd(9, 2);

    expect(node.members.notMember(7)).toBe(true);

    expect(node.members.removed).toBe(true);
    expect(node.removals).toBe(1);
    expect(node.members.removal).toEqual({ cause: 'notice', lastIndex: 9, lastTerm: 2, configIndex: 4, noticeConfigIndex: 7 });
  });

  it('a notice naming the configuration the log holds as its latest, which leaves the node out, is believed (the node never learned it committed)', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.append({ voters: ['b', 'c'] }, 7);
    node.setLogEnd(7, 2);

    expect(node.members.notMember(7)).toBe(true);

    expect(node.members.removal).toEqual({ cause: 'notice', lastIndex: 7, lastTerm: 2, configIndex: 7, noticeConfigIndex: 7 });
  });

  it('a notice is ignored when the log already holds that configuration or a newer one', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.setConfigIndex(7);

    expect(node.members.notMember(7)).toBe(false);
    expect(node.members.notMember(5)).toBe(false);

    expect(node.members.removed).toBe(false);
    expect(node.removals).toBe(0);
  });

  it('a node told it was removed is not cleared by its own configuration, only by a newer one that lists it', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.setConfigIndex(4);
    node.members.notMember(7);

    node.append({ voters: ['a', 'b', 'c'] }, 4);
    expect(node.members.removed).toBe(true);
    // It catches up with the removal itself: still removed.
    node.append({ voters: ['b', 'c'] }, 7);
    expect(node.members.removed).toBe(true);
    // Added back (the leader appended J, a configuration that lists it again): it ticks again.
    node.append({ voters: ['b', 'c'], learners: ['a'] }, 12);

    expect(node.members.removed).toBe(false);
    expect(node.members.removal).toBeNull();
    expect(node.readds).toBe(1);
  });

  it('a node that applied its removal and is added back is no longer removed', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.apply({ voters: ['b', 'c'] });
    expect(node.members.removal?.cause).toBe('configuration');

    node.append({ voters: ['b', 'c'], learners: ['a'] }, 5);

    expect(node.members.removed).toBe(false);
    expect(node.readds).toBe(1);
    // Removed again later: marked again.
    node.apply({ voters: ['b', 'c'] });
    expect(node.members.removed).toBe(true);
    expect(node.removals).toBe(2);
  });

  it('an acknowledgement of an append while marked removed clears the mark: some leader counts the node', () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.members.acknowledged();
    expect(node.readds).toBe(0);
    node.setConfigIndex(4);
    node.members.notMember(7);

    node.members.acknowledged();

    expect(node.members.removed).toBe(false);
    expect(node.readds).toBe(1);
  });

  it('a node whose removal mark an acknowledgement cleared is marked again after an election timeout without one, if its configuration still leaves it out', async () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.apply({ voters: ['b', 'c'] });
    node.members.acknowledged();
    expect(node.members.removed).toBe(false);

    await node.clock.advance(99);
    node.members.onTick();
    expect(node.members.removed).toBe(false);
    node.members.acknowledged();
    await node.clock.advance(100);
    node.members.onTick();

    expect(node.members.removal?.cause).toBe('configuration');
    expect(node.removals).toBe(2);
  });

  it('a node that starts with its committed removal in its log (never applied as a member) is marked removed at a tick without a leader', () => {
    // Restarted from a snapshot taken after its removal: its configuration leaves it out from the start.
    const node = setUp({ voters: ['b', 'c'] });
    expect(node.members.removed).toBe(false);
    node.setConfigIndex(9);

    node.members.onTick();

    expect(node.members.removal?.cause).toBe('configuration');
    // A joining node not yet added (a configuration that lists no one) is not.
    const joining = setUp({ voters: [] });
    joining.members.onTick();
    expect(joining.members.removed).toBe(false);
  });
  it('a learner that heard from no leader asks the voters whether it is still a member, at most once per election timeout', async () => {
    // A learner never campaigns, so no vote request of its own would draw a not-a-member notice.
    const asked: (readonly string[])[] = [];
    const node = setUp({ voters: ['b', 'c'], learners: ['a'], outgoingVoters: ['c', 'd'] }, { askMembership: (voters) => void asked.push(voters) });
    node.setConfigIndex(4);

    node.members.onTick();
    node.members.onTick();
    expect(asked).toEqual([['b', 'c', 'd']]);
    await node.clock.advance(100);
    node.members.onTick();

    expect(asked).toEqual([['b', 'c', 'd'], ['b', 'c', 'd']]);
    // Asking marks nothing: only a notice the node believes does.
    expect(node.members.removed).toBe(false);
  });

  it('a learner that hears from its leader, a voter, or a node marked removed does not ask', () => {
    const asked: (readonly string[])[] = [];
    const ask = (voters: readonly string[]): void => void asked.push(voters);
    const led = setUp({ voters: ['b', 'c'], learners: ['a'] }, { heardFromLeader: () => true, askMembership: ask });
    const voter = setUp({ voters: ['a', 'b'] }, { askMembership: ask });
    const marked = setUp({ voters: ['b', 'c'], learners: ['a'] }, { askMembership: ask });
    marked.setConfigIndex(4);
    expect(marked.members.notMember(7)).toBe(true);

    for (const node of [led, voter, marked]) node.members.onTick();

    expect(asked).toEqual([]);
  });

  it('a learner told by a member that a newer committed configuration leaves it out is marked removed', () => {
    const node = setUp({ voters: ['b', 'c'], learners: ['a'] });
    node.setConfigIndex(4);
    node.setLogEnd(5, 2);

    expect(node.members.notMember(6)).toBe(true);

    expect(node.members.removal).toEqual({ cause: 'notice', lastIndex: 5, lastTerm: 2, configIndex: 4, noticeConfigIndex: 6 });
  });

  it('does not forget a node that left if its address was learned again before the timer fired (it is being added back)', async () => {
    const node = setUp({ voters: ['a', 'b', 'c'] });
    node.apply({ voters: ['a', 'b'] });
    // The leader adding c back logged its address first; the configuration naming c is not appended yet.
    node.members.learnAddress('c', 'c:1');
    await node.clock.advance(100);

    expect(node.removedPeers).toEqual([]);
    expect(node.members.ids.has('c')).toBe(true);
  });
});
