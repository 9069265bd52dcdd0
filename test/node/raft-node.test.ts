import { describe, expect, test } from 'vitest';
import {
  AbortedError,
  InvalidArgumentError,
  InvalidConfigError,
  NodeClosedError,
  NodeFailedError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTooLargeError,
  TimeoutError,
} from '../../src/errors.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { VirtualClock } from '../../src/util/clock.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { ELECTION_TICKS, ListStateMachine, TICK_MS, text, clustersClosedAfterEach } from '../support/node-cluster.js';

const startCluster = clustersClosedAfterEach();

describe('RaftNode: propose and apply', () => {
  test('a proposal on the leader resolves with the state machine result once applied, and every node applies it', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const result = await c.run(c.node(leader).propose(text('a')));
    expect(result).toBe(1);
    await c.advance(5 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(['a']);
  });

  test('many concurrent proposals are applied in one order everywhere and share synced writes (group commit)', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const storage = c.entry(leader).storage;
    let appends = 0;
    const original = storage.append.bind(storage);
    storage.append = (entries, hardState) => {
      if (entries.length > 0) appends++;
      return original(entries, hardState);
    };
    const results = await c.run(Promise.all(Array.from({ length: 200 }, (_, i) => c.node(leader).propose(text(`p${i}`)))));
    expect(new Set(results).size).toBe(200);
    // 200 proposals made while earlier writes were in flight share a handful of entry writes.
    expect(appends).toBeLessThan(200 / 20);
    await c.advance(5 * TICK_MS);
    const reference = c.entry(leader).machine.items;
    expect(reference).toHaveLength(200);
    for (const id of c.ids) expect(c.entry(id).machine.items).toEqual(reference);
  });

  test('a proposal on a follower is forwarded to the leader and resolves with the result applied locally', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const follower = c.ids.find((id) => id !== leader)!;
    const result = await c.run(c.node(follower).propose(text('via-follower')));
    expect(result).toBe(1);
    expect(c.entry(follower).machine.items).toEqual(['via-follower']);
  });

  test('with forwarding off, a follower rejects with NotLeaderError naming the leader', async () => {
    const c = await startCluster(undefined, undefined, { forwardProposals: false });
    const leader = await c.waitForLeader();
    await c.advance(3 * TICK_MS); // followers learn the leader from its first heartbeat
    const follower = c.ids.find((id) => id !== leader)!;
    const error = await c.run(c.node(follower).propose(text('x'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).leader).toBe(leader);
  });
});

describe('RaftNode: failures', () => {
  test('after the leader crashes a new one is elected; the old one restarts from storage and catches up', async () => {
    const c = await startCluster();
    const first = await c.waitForLeader();
    await c.run(c.node(first).propose(text('before')));
    await c.crash(first);
    const second = await c.waitForLeader();
    expect(second).not.toBe(first);
    await c.run(c.node(second).propose(text('after')));
    await c.startNode(first);
    await c.advance(20 * TICK_MS);
    expect(c.entry(first).machine.items).toEqual(['before', 'after']);
  });

  test('a partitioned old leader can neither commit nor serve a linearizable read', async () => {
    const c = await startCluster();
    const old = await c.waitForLeader();
    await c.run(c.node(old).propose(text('x')));
    c.network.isolate([old], c.ids);
    const write = c.node(old).propose(text('lost'), { timeoutMs: 50 * TICK_MS });
    const read = c.node(old).read({ timeoutMs: 50 * TICK_MS });
    const [writeOutcome, readOutcome] = await c.run(Promise.allSettled([write, read]));
    expect(writeOutcome.status).toBe('rejected');
    expect(readOutcome.status).toBe('rejected');
    // Meanwhile the majority elected a leader and the isolated entry never reached it.
    const majorityLeader = c.leader();
    expect(majorityLeader).not.toBeNull();
    expect(c.entry(majorityLeader!).machine.items).toEqual(['x']);
  });

  test('a state machine that throws stops the node with a typed fatal error, and pending proposals reject', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const machine = c.entry(leader).machine;
    machine.apply = () => {
      throw new Error('disk full in the state machine');
    };
    const fatal = new Promise<Error>((resolve) => c.node(leader).once('fatal', resolve));
    const outcome = await c.run(c.node(leader).propose(text('boom'))).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(NodeFailedError);
    expect(await c.run(fatal)).toBeInstanceOf(NodeFailedError);
    expect(c.node(leader).status().role).toBe('stopped');
    await expect(c.node(leader).propose(text('more'))).rejects.toThrow(NodeFailedError);
  });
});

