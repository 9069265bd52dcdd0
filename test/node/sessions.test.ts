/**
 * Exactly-once client sessions, Raft dissertation §6.3, on an in-process
 * 3-node cluster: registration through the log, retries, eviction, conflicts,
 * and results that cannot be remembered.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { InvalidArgumentError, ResultNotEncodableError, SessionConflictError, SessionExpiredError, SessionStaleError } from '../../src/errors.js';
import type { AppliedCommand } from '../../src/node/state-machine.js';
import { Session } from '../../src/node/apply/session.js';
import { ListStateMachine, NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

const count = (items: readonly string[], item: string): number => items.filter((each) => each === item).length;

describe('exactly-once client sessions (dissertation §6.3)', () => {
  test('a session is registered through the log; its id is the register entry\'s index, the same on every node', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const first = await c.run(c.node(follower).openSession());
    const second = await c.run(c.node(leader).openSession());
    expect(first).toBeInstanceOf(Session);
    expect(second.id).toBeGreaterThan(first.id);
    expect(c.node(leader).inspect().term(first.id)).toBeDefined();
  });

  test('a retried proposal is applied once and resolves with the original result, even through another node', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const session = await c.run(c.node(leader).openSession());
    const seq = session.nextSeq();
    const first = await c.run(c.node(leader).propose(text('once'), { session, seq }));
    await c.run(c.node(leader).propose(text('other')));
    const retry = await c.run(c.node(follower).propose(text('once'), { session, seq }));
    expect(retry).toBe(first);
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(['once', 'other']);
  });

  test('without seq the session assigns increasing numbers', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const session = await c.run(c.node(leader).openSession());
    await c.run(c.node(leader).propose(text('a'), { session }));
    await c.run(c.node(leader).propose(text('b'), { session }));
    expect(session.lastSeq).toBe(2);
    expect(c.entry(leader).machine.items).toEqual(['a', 'b']);
  });

  test('a request older than the session\'s latest applied one is refused with SessionStaleError', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const session = await c.run(c.node(leader).openSession());
    await c.run(c.node(leader).propose(text('s1'), { session, seq: 1 }));
    await c.run(c.node(leader).propose(text('s2'), { session, seq: 2 }));
    const outcome = await c.run(c.node(leader).propose(text('s1'), { session, seq: 1 })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(SessionStaleError);
    expect(c.entry(leader).machine.items).toEqual(['s1', 's2']);
  });

  test('§6.3 with maxSessions 2: a retry of A\'s request after A was evicted is refused with SessionExpiredError and applied once', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { limits: { maxSessions: 2 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const a = await c.run(c.node(leader).openSession());
    const seq = a.nextSeq();
    await c.run(c.node(leader).propose(text('A-1'), { session: a, seq }));
    // Two more sessions: A is the least recently used, and the table holds two.
    await c.run(c.node(leader).openSession());
    await c.run(c.node(follower).openSession());
    const retry = await c.run(c.node(follower).propose(text('A-1'), { session: a, seq })).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(SessionExpiredError);
    expect((retry as SessionExpiredError).code).toBe('KEEL_SESSION_EXPIRED');
    // Whatever the number: a new request of the evicted session is not applied either.
    const next = await c.run(c.node(leader).propose(text('A-2'), { session: a })).catch((e: unknown) => e);
    expect(next).toBeInstanceOf(SessionExpiredError);
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) {
      expect(count(c.entry(id).machine.items, 'A-1')).toBe(1);
      expect(count(c.entry(id).machine.items, 'A-2')).toBe(0);
    }
  });

  test('the deprecated implicit { clientId, seq } session is honest about its limit: after eviction a retry is applied again', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { limits: { maxSessions: 2 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const a = { clientId: 'A', seq: 1 };
    await c.run(c.node(leader).propose(text('A-1'), { session: a }));
    await c.run(c.node(leader).propose(text('B-1'), { session: { clientId: 'B', seq: 1 } }));
    await c.run(c.node(leader).propose(text('C-1'), { session: { clientId: 'C', seq: 1 } }));
    await c.run(c.node(leader).propose(text('A-1'), { session: a }));
    expect(count(c.entry(leader).machine.items, 'A-1')).toBe(2);
  });

  test('reusing a sequence number with another command is refused with SessionConflictError, not answered with the first result', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const session = await c.run(c.node(leader).openSession());
    const seq = session.nextSeq();
    await c.run(c.node(leader).propose(text('first'), { session, seq }));
    const reuse = await c.run(c.node(leader).propose(text('second'), { session, seq })).catch((e: unknown) => e);
    expect(reuse).toBeInstanceOf(SessionConflictError);
    expect(c.entry(leader).machine.items).toEqual(['first']);
  });

  test('a closed session refuses its requests with SessionExpiredError; closing twice is harmless', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const session = await c.run(c.node(leader).openSession());
    await c.run(c.node(leader).closeSession(session));
    await c.run(c.node(leader).closeSession(session));
    const outcome = await c.run(c.node(leader).propose(text('late'), { session })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(SessionExpiredError);
    expect(c.entry(leader).machine.items).toEqual([]);
  });

  test('the session table travels in snapshots: a node that installed one still recognises a retry', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 10, keepEntries: 0 } });
    const c = cluster;
    const leader = await c.waitForLeader();
    const lagging = c.ids.find((id) => id !== leader)!;
    c.network.isolate([lagging], c.ids);
    const session = await c.run(c.node(leader).openSession());
    const seq = session.nextSeq();
    const original = await c.run(c.node(leader).propose(text('exactly-once'), { session, seq }));
    for (let i = 0; i < 30; i++) await c.run(c.node(leader).propose(text(`filler${i}`)));
    const installed = new Promise<number>((resolve) => c.node(lagging).on('snapshot', (snapshot) => snapshot.kind === 'installed' && resolve(snapshot.index)));
    c.network.heal();
    await c.run(installed);
    await c.advance(10 * TICK_MS);
    // The retry goes through the node that only knows the session from the snapshot.
    const retry = await c.run(c.node(lagging).propose(text('exactly-once'), { session, seq }));
    expect(retry).toBe(original);
    expect(count(c.entry(lagging).machine.items, 'exactly-once')).toBe(1);
  });

  test('invalid session options are refused before anything is proposed', async () => {
    cluster = await NodeCluster.start();
    const c = cluster;
    const leader = await c.waitForLeader();
    const node = c.node(leader);
    const session = new Session(1);
    await expect(node.propose(text('x'), { session, seq: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(node.propose(text('x'), { session, seq: 1.5 })).rejects.toThrow(InvalidArgumentError);
    await expect(node.propose(text('x'), { seq: 1 })).rejects.toThrow(InvalidArgumentError);
    expect(() => new Session(0)).toThrow(InvalidArgumentError);
    await expect(node.propose(text('x'), { session: { clientId: '', seq: 1 } })).rejects.toThrow(InvalidArgumentError);
    await expect(node.propose(text('x'), { session: { clientId: 'c', seq: 0 } })).rejects.toThrow(InvalidArgumentError);
    await expect(node.closeSession({ id: 1 } as Session)).rejects.toThrow(InvalidArgumentError);
  });
});

/** A list machine whose `symbol` and `cyclic` commands return results msgpack cannot encode. */
class UnencodableResults extends ListStateMachine {
  override apply(command: AppliedCommand): number {
    const length = super.apply(command);
    const item = this.items[length - 1];
    if (item === 'symbol') return Symbol('result') as unknown as number;
    if (item === 'cyclic') {
      const cyclic: { self?: unknown } = {};
      cyclic.self = cyclic;
      return cyclic as unknown as number;
    }
    return length;
  }
}

