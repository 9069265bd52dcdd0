/**
 * The TCP transport: a 3-node cluster in three child processes on loopback
 * (LevelStorage, HMAC-authenticated TcpTransport), driven by closed-loop
 * clients on the leader at 1, 16 and 256 proposals in flight, beside the
 * same load on the in-process cluster (LocalNetwork, LevelStorage) in the
 * same run; then the transport's own cost: small messages through one
 * connection, their rate, bytes and frames per socket write.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpTransport } from '../src/transport/tcp.js';
import type { NodeMessage } from '../src/transport/transport.js';
import { measureCeiling, measureCluster, measureThreeSyncedPuts } from './runtime.js';
import type { ChildMessage, ParentMessage } from './tcp-node.js';

export interface TcpBenchRow {
  readonly inFlight: number;
  readonly entries: number;
  readonly tcpEntriesPerSecond: number;
  readonly tcpP50Ms: number;
  readonly tcpP99Ms: number;
  readonly inProcessEntriesPerSecond: number;
  readonly inProcessP50Ms: number;
  readonly inProcessP99Ms: number;
  /** On the leader during the run: frames sent per socket write (coalescing). */
  readonly leaderFramesPerWrite: number;
}

export interface TransportOverhead {
  readonly payloadBytes: number;
  readonly messages: number;
  readonly messagesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly framesPerWrite: number;
}

const IN_FLIGHT = [1, 16, 256];
const MEMBERS = ['t1', 't2', 't3'];

