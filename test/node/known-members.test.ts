import { describe, expect, it } from 'vitest';
import type { Membership } from '../../src/core/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { KnownMembers } from '../../src/node/membership/known-members.js';
import { MemberAddresses } from '../../src/node/membership/member-addresses.js';

function setUp(initial: Membership) {
  const clock = new VirtualClock();
  const removedPeers: string[] = [];
  let removals = 0;
  let membership = initial;
  let running = true;
  const members = new KnownMembers({
    id: 'a',
    clock,
    addresses: new MemberAddresses(),
    transport: { addPeer: () => undefined, removePeer: (id) => void removedPeers.push(id) },
    forgetAfterMs: 100,
    membership: () => membership,
    isRunning: () => running,
    removed: () => void removals++,
  }, initial);
  return {
    clock,
    members,
    removedPeers,
    apply(next: Membership) {
      membership = next;
      members.configurationApplied(next);
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
});
