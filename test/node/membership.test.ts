import { afterEach, describe, expect, test } from 'vitest';
import { ConfChangeInProgressError, InvalidArgumentError, InvalidConfigError, NotLeaderError, TimeoutError, UnknownMemberError } from '../../src/errors.js';
import type { Transport } from '../../src/transport/transport.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** A three-node cluster with a leader that has committed `writes` entries. */
async function started(writes = 3, extra = {}): Promise<{ c: NodeCluster; leader: string }> {
  cluster = await NodeCluster.start(['n1', 'n2', 'n3'], 7, extra);
  const c = cluster;
  const leader = await c.waitForLeader();
  for (let i = 0; i < writes; i++) await c.run(c.node(leader).propose(text(`w${i}`)));
  return { c, leader };
}

const sorted = (ids: readonly string[]): string[] => [...ids].sort();

describe('RaftNode membership changes', () => {
  test('addLearner then promote: the learner receives the log, then votes; every node sees the configuration', async () => {
    const { c, leader } = await started();
    await c.joinNode('n4');
    expect(c.node('n4').status().members).toEqual([]);

    await c.run(c.node(leader).addLearner('n4', 'local:n4'));
    expect(c.node(leader).status().learners).toEqual(['n4']);
    await c.run(c.node(leader).propose(text('after-learner')));
    await c.advance(5 * TICK_MS);
    expect(c.entry('n4').machine.items).toEqual(['w0', 'w1', 'w2', 'after-learner']);

    await c.run(c.node(leader).promote('n4'));
    await c.advance(5 * TICK_MS);
    for (const id of ['n1', 'n2', 'n3', 'n4']) {
      const status = c.node(id).status();
      expect(sorted(status.members), id).toEqual(['n1', 'n2', 'n3', 'n4']);
      expect(status.learners, id).toEqual([]);
      expect(status.joint, id).toBeNull();
    }
  });

  test('addVoter on a follower rejects with NotLeaderError naming the leader', async () => {
    const { c, leader } = await started();
    const follower = c.ids.find((id) => id !== leader)!;
    await expect(c.node(follower).addVoter('n4', 'local:n4')).rejects.toMatchObject({ code: 'KEEL_NOT_LEADER', leader });
  });

  test('addVoter to a three-node cluster: the new voter is in every configuration and a quorum of four commits', async () => {
    const { c, leader } = await started();
    await c.joinNode('n4');
    await c.run(c.node(leader).addVoter('n4', 'local:n4'));
    // With n4 a voter, a quorum of 4 is 3: cutting off two old followers stops commits unless n4 counts.
    const others = c.ids.filter((id) => id !== leader);
    c.network.isolate([others[0]!], [...c.ids, 'n4']);
    expect(await c.run(c.node(leader).propose(text('with-n4')))).toBe(4);
    expect(sorted(c.node('n4').status().members)).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  test('two voters at once through a joint configuration: 3 → 5 nodes, left automatically', async () => {
    const { c, leader } = await started();
    await c.joinNode('n4');
    await c.joinNode('n5');
    await c.run(c.node(leader).addLearner('n4', 'local:n4'));
    await c.run(c.node(leader).addLearner('n5', 'local:n5'));
    const storage = c.entry(leader).storage;
    const before = storage.lastIndex();
    await c.run(c.node(leader).promote(['n4', 'n5']));
    // It went through a joint configuration: one config entry to enter it, one to leave it…
    const configs = storage.entries(before + 1, storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER).filter((entry) => entry.type === 'config');
    expect(configs).toHaveLength(2);
    const status = c.node(leader).status();
    expect(status.joint).toBeNull(); // …and left it before resolving
    expect(sorted(status.members)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(await c.run(c.node('n5').propose(text('via-n5')))).toBe(4);
  });

  test('removeMember of a follower: the cluster continues without it, and it learns it was removed and goes idle', async () => {
    const { c, leader } = await started();
    const victim = c.ids.find((id) => id !== leader)!;
    let removed = 0;
    c.node(victim).on('removed', () => removed++);
    await c.run(c.node(leader).removeMember(victim));
    await c.advance(5 * TICK_MS);
    expect(removed).toBe(1);
    expect(c.node(victim).status().removed).toBe(true);
    expect(c.node(leader).status().members).not.toContain(victim);
    // Two voters left: both are needed, and they suffice.
    expect(await c.run(c.node(leader).propose(text('after-remove')))).toBe(4);
    // The removed node does not disrupt: after many election timeouts the term and leader are unchanged.
    const term = c.node(leader).status().term;
    await c.advance(50 * 10 * TICK_MS);
    expect(c.leader()).toBe(leader);
    expect(c.node(leader).status().term).toBe(term);
    expect(c.node(victim).status().term).toBeLessThanOrEqual(term);
  });

  test('removeMember of the leader: it steps down once committed, and the others elect a leader and continue', async () => {
    const { c, leader } = await started();
    let removed = 0;
    c.node(leader).on('removed', () => removed++);
    await c.run(c.node(leader).removeMember(leader));
    const next = await c.waitForLeader();
    expect(next).not.toBe(leader);
    expect(removed).toBe(1);
    expect(c.node(leader).status().role).not.toBe('leader');
    expect(c.node(next).status().members).not.toContain(leader);
    expect(await c.run(c.node(next).propose(text('after-leader-removed')))).toBe(4);
  });

  test('replaceMember of a follower: joint change, then the new node is a voter and the old one gone', async () => {
    const { c, leader } = await started();
    const old = c.ids.find((id) => id !== leader)!;
    await c.joinNode('n4');
    await c.run(c.node(leader).replaceMember(old, 'n4', 'local:n4'));
    const status = c.node(leader).status();
    expect(status.joint).toBeNull();
    expect(sorted(status.members)).toEqual(sorted([...c.ids.filter((id) => id !== old), 'n4']));
    expect(await c.run(c.node(leader).propose(text('after-replace')))).toBe(4);
  });

  test('replaceMember of the leader: leadership passes to the new node, which leaves the joint configuration', async () => {
    const { c, leader } = await started();
    await c.joinNode('n4');
    await c.run(c.node(leader).replaceMember(leader, 'n4', 'local:n4'));
    expect(c.leader()).toBe('n4');
    const status = c.node('n4').status();
    expect(status.joint).toBeNull();
    expect(sorted(status.members)).toEqual(sorted([...c.ids.filter((id) => id !== leader), 'n4']));
    await c.advance(5 * TICK_MS);
    expect(c.node(leader).status().removed).toBe(true);
    expect(await c.run(c.node('n4').propose(text('after-replace')))).toBe(4);
  });

  test('a change while another is in progress rejects with ConfChangeInProgressError', async () => {
    const { c, leader } = await started();
    await c.joinNode('n4');
    const first = c.node(leader).addLearner('n4', 'local:n4');
    await expect(c.run(c.node(leader).addLearner('n5', 'local:n5'))).rejects.toBeInstanceOf(ConfChangeInProgressError);
    await c.run(first);
    expect(c.node(leader).status().learners).toEqual(['n4']);
    // The refused change appended nothing, not even n5's address.
    expect(c.node(leader).status().commitIndex).toBe(c.entry(leader).storage.lastIndex());
  });

  test('unknown targets reject with UnknownMemberError', async () => {
    const { c, leader } = await started();
    await expect(c.run(c.node(leader).removeMember('nobody'))).rejects.toBeInstanceOf(UnknownMemberError);
    await expect(c.run(c.node(leader).promote('nobody'))).rejects.toBeInstanceOf(UnknownMemberError);
    await expect(c.run(c.node(leader).replaceMember('nobody', 'n4', 'local:n4'))).rejects.toBeInstanceOf(UnknownMemberError);
    // Nothing was proposed by a refused change: the log holds no address entry for n4.
    const last = c.entry(leader).storage.lastIndex();
    await c.joinNode('n4');
    await c.run(c.node(leader).addLearner('n4', 'local:n4'));
    await expect(c.run(c.node(leader).addLearner('n4', 'local:n4'))).rejects.toMatchObject({ code: 'KEEL_INVALID_CONF_CHANGE' });
    expect(c.entry(leader).storage.lastIndex()).toBe(last + 2); // the address and the config entry of the first call only
  });

  test('promote waits for a lagging learner to catch up, and times out while it cannot', async () => {
    const { c, leader } = await started(3, { membership: { promoteWithinEntries: 2 } });
    await c.joinNode('n4');
    await c.run(c.node(leader).addLearner('n4', 'local:n4'));
    c.network.isolate(['n4'], [...c.ids, 'n4']);
    for (let i = 0; i < 10; i++) await c.run(c.node(leader).propose(text(`lag${i}`)));
    // Commits continue while n4 is cut off: it is only a learner.
    const outcome = await c.run(c.node(leader).promote('n4', { timeoutMs: 30 * TICK_MS })).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(c.node(leader).status().learners).toEqual(['n4']);
    c.network.heal();
    await c.run(c.node(leader).promote('n4'));
    expect(sorted(c.node(leader).status().members)).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  test('a new node catches up by snapshot before it is promoted, and learns the addresses from it', async () => {
    const { c, leader } = await started(0, { snapshotting: { entries: 5, keepEntries: 0 } });
    await c.joinNode('n4');
    await c.run(c.node(leader).addVoter('n4', 'local:n4'));
    for (let i = 0; i < 12; i++) await c.run(c.node(leader).propose(text(`s${i}`)));
    await c.joinNode('n5');
    let snapshots = 0;
    c.node('n5').on('snapshot', (snapshot) => snapshot.kind === 'installed' && snapshots++);
    await c.run(c.node(leader).addVoter('n5', 'local:n5'));
    await c.advance(5 * TICK_MS);
    expect(snapshots).toBeGreaterThan(0);
    expect(c.entry('n5').machine.items).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}`));
    expect(sorted(c.node('n5').status().members)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
  });

  test('every member, a joined one too, drops a removed member from its transport an election timeout later', async () => {
    const { c, leader } = await started();
    const removedPeers: string[] = [];
    const inner = c.network.transport('n4');
    const recording: Transport = {
      start: (handler) => inner.start(handler),
      send: (to, message) => inner.send(to, message),
      addPeer: (id, address) => inner.addPeer(id, address),
      removePeer: (id) => {
        removedPeers.push(id);
        inner.removePeer(id);
      },
      close: () => inner.close(),
    };
    await c.joinNode('n4', { transport: recording });
    await c.run(c.node(leader).addVoter('n4', 'local:n4'));
    const victim = c.ids.find((id) => id !== leader)!;
    await c.run(c.node(leader).removeMember(victim));
    expect(removedPeers).toEqual([]); // not at once: the leader's last append must still reach it
    await c.advance(3 * 10 * TICK_MS);
    expect(removedPeers).toEqual([victim]);
  });

  test('a member whose transport refuses an address the leader accepted keeps running (the peer is only unreachable from it)', async () => {
    const { c, leader } = await started();
    const inner = c.network.transport('n4');
    const picky: Transport = {
      start: (handler) => inner.start(handler),
      send: (to, message) => inner.send(to, message),
      addPeer: (id, address) => {
        if (address.startsWith('odd:')) throw new InvalidArgumentError(`cannot parse ${address}`);
        inner.addPeer(id, address);
      },
      removePeer: (id) => inner.removePeer(id),
      close: () => inner.close(),
    };
    await c.joinNode('n4', { transport: picky });
    await c.run(c.node(leader).addVoter('n4', 'local:n4'));
    await c.joinNode('n5');
    await c.run(c.node(leader).addLearner('n5', 'odd:n5'));
    await c.run(c.node(leader).propose(text('after')));
    await c.advance(5 * TICK_MS);
    expect(c.node('n4').status().role).not.toBe('stopped');
    expect(c.entry('n4').machine.items.at(-1)).toBe('after');
  });

  test('open: join: true with members, or neither, is an InvalidConfigError', async () => {
    cluster = new NodeCluster(['n1']);
    await expect(cluster.joinNode('n1', { members: ['n1'] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(cluster.joinNode('n1', { join: false })).rejects.toMatchObject({ code: 'KEEL_INVALID_CONFIG', field: 'members' });
  });

  test('membership calls reject NotLeaderError on a joining node', async () => {
    const { c } = await started(0);
    const joiner = await c.joinNode('n4');
    await expect(joiner.removeMember('n1')).rejects.toBeInstanceOf(NotLeaderError);
  });
});