export async function benchTcp(options: { quick: boolean; log: (line: string) => void }): Promise<{ rows: TcpBenchRow[]; overhead: TransportOverhead[] }> {
  const log = options.log;
  log('three processes on loopback, LevelStorage, HMAC; in-process = LocalNetwork, LevelStorage, same run');
  log('in-flight  entries  tcp committed/s  p50 ms  p99 ms  leader frames/write  in-process committed/s  p50 ms  p99 ms');
  const rows: TcpBenchRow[] = [];
  const cluster = await ProcessCluster.start();
  try {
    for (const inFlight of IN_FLIGHT) {
      const entries = entriesFor(inFlight, options.quick);
      const tcp = await cluster.run(inFlight, entries);
      const local = await measureCluster('level', inFlight, entries);
      const row = { inFlight, entries, tcpEntriesPerSecond: entries / tcp.seconds, tcpP50Ms: percentile(tcp.latenciesMs, 0.5), tcpP99Ms: percentile(tcp.latenciesMs, 0.99), inProcessEntriesPerSecond: local.entriesPerSecond, inProcessP50Ms: local.p50Ms, inProcessP99Ms: local.p99Ms, leaderFramesPerWrite: tcp.framesSent / Math.max(1, tcp.writes) };
      rows.push(row);
      log(
        `${String(inFlight).padStart(9)}  ${String(entries).padStart(7)}  ${fmt(row.tcpEntriesPerSecond).padStart(15)}  ${row.tcpP50Ms.toFixed(2).padStart(6)}  ${row.tcpP99Ms.toFixed(2).padStart(6)}  ${row.leaderFramesPerWrite.toFixed(2).padStart(19)}  ${fmt(row.inProcessEntriesPerSecond).padStart(22)}  ${row.inProcessP50Ms.toFixed(2).padStart(6)}  ${row.inProcessP99Ms.toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    await cluster.close();
  }
  // The physical limits, measured in the same run: the disk's floor for one commit, and the raw ceiling.
  const threePutsP50Ms = await measureThreeSyncedPuts(options.quick ? 100 : 500);
  const ceiling = await measureCeiling(256, entriesFor(256, options.quick));
  const single = rows.find((row) => row.inFlight === 1)!;
  const busy = rows.find((row) => row.inFlight === 256)!;
  log(
    `three simultaneous synced puts p50 ${threePutsP50Ms.toFixed(3)} ms: TCP one at a time p50 is ${(single.tcpP50Ms / threePutsP50Ms).toFixed(2)}× (target ≤ 3×); ` +
      `raw three-store ceiling at batch 256 ${fmt(ceiling.entriesPerSecond)}/s: TCP at 256 in flight reaches ${((100 * busy.tcpEntriesPerSecond) / ceiling.entriesPerSecond).toFixed(0)}% (target ≥ 50 %)`,
  );
  log('transport alone: one HMAC connection on loopback, messages sent in bursts of 1,000 per event-loop turn');
  log('payload B  messages   messages/s        MB/s  frames/write');
  const overhead: TransportOverhead[] = [];
  for (const payloadBytes of [0, 64, 1024]) {
    const result = await measureTransport(payloadBytes, options.quick ? 50_000 : 300_000);
    overhead.push(result);
    log(`${String(payloadBytes).padStart(9)}  ${String(result.messages).padStart(8)}  ${fmt(result.messagesPerSecond).padStart(11)}  ${(result.bytesPerSecond / 1e6).toFixed(1).padStart(10)}  ${result.framesPerWrite.toFixed(1).padStart(12)}`);
  }
  return { rows, overhead };
}

function entriesFor(inFlight: number, quick: boolean): number {
  const base = inFlight === 1 ? 500 : 4000;
  return Math.max(inFlight * 4, Math.floor((quick ? base / 4 : base) / inFlight) * inFlight);
}

/** Three node processes; the parent only orchestrates. */
class ProcessCluster {
  private constructor(
    private readonly children: Map<string, ChildProcess>,
    private readonly dir: string,
  ) {}

  static async start(): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'keel-bench-tcp-'));
    const children = new Map(MEMBERS.map((id) => [id, fork(new URL('./tcp-node.js', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })]));
    const cluster = new ProcessCluster(children, dir);
    const secretHex = randomBytes(32).toString('hex');
    const ports: Record<string, number> = {};
    for (const [id, child] of children) {
      const answer = await request(child, { type: 'init', id, members: MEMBERS, dir, secretHex }, 'listening');
      ports[id] = answer.port;
    }
    await Promise.all([...children.values()].map((child) => request(child, { type: 'peers', ports }, 'opened')));
    return cluster;
  }

  /** Runs the closed-loop clients on the current leader. */
  async run(inFlight: number, entries: number): Promise<Extract<ChildMessage, { type: 'result' }>> {
    return request(await this.leader(), { type: 'run', inFlight, entries }, 'result');
  }

  async close(): Promise<void> {
    await Promise.all([...this.children.values()].map((child) => (child.connected ? request(child, { type: 'close' }, 'closed') : undefined)));
    await Promise.all([...this.children.values()].map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private async leader(): Promise<ChildProcess> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      for (const child of this.children.values()) {
        if ((await request(child, { type: 'status' }, 'status')).role === 'leader') return child;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the benchmark cluster elected no leader');
  }
}

/** Sends `message` and resolves with the child's next answer, which must be of type `type`. */
function request<T extends ChildMessage['type']>(child: ChildProcess, message: ParentMessage, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`benchmark node exited with ${String(code)} while waiting for ${type}`));
    child.once('exit', onExit);
    child.once('message', (answer: ChildMessage) => {
      child.off('exit', onExit);
      if (answer.type !== type) reject(new Error(`expected ${type} from a benchmark node, got ${answer.type}`));
      else resolve(answer as Extract<ChildMessage, { type: T }>);
    });
    child.send(message);
  });
}

/** `count` forwarded proposals of `payloadBytes` each from a to b, at most 20,000 outstanding. */
async function measureTransport(payloadBytes: number, count: number): Promise<TransportOverhead> {
  const secret = randomBytes(32);
  const make = (id: string, other: string): TcpTransport => new TcpTransport({ clusterId: 'bench', nodeId: id, listen: { host: '127.0.0.1', port: 0 }, peers: { [other]: { host: '127.0.0.1', port: 0 } }, secret });
  const a = make('a', 'b');
  const b = make('b', 'a');
  let received = 0;
  let allReceived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  await b.start({
    receive: () => {
      if (++received === count) allReceived();
    },
    unreachable: () => undefined,
  });
  await a.start({ receive: () => undefined, unreachable: () => undefined });
  a.setPeerAddress('b', (await b.listen()));
  const message: NodeMessage = { kind: 'forward', from: 'a', to: 'b', requestId: 1, payload: new Uint8Array(payloadBytes) };
  // Connect first, so the measurement is the steady state.
  a.send('b', message);
  while (received < 1) await new Promise((resolve) => setImmediate(resolve));
  const before = a.stats();
  const started = performance.now();
  let sent = 1;
  while (sent < count) {
    const burst = Math.min(1000, count - sent);
    for (let i = 0; i < burst; i++) a.send('b', message);
    sent += burst;
    while (sent - received > 20_000) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  const after = a.stats();
  await a.close();
  await b.close();
  if (after.messagesDropped > 0) throw new Error(`transport benchmark dropped ${after.messagesDropped} messages`);
  const frames = after.framesSent - before.framesSent;
  return {
    payloadBytes,
    messages: count - 1,
    messagesPerSecond: (count - 1) / seconds,
    bytesPerSecond: (after.bytesSent - before.bytesSent) / seconds,
    framesPerWrite: frames / (after.writes - before.writes),
  };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