describe('RaftNode: linearizable reads', () => {
  test('read() on the leader and on a follower waits until the local state reflects every earlier commit', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('w1')));
    for (const id of c.ids) {
      await c.run(c.node(id).read());
      expect(c.entry(id).machine.items).toEqual(['w1']);
    }
  });

  test('read() and propose() made before any leader is known wait for one, then complete', async () => {
    const c = await startCluster();
    // Before any election nobody knows a leader.
    expect(c.node('n1').status().leader).toBeNull();
    const write = c.node('n1').propose(text('early'));
    const read = c.node('n2').read();
    await c.run(Promise.all([write, read]));
    await c.run(c.node('n2').read());
    expect(c.entry('n2').machine.items).toEqual(['early']);
  });

  test('with no leader reachable, read() and propose() reject with TimeoutError at their deadline', async () => {
    const c = await startCluster();
    for (const id of c.ids) c.network.isolate([id], c.ids);
    const outcomes = await c.run(Promise.allSettled([c.node('n1').read({ timeoutMs: 300 }), c.node('n1').propose(text('x'), { timeoutMs: 300 })]));
    for (const outcome of outcomes) expect(outcome.status === 'rejected' && outcome.reason instanceof TimeoutError).toBe(true);
  });
});

describe('RaftNode: deadlines, aborts and bad input', () => {
  test('a proposal that cannot commit rejects with TimeoutError and leaves no waiter behind', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    for (const id of c.ids) if (id !== leader) c.network.isolate([id], c.ids);
    const outcome = await c.run(c.node(leader).propose(text('x'), { timeoutMs: 5 * TICK_MS })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect((c.node(leader) as unknown as { waiters: { size: number } }).waiters.size).toBe(0);
  });

  test('an AbortSignal rejects a pending proposal with AbortedError', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    for (const id of c.ids) if (id !== leader) c.network.isolate([id], c.ids);
    const controller = new AbortController();
    const pending = c.node(leader).propose(text('x'), { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await expect(c.node(leader).propose(text('y'), { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  test('oversized and malformed commands are refused before anything is proposed', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxCommandBytes: 16 } });
    const leader = await c.waitForLeader();
    const before = c.node(leader).status().commitIndex;
    await expect(c.node(leader).propose(new Uint8Array(17))).rejects.toThrow(ProposalTooLargeError);
    await expect(c.node(leader).propose('text' as unknown as Uint8Array)).rejects.toThrow(InvalidArgumentError);
    await c.advance(5 * TICK_MS);
    expect(c.node(leader).status().commitIndex).toBe(before);
  });

  test('a command of exactly maxCommandBytes is accepted with or without a session (the session header does not count against it)', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxCommandBytes: 16 } });
    const leader = await c.waitForLeader();
    await expect(c.run(c.node(leader).propose(new Uint8Array(16)))).resolves.toBeDefined();
    const longId = 'é'.repeat(1024);
    await expect(c.run(c.node(leader).propose(new Uint8Array(16), { session: { clientId: longId, seq: Number.MAX_SAFE_INTEGER } }))).resolves.toBeDefined();
    await expect(c.node(leader).propose(new Uint8Array(17), { session: { clientId: 'c1', seq: 1 } })).rejects.toThrow(ProposalTooLargeError);
  });

  test('past limits.maxPendingProposals a proposal is refused with ProposalDroppedError, and accepted again once some settle', async () => {
    const c = await startCluster(undefined, undefined, { limits: { maxPendingProposals: 3 } });
    const leader = await c.waitForLeader();
    for (const id of c.ids) if (id !== leader) c.network.isolate([id], c.ids);
    const waiting = [text('a'), text('b'), text('c')].map((command) => c.node(leader).propose(command));

    await expect(c.node(leader).propose(text('d'))).rejects.toBeInstanceOf(ProposalDroppedError);
    await expect(c.node(leader).propose(text('d'))).rejects.toThrow(/3 proposals are already waiting/);
    c.network.heal();
    await expect(c.run(Promise.all(waiting))).resolves.toEqual([1, 2, 3]);
    await expect(c.run(c.node(leader).propose(text('e')))).resolves.toBe(4);
  });

  test('after close(), operations reject with NodeClosedError and pending ones are settled', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    for (const id of c.ids) if (id !== leader) c.network.isolate([id], c.ids);
    const pending = c.node(leader).propose(text('x'));
    await c.node(leader).close();
    await expect(pending).rejects.toBeInstanceOf(NodeClosedError);
    await expect(c.node(leader).propose(text('y'))).rejects.toThrow(NodeClosedError);
    expect(c.node(leader).status().role).toBe('stopped');
  });

  test('invalid options are rejected with InvalidConfigError naming the option', async () => {
    const clock = new VirtualClock();
    const base = {
      id: 'n1',
      members: ['n1'],
      storage: new MemoryStorage(),
      snapshots: new MemorySnapshotStore(),
      transport: new LocalNetwork(clock).transport('n1'),
      stateMachine: new ListStateMachine(),
      clock,
    };
    await expect(RaftNode.open({ ...base, tickIntervalMs: 0 })).rejects.toMatchObject({ field: 'tickIntervalMs' });
    await expect(RaftNode.open({ ...base, members: [] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(RaftNode.open({ ...base, electionTicks: 2, heartbeatTicks: 2 })).rejects.toMatchObject({ field: 'heartbeatTicks' });
    await expect(RaftNode.open({ ...base, stateMachine: {} as never })).rejects.toMatchObject({ field: 'stateMachine' });
  });

  test('a single-node cluster elects itself and commits alone', async () => {
    const c = await startCluster(['solo']);
    expect(await c.waitForLeader()).toBe('solo');
    expect(await c.run(c.node('solo').propose(text('only')))).toBe(1);
    await c.run(c.node('solo').read());
    expect(c.entry('solo').machine.items).toEqual(['only']);
  });
});

describe('RaftNode: lease reads', () => {
  test('read({ lease: true }) on a leader with a lease completes without waiting for a heartbeat round', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.run(c.node(leader).propose(text('v')));
    await c.advance(3 * TICK_MS);
    c.network.isolate([leader], c.ids); // nothing can reach the followers now, yet the lease still holds
    await c.run(c.node(leader).read({ lease: true, timeoutMs: 2 * TICK_MS }));
    expect(c.entry(leader).machine.items).toEqual(['v']);
  });

  test('once the lease has expired, an isolated leader cannot serve a lease read', async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await c.advance(3 * TICK_MS);
    c.network.isolate([leader], c.ids);
    await c.advance(ELECTION_TICKS * TICK_MS);
    const outcome = await c.run(c.node(leader).read({ lease: true, timeoutMs: 5 * TICK_MS })).then(
      () => 'served',
      (e: unknown) => e,
    );
    // Either it still thinks it leads and the ReadIndex fallback times out, or CheckQuorum already deposed it.
    expect(outcome instanceof TimeoutError || outcome instanceof NotLeaderError).toBe(true);
  });
});

