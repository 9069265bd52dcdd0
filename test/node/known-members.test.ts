import { describe, expect, it } from 'vitest';
import type { Membership } from '../../src/core/types.js';
import { VirtualClock } from '../../src/util/clock.js';
import { KnownMembers } from '../../src/node/membership/known-members.js';
import { MemberAddresses } from '../../src/node/membership/member-addresses.js';

function setUp(initial: Membership) {
  const clock = new VirtualClock();
  const removedPeers: string[] = [];
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
    removed: () => undefined,
  }, initial);
  return {
    clock,
    members,
    removedPeers,
    apply(next: Membership) {
      membership = next;
      members.configurationApplied(next);
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
});
