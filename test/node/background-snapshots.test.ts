/**
 * A node's own snapshots are captured synchronously and written in the
 * background: a slow snapshot never stalls replication, a failing state
 * machine never kills the node, and nodes do not snapshot in lock-step.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SnapshotFailedError } from '../../src/errors.js';
import type { SnapshotEvent } from '../../src/node/events.js';
import type { SnapshotPoint, SnapshotSource } from '../../src/node/state-machine.js';
import { SnapshotSchedule } from '../../src/node/snapshots/snapshot-schedule.js';
import { ListStateMachine, NodeCluster, TICK_MS, text } from '../support/node-cluster.js';

let cluster: NodeCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** A list whose snapshot streams one chunk per `chunkDelayMs` of virtual time: a large state on a slow disk. */
class SlowSnapshotMachine extends ListStateMachine {
  captured: SnapshotPoint[] = [];
  streaming = false;

  constructor(private readonly cluster: NodeCluster, private readonly chunkCount: number, private readonly chunkDelayMs: number) {
    super();
  }

  override capture(point: SnapshotPoint): SnapshotSource {
    this.captured.push(point);
    const inner = super.capture(point);
    const { clock } = this.cluster;
    const { chunkCount, chunkDelayMs } = this;
    const machine = this;
    return {
      chunks: async function* (): AsyncIterable<Uint8Array> {
        machine.streaming = true;
        for await (const chunk of inner.chunks()) yield chunk;
        // Padding chunks, each after a wait on the cluster's virtual clock.
        for (let i = 0; i < chunkCount; i++) {
          await new Promise<void>((resolve) => clock.setTimeout(resolve, chunkDelayMs));
          yield new Uint8Array(0);
        }
        machine.streaming = false;
      },
    };
  }
}

/** Proposes one entry at a time on `leader`; returns each proposal's latency in virtual milliseconds. */
async function timedProposals(c: NodeCluster, leader: string, prefix: string, keepGoing: (done: number) => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (keepGoing(latencies.length)) {
    const start = c.clock.now();
    await c.run(c.node(leader).propose(text(`${prefix}${latencies.length}`)));
    latencies.push(c.clock.now() - start);
  }
  return latencies;
}

describe('RaftNode: snapshots are written in the background', () => {
  test('a snapshot that streams for 3 s of virtual time costs no leadership and barely slows proposals', async () => {
    const machines = new Map<string, SlowSnapshotMachine>();
    cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 30, keepEntries: 5 } }, (id, c) => {
      const machine = new SlowSnapshotMachine(c, 30, 100);
      machines.set(id, machine);
      return machine;
    });
    const c = cluster;
    const leader = await c.waitForLeader();
    const term = c.node(leader).status().term;
    const leaderChanges: string[] = [];
    for (const id of c.ids) c.node(id).on('leader', (next) => leaderChanges.push(`${id} sees ${next ?? 'none'}`));
    const taken: SnapshotEvent[] = [];
    const storedWhenTaken: (number | undefined)[] = [];
    c.node(leader).on('snapshot', (event) => {
      taken.push(event);
      storedWhenTaken.push(c.entry(leader).snapshots.latest()?.index);
    });

    // Below every node's (jittered) threshold: the normal latency.
    const normal = await timedProposals(c, leader, 'before', (done) => done < 15);
    // Until the leader is streaming its snapshot, then for the 3 s it streams.
    await timedProposals(c, leader, 'reach', () => !machines.get(leader)!.streaming);
    const streamStartMs = c.clock.now();
    const during = await timedProposals(c, leader, 'during', () => c.clock.now() - streamStartMs < 3000);
    for (let waitedMs = 0; taken.length === 0 && waitedMs < 10_000; waitedMs += TICK_MS) await c.advance(TICK_MS);

    const normalMaxMs = Math.max(...normal);
    const duringMaxMs = Math.max(...during);
    console.log(`proposal latency: normal max ${normalMaxMs} ms (${normal.length}), during a 3 s snapshot max ${duringMaxMs} ms over ${during.length} proposals`);
    expect(leaderChanges).toEqual([]);
    expect(c.node(leader).status()).toMatchObject({ role: 'leader', term });
    expect(during.length).toBeGreaterThan(20);
    expect(duringMaxMs).toBeLessThanOrEqual(3 * Math.max(normalMaxMs, 2 * TICK_MS));
    // The snapshot holds the state at its capture, not the entries applied while it streamed.
    const [point] = machines.get(leader)!.captured;
    expect(taken[0]).toEqual({ kind: 'taken', index: point!.index, term: point!.term });
    expect(storedWhenTaken[0]).toBe(point!.index);
    expect(c.node(leader).status().appliedIndex).toBeGreaterThan(point!.index + 20);
  });

  test('nodes do not snapshot in lock-step: their thresholds are staggered', async () => {
    const firstTaken = new Map<string, number>();
    cluster = await NodeCluster.start(['n1', 'n2', 'n3', 'n4', 'n5'], undefined, { snapshotting: { entries: 40, keepEntries: 5 } });
    const c = cluster;
    for (const id of c.ids) c.node(id).on('snapshot', (event) => !firstTaken.has(id) && firstTaken.set(id, event.index));
    const leader = await c.waitForLeader();
    await timedProposals(c, leader, 'v', () => firstTaken.size < c.ids.length);
    console.log(`first snapshot index per node: ${[...firstTaken].map(([id, index]) => `${id}=${index}`).join(' ')}`);
    expect(new Set(firstTaken.values()).size).toBeGreaterThan(1);
    for (const index of firstTaken.values()) expect(index).toBeLessThanOrEqual(40 + 5);
  });
});

