/**
 * One Keel node for the TCP benchmark, run as a child process by bench/tcp.ts:
 * LevelStorage in a directory the parent chose, TcpTransport with HMAC on
 * loopback. The parent drives it over the IPC channel; on `run` it acts as
 * the closed-loop clients of the benchmark (it is then the leader).
 */
import { join } from 'node:path';
import { RaftNode } from '../src/node/raft-node.js';
import type { SnapshotSource, StateMachine } from '../src/node/state-machine.js';
import { LevelStorage } from '../src/storage/level.js';
import { MemorySnapshotStore } from '../src/storage/memory-snapshot-store.js';
import { TcpTransport } from '../src/transport/tcp.js';
import { runClosedLoop } from './closed-loop.js';

/** What the parent sends. */
export type ParentMessage =
  | { readonly type: 'init'; readonly id: string; readonly members: readonly string[]; readonly dir: string; readonly secretHex: string }
  | { readonly type: 'peers'; readonly ports: Readonly<Record<string, number>> }
  | { readonly type: 'status' }
  | { readonly type: 'run'; readonly inFlight: number; readonly entries: number }
  | { readonly type: 'close' };

/** What a node answers. */
export type ChildMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'opened' }
  | { readonly type: 'status'; readonly role: string }
  | { readonly type: 'result'; readonly seconds: number; readonly latenciesMs: number[]; readonly framesSent: number; readonly writes: number }
  | { readonly type: 'closed' };

const COMMAND = new Uint8Array(64).fill(42);

class NullMachine implements StateMachine<number> {
  applied = 0;
  apply(): number {
    return ++this.applied;
  }
  capture(): SnapshotSource {
    const applied = this.applied;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        yield new Uint8Array([applied & 0xff]);
      },
    };
  }
  async restore(): Promise<void> {}
}

let init: Extract<ParentMessage, { type: 'init' }> | null = null;
let transport: TcpTransport | null = null;
let storage: LevelStorage | null = null;
let node: RaftNode<number> | null = null;

function reply(message: ChildMessage): void {
  process.send!(message);
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'init': {
      init = message;
      const peers = Object.fromEntries(message.members.filter((id) => id !== message.id).map((id) => [id, { host: '127.0.0.1', port: 0 }]));
      transport = new TcpTransport({ clusterId: 'bench', nodeId: message.id, listen: { host: '127.0.0.1', port: 0 }, peers, secret: Buffer.from(message.secretHex, 'hex') });
      reply({ type: 'listening', port: (await transport.listen()).port });
      return;
    }
    case 'peers': {
      for (const [id, port] of Object.entries(message.ports)) if (id !== init!.id) transport!.setPeerAddress(id, { host: '127.0.0.1', port });
      storage = await LevelStorage.open({ location: join(init!.dir, init!.id), nodeId: init!.id });
      node = await RaftNode.open<number>({
        id: init!.id,
        members: init!.members,
        storage,
        snapshots: new MemorySnapshotStore(),
        transport: transport!,
        stateMachine: new NullMachine(),
        tickIntervalMs: 10,
        electionTicks: 20,
        snapshotting: { entries: 50_000 },
        limits: { maxUncommittedBytes: 1 << 30 },
      });
      reply({ type: 'opened' });
      return;
    }
    case 'status':
      reply({ type: 'status', role: node?.status().role ?? 'stopped' });
      return;
    case 'run':
      reply(await run(message.inFlight, message.entries));
      return;
    case 'close':
      await node?.close();
      await storage?.close();
      reply({ type: 'closed' });
      process.disconnect();
      return;
  }
}

async function run(inFlight: number, entries: number): Promise<ChildMessage> {
  const before = transport!.stats();
  const { seconds, latenciesMs } = await runClosedLoop(() => node!.propose(COMMAND, { timeoutMs: 60_000 }), inFlight, entries);
  const after = transport!.stats();
  return { type: 'result', seconds, latenciesMs, framesSent: after.framesSent - before.framesSent, writes: after.writes - before.writes };
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: unknown) => {
    process.stderr.write(`tcp bench node: ${String(error instanceof Error ? error.stack : error)}\n`);
    process.exit(1);
  });
});
