import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { InvalidArgumentError, InvariantError, NotLeaderError, ProposalDroppedError, ProposalTooLargeError } from '../../../src/errors.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { entries, storageWith, terms } from '../../support/scenario-log-builder.js';
import { NodeHarness, ack, appendEntries, heartbeat, ofType, voteRequest } from '../../support/scenario-node.js';

const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(7);

describe('RawNode.propose', () => {
  it('on a follower throws NotLeaderError carrying the leader it knows', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(heartbeat({ from: 'n1', to: 'n2', term: 1 }));

    const attempt = (): unknown => follower.raw.propose(bytes(1));

    expect(attempt).toThrow(NotLeaderError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'KEEL_NOT_LEADER', leader: 'n1' }));
  });

  it('on a node that knows no leader throws NotLeaderError with leader null', () => {
    const node = new NodeHarness({ id: 'n2' });

    expect(() => node.raw.propose(bytes(1))).toThrow(expect.objectContaining({ leader: null }));
  });

  it('returns where the entries landed and appends nothing more', () => {
    const leader = new NodeHarness();
    leader.becomeLeader();

    const receipt = leader.raw.propose([bytes(1), bytes(2)]);

    expect(receipt).toEqual({ term: 1, firstIndex: 2, lastIndex: 3 });
    expect(leader.raw.status().lastIndex).toBe(3);
  });

  it('an entry over maxEntryBytes throws ProposalTooLargeError and appends nothing', () => {
    const leader = new NodeHarness({ maxEntryBytes: 100 });
    leader.becomeLeader();
    const before = leader.raw.status();

    const attempt = (): unknown => leader.raw.propose([bytes(10), bytes(101)]);

    expect(attempt).toThrow(ProposalTooLargeError);
    expect(attempt).toThrow(expect.objectContaining({ sizeBytes: 101, maxBytes: 100 }));
    expect(leader.raw.status()).toEqual(before);
    expect(() => leader.raw.propose(bytes(100))).not.toThrow();
  });

  it('past the uncommitted-bytes cap throws ProposalDroppedError, until applied entries free the backlog', () => {
    const leader = new NodeHarness({ maxUncommittedBytes: 100 });
    leader.becomeLeader();
    leader.raw.propose(bytes(60));
    const before = leader.raw.status();

    expect(() => leader.raw.propose(bytes(50))).toThrow(ProposalDroppedError);
    expect(leader.raw.status()).toEqual(before);
    expect(() => leader.raw.propose(bytes(40))).not.toThrow();

    leader.ackAll();
    expect(() => leader.raw.propose(bytes(90))).not.toThrow();
  });

  it('accepts one proposal larger than the cap when the backlog is empty, so a big entry is never refused forever', () => {
    const leader = new NodeHarness({ maxUncommittedBytes: 100 });
    leader.becomeLeader();

    expect(() => leader.raw.propose(bytes(500))).not.toThrow();
    expect(() => leader.raw.propose(bytes(1))).toThrow(ProposalDroppedError);
  });

  it.each([
    { name: 'no entries', data: [] },
    { name: 'an entry that is not a Uint8Array', data: [[1, 2]] as unknown as Uint8Array[] },
  ])('rejects $name with InvalidArgumentError', ({ data }) => {
    const leader = new NodeHarness();
    leader.becomeLeader();

    expect(() => leader.raw.propose(data)).toThrow(InvalidArgumentError);
  });
});

