/**
 * Three hosts in this process, each with one TcpTransport (HMAC-authenticated,
 * loopback) and one LevelEngine, running many groups: the groups share one
 * connection per host pair and one synced batch per round, and every group
 * reopens from the shared database after a host restart. Real timers; tests
 * wait on conditions, never on fixed sleeps.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RaftHost } from '../../src/host/raft-host.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { createTransports } from '../transport/tcp-cluster.js';
import { ListStateMachine } from '../support/node-cluster.js';
import { makeTempDir, removeTempDirs } from '../storage/temp-dirs.js';
import { TcpTransport } from '../../src/transport/tcp.js';

const HOSTS = ['h1', 'h2', 'h3'];
const GROUPS = Array.from({ length: 20 }, (_, i) => `g${i}`);
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const secret = randomBytes(32);

interface Running {
  host: RaftHost<number>;
  engine: LevelEngine;
  transport: TcpTransport;
  machines: Map<string, ListStateMachine>;
}

const running: Running[] = [];

afterEach(async () => {
  for (const { host, engine } of running.splice(0)) {
    await host.close();
    await engine.close();
  }
  await removeTempDirs();
});

async function startHost(id: string, location: string, transport: TcpTransport): Promise<Running> {
  const engine = await LevelEngine.open({ location, hostId: id });
  const machines = new Map<string, ListStateMachine>();
  const snapshots = new Map<string, MemorySnapshotStore>();
  const host = await RaftHost.open<number>({
    hostId: id,
    peers: HOSTS.filter((other) => other !== id),
    transport,
    logs: engine,
    tickIntervalMs: 20,
    groupDefaults: { electionTicks: 10 },
    groupParts: (group) => {
      const machine = new ListStateMachine();
      machines.set(group, machine);
      if (!snapshots.has(group)) snapshots.set(group, new MemorySnapshotStore());
      return { stateMachine: machine, snapshots: snapshots.get(group)! };
    },
  });
  const entry = { host, engine, transport, machines };
  running.push(entry);
  return entry;
}

async function waitFor(condition: () => boolean, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function leaderOf(hosts: readonly Running[], group: string): RaftHost<number> | undefined {
  return hosts.find(({ host }) => host.group(group)?.status().role === 'leader')?.host;
}

describe('RaftHost over TCP on LevelDB', () => {
  it('runs 20 groups on three hosts over one connection per host pair, sharing synced batches, and reopens them all', async () => {
    const transports = await createTransports(HOSTS, () => ({ secret }));
    const locations = new Map<string, string>();
    for (const id of HOSTS) locations.set(id, await makeTempDir(`host-${id}`));
    const hosts: Running[] = [];
    for (const id of HOSTS) hosts.push(await startHost(id, locations.get(id)!, transports.get(id)!));
    for (const group of GROUPS) for (const { host } of hosts) await host.createGroup(group, { members: HOSTS });
    await waitFor(() => GROUPS.every((group) => leaderOf(hosts, group) !== undefined), 'a leader in every group');

    await Promise.all(GROUPS.map((group) => hosts[0]!.host.group(group)!.propose(encode(`${group}:1`))));
    await Promise.all(GROUPS.map((group) => hosts[1]!.host.group(group)!.propose(encode(`${group}:2`))));

    for (const { transport } of hosts) expect(transport.stats().connectionsOpened).toBe(HOSTS.length - 1);
    for (const { engine } of hosts) {
      const stats = engine.stats();
      console.log(`[host tcp] ${stats.writes} group writes in ${stats.batches} synced batches`);
      expect(stats.batches).toBeLessThan(stats.writes);
    }

    // Restart h3 on its database and a new transport: every group comes back with its log.
    const h3 = hosts.pop()!;
    running.splice(running.indexOf(h3), 1);
    await h3.host.close();
    await h3.engine.close();
    const peers = Object.fromEntries(hosts.map((h) => [h.host.hostId, { host: '127.0.0.1', port: h.transport.address()!.port }]));
    const transport = new TcpTransport({ clusterId: 'test-cluster', nodeId: 'h3', listen: { host: '127.0.0.1', port: 0 }, peers, secret });
    const port = (await transport.listen()).port;
    for (const { transport: peer } of hosts) peer.setPeerAddress('h3', { host: '127.0.0.1', port });
    const restarted = await startHost('h3', locations.get('h3')!, transport);
    expect(restarted.host.groups()).toEqual([...GROUPS].sort());
    await Promise.all(GROUPS.map((group) => restarted.host.group(group)!.read()));
    for (const group of GROUPS) expect(restarted.machines.get(group)!.items).toEqual([`${group}:1`, `${group}:2`]);
  });
});