describe('RaftNode: maxClockDriftTicks', () => {
  test('a larger drift allowance shortens the lease: two ticks after isolation, a 1-tick lease no longer serves what the default lease does', async () => {
    const outcomes: string[] = [];
    for (const maxClockDriftTicks of [1, ELECTION_TICKS - 1]) {
      const c = await startCluster(undefined, undefined, { maxClockDriftTicks });
      const leader = await c.waitForLeader();
      await c.run(c.node(leader).propose(text('v')));
      await c.advance(3 * TICK_MS);
      c.network.isolate([leader], c.ids);
      await c.advance(2 * TICK_MS);
      const outcome = await c.run(c.node(leader).read({ lease: true, timeoutMs: TICK_MS / 2 })).then(
        () => 'served',
        (e: unknown) => (e instanceof TimeoutError ? 'timeout' : String(e)),
      );
      outcomes.push(outcome);
      await c.close();
    }
    expect(outcomes).toEqual(['served', 'timeout']);
  });

  test.each([ELECTION_TICKS, -1, 1.5])('maxClockDriftTicks %d is rejected with InvalidConfigError', async (maxClockDriftTicks) => {
    const clock = new VirtualClock();
    const open = RaftNode.open({
      id: 'n1',
      members: ['n1'],
      storage: new MemoryStorage(),
      snapshots: new MemorySnapshotStore(),
      transport: new LocalNetwork(clock).transport('n1'),
      stateMachine: { apply: () => null, capture: () => ({ chunks: async function* () {} }), restore: async () => undefined },
      clock,
      electionTicks: ELECTION_TICKS,
      maxClockDriftTicks,
    });
    await expect(open).rejects.toMatchObject({ field: 'maxClockDriftTicks' });
    await expect(open).rejects.toBeInstanceOf(InvalidConfigError);
  });
});

describe('RaftNode: five nodes', () => {
  test('a 5-node cluster keeps committing with two nodes down, and the returning nodes catch up', async () => {
    const c = await startCluster(['n1', 'n2', 'n3', 'n4', 'n5']);
    const leader = await c.waitForLeader();
    const down = c.ids.filter((id) => id !== leader).slice(0, 2);
    for (const id of down) await c.crash(id);
    const results = await c.run(Promise.all(Array.from({ length: 10 }, (_, i) => c.node(leader).propose(text(`five-${i}`)))));
    expect(results).toHaveLength(10);
    for (const id of down) await c.startNode(id);
    await c.advance(30 * TICK_MS);
    for (const id of c.ids) expect(c.entry(id).machine.items).toHaveLength(10);
  });

  test('a 5-node cluster cannot commit with three nodes down', async () => {
    const c = await startCluster(['n1', 'n2', 'n3', 'n4', 'n5']);
    const leader = await c.waitForLeader();
    for (const id of c.ids.filter((id) => id !== leader).slice(0, 3)) await c.crash(id);
    const outcome = await c.run(c.node(leader).propose(text('no-quorum'), { timeoutMs: 40 * TICK_MS })).catch((e: unknown) => e);
    expect(outcome instanceof TimeoutError || outcome instanceof NotLeaderError).toBe(true);
    expect(c.entry(leader).machine.items).toEqual([]);
  });
});