describe('RawNode ready() / advance()', () => {
  it('ready() twice without advance() throws', () => {
    const node = new NodeHarness();
    node.raw.campaign();
    node.raw.ready();

    expect(() => node.raw.ready()).toThrow(InvariantError);
  });

  it('advance() without an outstanding ready() throws', () => {
    expect(() => new NodeHarness().raw.advance()).toThrow(InvariantError);
  });

  it('hasReady() is false while a Ready is outstanding, whatever arrives meanwhile', () => {
    const node = new NodeHarness({ id: 'n2' });
    node.raw.campaign();
    node.raw.ready();

    node.step(appendEntries({ from: 'n1', to: 'n2', term: 5, entries: entries(terms(5)) }));

    expect(node.raw.hasReady()).toBe(false);
    node.raw.advance();
    expect(node.raw.hasReady()).toBe(true);
  });

  it('a fresh node has nothing to do', () => {
    expect(new NodeHarness().raw.hasReady()).toBe(false);
  });

  it('never hands out the same entries twice', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1, 1)) }));
    const first = follower.drain();

    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, prevLogIndex: 2, prevLogTerm: 1, entries: entries(terms(1), 3) }));
    const second = follower.drain();

    expect(first.readies.flatMap((r) => r.entries).map((e) => e.index)).toEqual([1, 2]);
    expect(second.readies.flatMap((r) => r.entries).map((e) => e.index)).toEqual([3]);
  });

  it('committed entries are handed out in order, each once, at most maxCommittedBytesPerReady per Ready (at least one)', () => {
    const follower = new NodeHarness({ id: 'n2', maxCommittedBytesPerReady: 100 });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1, 1, 1, 1, 1), 1, 40), leaderCommit: 5 }));

    const drained = follower.drain();

    const perReady = drained.readies.map((r) => r.committedEntries.map((e) => e.index)).filter((indexes) => indexes.length > 0);
    expect(perReady).toEqual([[1], [2], [3], [4], [5]]);
  });

  it('mustSync is set for new entries or a new term or vote, not for a commit-only change', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1)) }));
    expect(follower.drain().readies[0]?.mustSync).toBe(true);

    follower.step(heartbeat({ from: 'n1', to: 'n2', term: 1, commit: 1 }));
    const ready = follower.raw.ready();

    expect(ready.hardState?.commit).toBe(1);
    expect(ready.mustSync).toBe(false);
  });
});

