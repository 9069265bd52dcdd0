import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, SessionStaleError } from '../../src/errors.js';
import { SessionTable } from '../../src/node/sessions.js';
import { NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

describe('exactly-once client sessions (dissertation §6.3)', () => {
  test('a retried proposal is applied once and resolves with the original result, even through another node', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const session = { clientId: 'client-a', seq: 1 };
    const first = await c.run(c.node(leader).propose(text('once'), { session }));
    await c.run(c.node(leader).propose(text('other')));
    const retry = await c.run(c.node(follower).propose(text('once'), { session }));
    expect(retry).toBe(first);
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(['once', 'other']);
  });

  test('a request older than the client\'s latest applied one is refused with SessionStaleError', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('s1'), { session: { clientId: 'c', seq: 1 } }));
    await c.run(c.node(leader).propose(text('s2'), { session: { clientId: 'c', seq: 2 } }));
    const outcome = await c.run(c.node(leader).propose(text('s1-again'), { session: { clientId: 'c', seq: 1 } })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(SessionStaleError);
    expect(c.entry(leader).machine.items).toEqual(['s1', 's2']);
  });

  test('the session table travels in snapshots: a node that installed one still recognises a retry', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 10, keepEntries: 0 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.network.isolate([lagging], c.ids);
    const session = { clientId: 'retrying-client', seq: 7 };
    const original = await c.run(c.node(leader).propose(text('exactly-once'), { session }));
    for (let i = 0; i < 30; i++) await c.run(c.node(leader).propose(text(`filler${i}`)));
    const installed = new Promise<number>((resolve) => c.node(lagging).on('snapshot', (snapshot) => snapshot.kind === 'installed' && resolve(snapshot.index)));
    c.network.heal();
    await c.run(installed);
    await c.advance(10 * TICK_MS);
    // The retry goes through the node that only knows the session from the snapshot.
    const retry = await c.run(c.node(lagging).propose(text('exactly-once'), { session }));
    expect(retry).toBe(original);
    expect(c.entry(lagging).machine.items.filter((item) => item === 'exactly-once')).toHaveLength(1);
  });

  test('invalid sessions are refused before anything is proposed', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    expect(() => c.node(leader).propose(text('x'), { session: { clientId: '', seq: 1 } })).toThrow(InvalidArgumentError);
    expect(() => c.node(leader).propose(text('x'), { session: { clientId: 'c', seq: 0 } })).toThrow(InvalidArgumentError);
    expect(() => c.node(leader).propose(text('x'), { session: { clientId: 'c', seq: 1.5 } })).toThrow(InvalidArgumentError);
  });
});

describe('SessionTable', () => {
  test('forgets the least recently used client beyond its bound, deterministically', () => {
    const table = new SessionTable(2);
    table.record({ clientId: 'a', seq: 1 }, 'ra');
    table.record({ clientId: 'b', seq: 1 }, 'rb');
    table.record({ clientId: 'a', seq: 2 }, 'ra2'); // a is now the most recent
    table.record({ clientId: 'c', seq: 1 }, 'rc'); // evicts b
    expect(table.size).toBe(2);
    expect(table.check({ clientId: 'b', seq: 1 })).toEqual({ kind: 'apply' });
    expect(table.check({ clientId: 'a', seq: 2 })).toEqual({ kind: 'duplicate', result: 'ra2' });
    expect(table.check({ clientId: 'a', seq: 1 })).toEqual({ kind: 'stale', lastSeq: 2 });
  });

  test('round-trips through its snapshot encoding', () => {
    const table = new SessionTable(10);
    table.record({ clientId: 'x', seq: 3 }, { value: 'result', n: 1 });
    const copy = new SessionTable(10);
    copy.restore(table.encode());
    expect(copy.check({ clientId: 'x', seq: 3 })).toEqual({ kind: 'duplicate', result: { value: 'result', n: 1 } });
  });
});