describe('RaftNode: a failing state machine snapshot', () => {
  /** Fails its first `failures` snapshots in `stage`, then works. */
  class FailingMachine extends ListStateMachine {
    attempts = 0;

    constructor(private readonly failures: number, private readonly stage: 'capture' | 'stream') {
      super();
    }

    override capture(point: SnapshotPoint): SnapshotSource {
      this.attempts++;
      const failing = this.attempts <= this.failures;
      if (failing && this.stage === 'capture') throw new Error(`capture bug #${this.attempts}`);
      const inner = super.capture(point);
      if (!failing) return inner;
      const attempt = this.attempts;
      return {
        chunks: async function* (): AsyncIterable<Uint8Array> {
          yield* inner.chunks();
          throw new Error(`stream bug #${attempt}`);
        },
      };
    }
  }

  for (const stage of ['capture', 'stream'] as const) {
    test(`a throw in ${stage} is reported as SnapshotFailedError; the node keeps serving and a later snapshot succeeds`, async () => {
      const machines = new Map<string, FailingMachine>();
      cluster = await NodeCluster.start(undefined, undefined, { snapshotting: { entries: 10, keepEntries: 0 } }, (id) => {
        const machine = new FailingMachine(2, stage);
        machines.set(id, machine);
        return machine;
      });
      const c = cluster;
      const leader = await c.waitForLeader();
      const failures: SnapshotFailedError[] = [];
      const taken: SnapshotEvent[] = [];
      c.node(leader).on('snapshotFailed', (error) => failures.push(error));
      c.node(leader).on('snapshot', (event) => taken.push(event));
      const fatal: Error[] = [];
      for (const id of c.ids) c.node(id).on('fatal', (error) => fatal.push(error));

      await timedProposals(c, leader, 'x', () => taken.length === 0 && c.clock.now() < 60_000);

      expect(fatal).toEqual([]);
      expect(failures).toHaveLength(2);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(SnapshotFailedError);
        expect(failure).toMatchObject({ code: 'KEEL_SNAPSHOT_FAILED', stage });
        expect(String((failure.cause as Error).message)).toContain(`${stage} bug`);
      }
      // Retries back off: the second failure is at least an election timeout after the first.
      expect(machines.get(leader)!.attempts).toBe(3);
      expect(taken).toEqual([{ kind: 'taken', index: expect.any(Number), term: expect.any(Number) }]);
      expect(c.entry(leader).snapshots.latest()?.index).toBe(taken[0]!.index);
      expect(c.node(leader).status().role).toBe('leader');
      // Nothing of a failed write is visible in the store: the only snapshot is the successful one.
      expect(taken[0]!.index).toBeGreaterThan(failures[1]!.index);
    });
  }
});

describe('SnapshotSchedule', () => {
  test('a threshold is jittered into [3/4, 1] of the policy, differently per node and per round, reproducibly', () => {
    const thresholds = (id: string): number[] => {
      const schedule = new SnapshotSchedule(id, { entries: 1000, bytes: 1 << 20, retryMinMs: 100, retryMaxMs: 6400 }, 0);
      const rounds: number[] = [];
      for (let round = 0; round < 20; round++) {
        rounds.push(schedule.entriesThreshold);
        schedule.succeeded((round + 1) * 1000, 0);
      }
      return rounds;
    };
    const a = thresholds('a');
    for (const value of [...a, ...thresholds('b')]) expect(value).toBeGreaterThanOrEqual(750), expect(value).toBeLessThanOrEqual(1000);
    expect(thresholds('a')).toEqual(a);
    expect(thresholds('b')).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(10);
  });

  test('after a failure nothing is due until the backoff has passed, and the backoff doubles up to its cap', () => {
    const schedule = new SnapshotSchedule('a', { entries: 10, bytes: 1 << 20, retryMinMs: 100, retryMaxMs: 400 }, 0);
    expect(schedule.due(10, 0)).toBe(true);
    const waits: number[] = [];
    let now = 0;
    for (let failure = 0; failure < 5; failure++) {
      schedule.failed(now);
      let wait = 0;
      while (!schedule.due(10, now + wait)) wait++;
      waits.push(wait);
      now += wait;
    }
    expect(waits).toEqual([100, 200, 400, 400, 400]);
    schedule.succeeded(10, 0);
    expect(schedule.due(11, now)).toBe(false);
    expect(schedule.due(20, now)).toBe(true);
  });
});