describe('the Ready contract', () => {
  it('a vote is sent in messages (after the vote is durable), never in parallelMessages', () => {
    const voter = new NodeHarness({ id: 'n2' });
    voter.step(voteRequest({ from: 'n1', to: 'n2', term: 1 }));

    const ready = voter.raw.ready();

    expect(ready.hardState).toMatchObject({ term: 1, vote: 'n1' });
    expect(ready.parallelMessages).toEqual([]);
    expect(ofType(ready.messages, 'requestVoteResponse')).toEqual([expect.objectContaining({ to: 'n1', granted: true })]);
  });

  it('an append acknowledgement is sent in messages (after the entries are durable), never in parallelMessages', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1, 1)) }));
    follower.drain();
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, prevLogIndex: 2, prevLogTerm: 1, entries: entries(terms(1), 3) }));

    const ready = follower.raw.ready();

    expect(ready.hardState).toBeNull();
    expect(ready.entries.map((e) => e.index)).toEqual([3]);
    expect(ready.parallelMessages).toEqual([]);
    expect(ofType(ready.messages, 'appendEntriesResponse')).toEqual([expect.objectContaining({ success: true, index: 3 })]);
  });

  it("a new leader's first AppendEntries wait in messages when the same Ready carries its new term and vote", () => {
    const candidate = new NodeHarness({ preVote: false });
    candidate.raw.campaign();
    candidate.step({ type: 'requestVoteResponse', from: 'n2', to: 'n1', term: 1, preVote: false, granted: true });

    const ready = candidate.raw.ready();

    expect(ready.hardState).toMatchObject({ term: 1, vote: 'n1' });
    expect(ready.parallelMessages).toEqual([]);
    expect(ofType(ready.messages, 'appendEntries')).toHaveLength(2);
  });

  it("a leader's AppendEntries go in parallelMessages once its term and vote are already durable", () => {
    const candidate = new NodeHarness({ preVote: false });
    candidate.raw.campaign();
    candidate.drain();
    candidate.step({ type: 'requestVoteResponse', from: 'n2', to: 'n1', term: 1, preVote: false, granted: true });

    const ready = candidate.raw.ready();

    expect(ready.hardState).toBeNull();
    expect(ready.entries.map((e) => e.index)).toEqual([1]);
    expect(ofType(ready.parallelMessages, 'appendEntries').map((m) => m.to)).toEqual(['n2', 'n3']);
    expect(ready.messages).toEqual([]);
  });

  it('committedEntries hold only entries made durable by an earlier advance(), never those of the same Ready', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1, 1, 1)), leaderCommit: 3 }));

    const first = follower.raw.ready();
    expect(first.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(first.hardState?.commit).toBe(3);
    expect(first.committedEntries).toEqual([]);
    follower.persist(first);
    follower.raw.advance();
    const second = follower.raw.ready();

    expect(second.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('when earlier entries are durable and later ones are in the same Ready, only the durable ones are handed out to apply', () => {
    const follower = new NodeHarness({ id: 'n2' });
    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, entries: entries(terms(1, 1, 1)) }));
    follower.drain();

    follower.step(appendEntries({ from: 'n1', to: 'n2', term: 1, prevLogIndex: 3, prevLogTerm: 1, entries: entries(terms(1, 1, 1), 4), leaderCommit: 6 }));
    const ready = follower.raw.ready();

    expect(ready.entries.map((e) => e.index)).toEqual([4, 5, 6]);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    follower.persist(ready);
    follower.raw.advance();
    expect(follower.raw.ready().committedEntries.map((e) => e.index)).toEqual([4, 5, 6]);
  });

  test('property: in any run of a 3-node cluster, every committed entry handed out is already in storage', () => {
    const step = fc.oneof(
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.nat({ max: 2 }) }) },
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('phase' as const), node: fc.nat({ max: 2 }) }) },
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat({ max: 50 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat({ max: 50 }) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('propose' as const), node: fc.nat({ max: 2 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: fc.nat({ max: 2 }) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(step, { maxLength: 300 }), (seed, steps) => {
        const cluster = new CoreCluster({ seed, raft: { electionTicks: 4 } });
        cluster.elect('n1');
        for (const s of steps) {
          const id = 'node' in s ? cluster.ids[s.node]! : 'n1';
          const node = cluster.node(id);
          if (s.kind === 'tick') cluster.tick(id);
          else if (s.kind === 'propose' && node.raw?.status().role === 'leader') cluster.propose(id, bytes(3));
          else if (s.kind === 'crash') {
            cluster.crash(id);
            cluster.restart(id);
          } else if (s.kind === 'deliver' && cluster.inFlight.length > 0) cluster.deliver(s.pick % cluster.inFlight.length);
          else if (s.kind === 'drop' && cluster.inFlight.length > 0) cluster.drop(s.pick % cluster.inFlight.length);
          else if (s.kind === 'phase') {
            const wasIdle = node.phase === 'idle';
            cluster.advanceReady(id);
            if (wasIdle && node.ready !== null) {
              for (const committed of node.ready.committedEntries) {
                expect(committed.index).toBeLessThanOrEqual(node.storage.lastIndex());
                expect(node.storage.term(committed.index)).toBe(committed.term);
              }
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('a leader counts its own entries only once they are durable (etcd#14370)', () => {
  it('a single voter commits its no-op only after advance()', () => {
    const node = new NodeHarness({ voters: ['n1'] });
    node.raw.campaign();
    expect(node.raw.status()).toMatchObject({ role: 'leader', lastIndex: 1, commitIndex: 0 });

    const ready = node.raw.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([1]);
    expect(node.raw.status().commitIndex).toBe(0);
    node.persist(ready);
    node.raw.advance();

    expect(node.raw.status().commitIndex).toBe(1);
    expect(node.raw.ready().committedEntries.map((e) => e.index)).toEqual([1]);
  });

  it('a single voter does not commit a proposal before advance()', () => {
    const node = new NodeHarness({ voters: ['n1'] });
    node.raw.campaign();
    node.drain();

    node.raw.propose(bytes(1));

    expect(node.raw.status().commitIndex).toBe(1);
    node.drain();
    expect(node.raw.status().commitIndex).toBe(2);
  });

  it('in a 3-node cluster, one follower ack plus a leader write still in progress is not a quorum', () => {
    const leader = new NodeHarness({ voters: ['n1', 'n2', 'n3'] });
    leader.becomeLeader();
    leader.raw.propose(bytes(1));
    const ready = leader.raw.ready();
    const [toN2] = ofType(ready.parallelMessages, 'appendEntries').filter((m) => m.to === 'n2');

    leader.step(ack(toN2!));
    expect(leader.raw.status().commitIndex).toBe(1);
    leader.persist(ready);
    leader.raw.advance();

    expect(leader.raw.status().commitIndex).toBe(2);
  });

  it('in a 3-node cluster with both followers partitioned, the leader’s own durable write commits nothing', () => {
    const leader = new NodeHarness({ voters: ['n1', 'n2', 'n3'] });
    leader.becomeLeader();

    leader.raw.propose(bytes(1));
    leader.flush();

    expect(leader.raw.status()).toMatchObject({ lastIndex: 2, commitIndex: 1 });
    expect(leader.raw.status().progress.get('n1')?.match).toBe(2);
  });

  it('in a 3-node cluster, two follower acks commit even while the leader is still writing', () => {
    const leader = new NodeHarness({ voters: ['n1', 'n2', 'n3'] });
    leader.becomeLeader();
    leader.raw.propose(bytes(1));
    const ready = leader.raw.ready();

    for (const append of ofType(ready.parallelMessages, 'appendEntries')) leader.step(ack(append));

    expect(leader.raw.status().commitIndex).toBe(2);
    leader.persist(ready);
    leader.raw.advance();
    expect(leader.raw.ready().committedEntries.map((e) => e.index)).toEqual([2]);
  });
});

describe('randomized election timeout', () => {
  /** Ticks a lone follower of a 3-node cluster until its term rises (it campaigned); returns the ticks, `rounds` times in a row. */
  function campaignIntervals(seed: number, electionTicks: number, rounds: number): number[] {
    const node = new NodeHarness({ seed, electionTicks, heartbeatTicks: 1, preVote: false });
    const intervals: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const term = node.raw.status().term;
      let ticks = 0;
      while (node.raw.status().term === term) {
        node.raw.tick();
        ticks++;
        if (ticks > 4 * electionTicks) throw new Error(`seed ${seed}: no campaign within ${ticks} ticks`);
      }
      intervals.push(ticks);
    }
    return intervals;
  }

  test('property: every timeout falls in [electionTicks, 2·electionTicks)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 2, max: 30 }), (seed, electionTicks) => {
        for (const interval of campaignIntervals(seed, electionTicks, 5)) {
          expect(interval).toBeGreaterThanOrEqual(electionTicks);
          expect(interval).toBeLessThan(2 * electionTicks);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('covers the whole range [T, 2T) across seeds', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 100; seed++) for (const interval of campaignIntervals(seed, 5, 3)) seen.add(interval);

    expect([...seen].sort()).toEqual([5, 6, 7, 8, 9]);
  });
});

describe('RawNode.readIndex', () => {
  it('throws NotLeaderError on a node that knows no leader', () => {
    expect(() => new NodeHarness().raw.readIndex('r1')).toThrow(NotLeaderError);
  });

  it('rejects a request id that is not a string', () => {
    const leader = new NodeHarness();
    leader.becomeLeader();

    expect(() => leader.raw.readIndex(1 as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('a single voter serves a read at once, at its commit index', () => {
    const node = new NodeHarness({ voters: ['n1'] });
    node.raw.campaign();
    node.drain();

    node.raw.readIndex('r1');

    expect(node.drain().readStates).toEqual([{ requestId: 'r1', index: 1 }]);
  });
});

describe('RawNode start-up and status', () => {
  it('a restarted node is a follower at its stored term and vote, with no leader', () => {
    const storage = storageWith({ log: terms(1, 2, 2), term: 3, vote: 'n3', commit: 2 });

    const node = new NodeHarness({ storage });

    expect(node.raw.status()).toMatchObject({ role: 'follower', term: 3, vote: 'n3', leader: null, commitIndex: 2, appliedIndex: 0, lastIndex: 3 });
    expect(node.raw.term(2)).toBe(2);
    expect(node.raw.term(4)).toBeUndefined();
  });

  it('hands committed entries out again after a restart, from the applied index given', () => {
    const storage = storageWith({ log: terms(1, 1, 1), term: 1, commit: 3 });

    const fromScratch = new NodeHarness({ storage }).drain().committed.map((e) => e.index);
    const fromTwo = new NodeHarness({ storage, applied: 2 }).drain().committed.map((e) => e.index);

    expect(fromScratch).toEqual([1, 2, 3]);
    expect(fromTwo).toEqual([3]);
  });

  it('status() lists every voter’s progress on the leader only', () => {
    const leader = new NodeHarness();
    leader.becomeLeader();
    const follower = new NodeHarness({ id: 'n2' });

    expect([...leader.raw.status().progress.keys()]).toEqual(['n1', 'n2', 'n3']);
    expect(leader.raw.status().progress.get('n2')).toMatchObject({ match: 1, next: 2, state: 'replicate' });
    expect(follower.raw.status().progress.size).toBe(0);
  });
});

describe('RawNode.reportUnreachable and reportSnapshot', () => {
  /** A leader n1 of term 1 whose log up to 4 is compacted, with n2 left behind at index 1 and sent a snapshot. */
  function leaderSendingSnapshot(): NodeHarness {
    const leader = new NodeHarness();
    leader.becomeLeader();
    leader.raw.reportUnreachable('n2');
    leader.raw.propose([bytes(1), bytes(2), bytes(3)]);
    for (const message of leader.flush()) {
      if (message.type === 'appendEntries' && message.to === 'n3') leader.step(ack(message));
    }
    leader.drain();
    leader.storage.saveSnapshotSync({ index: 4, term: 1, membership: { voters: ['n1', 'n2', 'n3'] } });
    leader.step({ type: 'heartbeatResponse', from: 'n2', to: 'n1', term: 1, readRound: 0 });
    return leader;
  }

  it('reportUnreachable moves a replicating follower to probe', () => {
    const leader = new NodeHarness();
    leader.becomeLeader();

    leader.raw.reportUnreachable('n2');

    expect(leader.raw.status().progress.get('n2')).toMatchObject({ state: 'probe', match: 1, next: 2 });
    expect(leader.raw.status().progress.get('n3')?.state).toBe('replicate');
  });

  it('reportUnreachable on a follower or for an unknown node changes nothing', () => {
    const follower = new NodeHarness({ id: 'n2' });
    const before = follower.raw.status();

    follower.raw.reportUnreachable('n1');
    follower.raw.reportUnreachable('n9');

    expect(follower.raw.status()).toEqual(before);
  });

  it('a follower behind the compacted log is sent the snapshot instead of entries', () => {
    const leader = leaderSendingSnapshot();

    expect(ofType(leader.flush(), 'installSnapshot')).toEqual([expect.objectContaining({ to: 'n2', snapshot: expect.objectContaining({ index: 4, term: 1 }) })]);
    expect(leader.raw.status().progress.get('n2')).toMatchObject({ state: 'snapshot', next: 5 });
  });

  it('reportSnapshot(success) probes from just after the snapshot', () => {
    const leader = leaderSendingSnapshot();

    leader.raw.reportSnapshot('n2', true);

    expect(leader.raw.status().progress.get('n2')).toMatchObject({ state: 'probe', match: 1, next: 5 });
  });

  it('reportSnapshot(failure) probes from just after the known match, so the snapshot is retried', () => {
    const leader = leaderSendingSnapshot();

    leader.raw.reportSnapshot('n2', false);

    expect(leader.raw.status().progress.get('n2')).toMatchObject({ state: 'probe', match: 1, next: 2 });
  });
});