describe('results that cannot be encoded', () => {
  test('a Symbol or a cyclic result: the proposer and a retry get ResultNotEncodableError, applied once; snapshots succeed everywhere', async () => {
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 5, keepEntries: 0 } }, () => new UnencodableResults());
    const c = cluster;
    const fatal: unknown[] = [];
    for (const id of c.ids) c.node(id).on('fatal', (error) => fatal.push(error));
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const session = await c.run(c.node(leader).openSession());
    for (const command of ['symbol', 'cyclic']) {
      const seq = session.nextSeq();
      const first = await c.run(c.node(leader).propose(text(command), { session, seq })).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(ResultNotEncodableError);
      expect((first as ResultNotEncodableError).code).toBe('KEEL_RESULT_NOT_ENCODABLE');
      const retry = await c.run(c.node(follower).propose(text(command), { session, seq })).catch((e: unknown) => e);
      expect(retry).toBeInstanceOf(ResultNotEncodableError);
    }
    // Without a session the result is handed over and never remembered, so it need not encode.
    expect(typeof (await c.run(c.node(leader).propose(text('symbol'))))).toBe('symbol');

    const snapshotted = c.ids.map((id) => new Promise<number>((resolve) => c.node(id).once('snapshot', (event) => resolve(event.index))));
    for (let i = 0; i < 10; i++) await c.run(c.node(leader).propose(text(`filler${i}`)));
    await c.run(Promise.all(snapshotted));
    expect(fatal).toEqual([]);
    for (const id of c.ids) {
      expect(c.node(id).status().role).not.toBe('stopped');
      expect(count(c.entry(id).machine.items, 'symbol')).toBe(2);
      expect(count(c.entry(id).machine.items, 'cyclic')).toBe(1);
    }
    // A node restarted from its snapshot still remembers the failure: a retry is not applied again.
    await c.crash(follower);
    await c.startNode(follower);
    await c.waitForLeader();
    const afterRestart = await c.run(c.node(follower).propose(text('cyclic'), { session, seq: 2 })).catch((e: unknown) => e);
    expect(afterRestart).toBeInstanceOf(ResultNotEncodableError);
    await c.advance(10 * TICK_MS);
    expect(count(c.entry(follower).machine.items, 'cyclic')).toBe(1);
  });
});
