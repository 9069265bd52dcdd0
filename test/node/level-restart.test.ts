/**
 * RaftNode on real LevelDB storage, on a virtual clock: virtual time only
 * moves on once every disk write in flight has completed, so outcomes do not
 * depend on how fast the disk is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { flushMicrotasks, VirtualClock } from '../../src/util/clock.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { FileSnapshotStore } from '../../src/storage/file-snapshot-store.js';
import { LevelStorage } from '../../src/storage/level.js';
import type { LogStorage } from '../../src/storage/storage.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { SeededRandom } from '../../src/util/random.js';
import { ListStateMachine, text } from '../support/node-cluster.js';

const TICK_MS = 10;
const inFlight = new Set<Promise<unknown>>();

/** Wraps a storage so the test can wait for its writes before moving virtual time. */
function tracked(storage: LevelStorage): LogStorage {
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };
  return new Proxy(storage, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'append' || property === 'saveSnapshot') return (...args: unknown[]) => track((value as (...a: unknown[]) => Promise<void>).apply(target, args));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

async function settle(): Promise<void> {
  for (let round = 0; round < 100; round++) {
    await flushMicrotasks();
    if (inFlight.size === 0) return;
    await Promise.allSettled([...inFlight]);
  }
}

interface DiskNode {
  storage: LevelStorage;
  snapshots: FileSnapshotStore;
  machine: ListStateMachine;
  node: RaftNode<number>;
}

const ids = ['n1', 'n2', 'n3'];
let dir = '';
let nodes = new Map<string, DiskNode>();
const clock = new VirtualClock();
const network = new LocalNetwork(clock);
const seeds = new SeededRandom(11);

/** How a test varies a node: how much of its log open reads, how often it snapshots. */
interface StartOptions {
  readonly openTailBytes?: number;
  readonly snapshotEntries?: number;
}

async function start(id: string, options: StartOptions = {}): Promise<DiskNode> {
  const storage = await LevelStorage.open({ location: join(dir, id, 'log'), nodeId: id, openTailBytes: options.openTailBytes });
  const snapshots = await FileSnapshotStore.open(join(dir, id, 'snapshots'));
  const machine = new ListStateMachine();
  const node = await RaftNode.open<number>({
    id,
    members: ids,
    storage: tracked(storage),
    snapshots,
    transport: network.transport(id),
    stateMachine: machine,
    clock,
    random: new SeededRandom(seeds.nextUint32()),
    tickIntervalMs: TICK_MS,
    snapshotting: { entries: options.snapshotEntries ?? 25, keepEntries: 5 },
  });
  const started = { storage, snapshots, machine, node };
  nodes.set(id, started);
  return started;
}

async function stop(id: string): Promise<void> {
  const entry = nodes.get(id);
  if (entry === undefined) return;
  nodes.delete(id);
  await entry.node.close();
  await settle();
  await entry.storage.close();
  await entry.snapshots.close();
}

async function runUntil<T>(promise: Promise<T>, maxMs = 30_000): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  for (let elapsed = 0; !done && elapsed < maxMs; elapsed += TICK_MS) await clock.advance(TICK_MS, settle);
  return watched;
}

async function leader(): Promise<DiskNode> {
  for (let elapsed = 0; elapsed < 30_000; elapsed += TICK_MS) {
    const found = [...nodes.values()].find((entry) => entry.node.status().role === 'leader');
    if (found !== undefined) return found;
    await clock.advance(TICK_MS, settle);
  }
  throw new Error('no leader');
}

afterEach(async () => {
  for (const id of [...nodes.keys()]) await stop(id);
  await rm(dir, { recursive: true, force: true });
});

describe('RaftNode on LevelDB', () => {
  test('a follower restarted from its LevelDB directory recovers and catches up; so does the whole cluster', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-node-level-'));
    nodes = new Map();
    for (const id of ids) await start(id);

    const first = await leader();
    for (let i = 0; i < 30; i++) await runUntil(first.node.propose(text(`a${i}`)));
    const follower = ids.find((id) => id !== first.node.id)!;
    await stop(follower);
    for (let i = 0; i < 30; i++) await runUntil(first.node.propose(text(`b${i}`)));

    const restarted = await start(follower);
    await runUntil(restarted.node.read());
    expect(restarted.machine.items).toEqual(first.machine.items);
    expect(restarted.machine.items).toHaveLength(60);

    // Every node down, then up again from disk only: the state is rebuilt from snapshot plus log.
    for (const id of ids) await stop(id);
    for (const id of ids) await start(id);
    const again = await leader();
    await runUntil(again.node.read());
    expect(again.machine.items).toHaveLength(60);
    expect(again.machine.items.slice(0, 2)).toEqual(['a0', 'a1']);
  });

  test('a node whose config entry lies far below the open tail starts in that configuration at once (ready at open, §4.1)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-node-level-'));
    nodes = new Map();
    const noSnapshots = { snapshotEntries: 1_000_000 };
    for (const id of ids) await start(id, noSnapshots);
    const first = await leader();
    await runUntil(first.node.addLearner('n4', 'local:n4'));
    const configIndex = first.node.status().configIndex;
    for (let i = 0; i < 200; i++) await runUntil(first.node.propose(text(`c${i}`)));
    const follower = ids.find((id) => id !== first.node.id)!;
    await runUntil(nodes.get(follower)!.node.read());
    await stop(follower);

    const restarted = await start(follower, { ...noSnapshots, openTailBytes: 1024 });

    // RaftNode.open constructed the core at once, though the open tail does not reach the config entry.
    expect(restarted.storage.stats().tailEntries).toBeLessThan(restarted.storage.lastIndex() - configIndex);
    expect(restarted.storage.configEntries().map((entry) => entry.index)).toContain(configIndex);
    expect(restarted.storage.term(restarted.storage.lastIndex())).toBe(first.node.status().term);
    expect(restarted.node.status().learners).toEqual(['n4']);
    expect(restarted.node.status().configIndex).toBe(configIndex);
    expect(configIndex).toBeLessThan(restarted.storage.lastIndex() - 100);
  });
});
