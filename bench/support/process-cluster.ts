/**
 * A cluster of real `keel kv` processes on loopback, for the fault tests and
 * the failover benchmark. It lives beside the benchmarks, not in `src/` nor in
 * `keel/testing`: it spawns processes and sends them signals, which is Keel's
 * own test harness rather than a tool for users, yet `keel bench --only
 * failover` ships in the package and needs it. Every
 * directed peer link a→b goes through a TCP proxy owned by the test, so a
 * link can be cut (connections destroyed, new ones refused) and healed. Nodes
 * can be killed with SIGKILL and restarted on the same data directory, and
 * paused with SIGSTOP / SIGCONT.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/keel.js of this package, found from this file in bench/support/ (tests) or dist/bench/support/ (benchmarks). */
const BIN = ((): string => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'bin', 'keel.js');
  }
  throw new Error('process cluster: cannot find the package root');
})();

/** Forwards connections on a port to a target port, until cut. */
export class LinkProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<LinkProxy> {
    let proxy: LinkProxy | null = null;
    const server = createServer((inbound) => proxy!.accept(inbound, targetPort));
    const port = await listen(server);
    proxy = new LinkProxy(server, port);
    return proxy;
  }

  /** Destroys every open connection and refuses new ones until {@link heal}. */
  sever(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise((done) => this.server.close(done));
  }

  private accept(inbound: Socket, targetPort: number): void {
    if (this.cut) {
      inbound.destroy();
      return;
    }
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [inbound, outbound]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }
}

export interface ProcessNode {
  readonly id: string;
  readonly url: string;
  child: ChildProcess | null;
  paused: boolean;
}

/** How a node's process ended without the cluster stopping or killing it. */
export interface UnexpectedExit {
  readonly id: string;
  readonly pid: number | undefined;
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned (then code and signal are null). */
  readonly error?: string;
}

/** How long {@link ProcessCluster.stop} waits for a process after SIGKILL before it gives up with an error. */
const EXIT_AFTER_SIGKILL_MS = 10_000;

export interface ProcessClusterOptions {
  readonly size: number;
  /** Extra `keel kv` arguments (timing). */
  readonly args?: readonly string[];
  /**
   * Mutual TLS instead of the default random HMAC secret: the CA and each
   * node's certificate and key (PEM), written into the cluster's temporary
   * directory and removed with it.
   */
  readonly tls?: { readonly ca: string; readonly nodes: ReadonlyMap<string, { readonly cert: string; readonly key: string }> };
  /** Shard the key space over this many Raft groups (`keel kv --shards`), three replicas each, every node's HTTP address given to all. */
  readonly shards?: number;
}

/** The cluster: nodes, their proxies, and the faults a test can inject. */
export class ProcessCluster {
  readonly nodes: ProcessNode[] = [];
  /** `${from}->${to}` → the proxy `from` dials to reach `to`. */
  private readonly proxies = new Map<string, LinkProxy>();
  private readonly commands = new Map<string, string[]>();
  /** Where each node's Raft transport listens (not through a proxy). */
  private readonly raftPorts = new Map<string, number>();
  private authFor: (id: string) => string[] = () => [];
  private extraArgs: readonly string[] = [];
  /** Processes that are exiting because the cluster killed or stopped them. */
  private readonly expectedExits = new WeakSet<ChildProcess>();
  private readonly unexpected: UnexpectedExit[] = [];

  /** The `keel kv` arguments a node is started with (after `node`). */
  command(id: string): readonly string[] {
    return this.commands.get(id)!;
  }

  private constructor(readonly dir: string) {}

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'keel-kv-cluster-'));
    const cluster = new ProcessCluster(dir);
    const ids = Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
    const auth = await authArguments(dir, ids, options.tls);
    cluster.authFor = auth;
    cluster.extraArgs = options.args ?? [];
    // The nodes' ports stay bound while the proxies pick theirs: a port just released is often the
    // next one the system hands out, and a proxy on a node's port made that node exit (address in use).
    const reserved = await reservePorts(2 * ids.length);
    const listenPorts = reserved.ports;
    try {
      for (const [i, id] of ids.entries()) cluster.raftPorts.set(id, listenPorts[i]!);
      for (const [i, from] of ids.entries()) {
        for (const [j, to] of ids.entries()) {
          if (i !== j) cluster.proxies.set(`${from}->${to}`, await LinkProxy.start(listenPorts[j]!));
        }
      }
    } finally {
      await reserved.release();
    }
    const httpPeers = ids.map((peer, j) => `${peer}=127.0.0.1:${listenPorts[ids.length + j]}`).join(',');
    const sharding = options.shards === undefined ? [] : ['--shards', String(options.shards), '--http-peers', httpPeers];
    for (const [i, id] of ids.entries()) {
      const peers = ids.map((peer, j) => `${peer}=127.0.0.1:${i === j ? listenPorts[j] : cluster.proxies.get(`${id}->${peer}`)!.port}`).join(',');
      const http = `127.0.0.1:${listenPorts[ids.length + i]}`;
      cluster.commands.set(id, [BIN, 'kv', '--id', id, '--peers', peers, '--http', http, '--data', join(dir, id),
        ...auth(id), '--log-level', 'info', ...sharding, ...(options.args ?? [])]);
      cluster.nodes.push({ id, url: `http://${http}`, child: null, paused: false });
    }
    for (const node of cluster.nodes) cluster.launch(node);
    return cluster;
  }

  /**
   * Starts `keel kv --join` as node `id`: no configuration, dialling every
   * current node directly (links to and from a joiner have no proxy, so they
   * cannot be cut). Resolves with its Raft address, the one to give
   * `POST /admin/members`. HMAC clusters only.
   */
  async startJoiner(id: string): Promise<{ readonly raftAddress: string }> {
    const [raftPort, httpPort] = await freePorts(2);
    const peers = [...this.raftPorts].map(([peer, port]) => `${peer}=127.0.0.1:${port}`);
    peers.push(`${id}=127.0.0.1:${raftPort!}`);
    const http = `127.0.0.1:${httpPort!}`;
    this.commands.set(id, [BIN, 'kv', '--id', id, '--join', '--peers', peers.join(','), '--http', http, '--data', join(this.dir, id),
      ...this.authFor(id), '--log-level', 'info', ...this.extraArgs]);
    this.raftPorts.set(id, raftPort!);
    const node: ProcessNode = { id, url: `http://${http}`, child: null, paused: false };
    this.nodes.push(node);
    this.launch(node);
    return { raftAddress: `127.0.0.1:${raftPort!}` };
  }

  node(id: string): ProcessNode {
    return this.nodes.find((node) => node.id === id)!;
  }

  /** SIGKILL: the process dies at once, losing whatever was not synced. */
  async kill(id: string): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    if (child === null) return;
    node.child = null;
    node.paused = false;
    this.expectedExits.add(child);
    const exited = exitOf(child);
    child.kill('SIGKILL');
    await withDeadline(exited, EXIT_AFTER_SIGKILL_MS, `${id} (pid ${String(child.pid)}) to exit after SIGKILL`);
  }

  /** Starts a killed node again on its data directory. */
  restart(id: string): void {
    const node = this.node(id);
    if (node.child === null) this.launch(node);
  }

  pause(id: string): void {
    const node = this.node(id);
    if (node.child === null || node.paused) return;
    node.child.kill('SIGSTOP');
    node.paused = true;
  }

  resume(id: string): void {
    const node = this.node(id);
    if (node.child === null || !node.paused) return;
    node.child.kill('SIGCONT');
    node.paused = false;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: string): void {
    for (const [link, proxy] of this.proxies) if (link.startsWith(`${id}->`) || link.endsWith(`->${id}`)) proxy.sever();
  }

  healLinks(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  /** Everything back: links healed, paused nodes resumed, killed nodes restarted. */
  healAll(): void {
    this.healLinks();
    for (const node of this.nodes) {
      this.resume(node.id);
      this.restart(node.id);
    }
  }

  /** A node's log (JSON lines), for failure reports. */
  async log(id: string): Promise<string> {
    return readFile(join(this.dir, `${id}.log`), 'utf8').catch(() => '');
  }

  /**
   * Processes that ended although the cluster neither killed nor stopped
   * them (a crash, a fatal error, a port already in use), oldest first.
   */
  unexpectedExits(): readonly UnexpectedExit[] {
    return [...this.unexpected];
  }

  /**
   * For failure messages: every unexpected exit, with the last lines of that
   * node's log; the empty string when there was none.
   */
  async exitReport(lines = 8): Promise<string> {
    const reports = await Promise.all(this.unexpected.map(async (exit) => {
      const how = exit.error !== undefined ? `could not be spawned: ${exit.error}` : exit.signal !== null ? `was ended by ${exit.signal}` : `exited with code ${String(exit.code)}`;
      const tail = (await this.log(exit.id)).trimEnd().split('\n').slice(-lines).join('\n');
      return `${exit.id} (pid ${String(exit.pid)}) ${how}, unasked; the end of its log:\n${tail}`;
    }));
    return reports.join('\n');
  }

  /**
   * Stops every process (SIGTERM, then SIGKILL after 10 s) and closes the
   * proxies. Returns each node's exit code: for a process that had already
   * exited on its own, the code it exited with (see {@link unexpectedExits}).
   * Never waits for ever: a process still there 10 s after SIGKILL is an error
   * naming it.
   */
  async stop(): Promise<(number | null)[]> {
    try {
      return await Promise.all(this.nodes.map(async (node) => {
        const child = node.child;
        if (child === null) return null;
        if (hasExited(child)) {
          node.child = null;
          return child.exitCode;
        }
        this.expectedExits.add(child);
        if (node.paused) child.kill('SIGCONT');
        const exited = exitOf(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          const { code } = await withDeadline(exited, 10_000 + EXIT_AFTER_SIGKILL_MS, `${node.id} (pid ${String(child.pid)}) to exit after SIGTERM and SIGKILL`);
          node.child = null;
          return code;
        } finally {
          clearTimeout(timer);
        }
      }));
    } finally {
      await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
    }
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private launch(node: ProcessNode): void {
    const log = createWriteStream(join(this.dir, `${node.id}.log`), { flags: 'a' });
    const child = spawn(process.execPath, this.commands.get(node.id)!, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.pipe(log);
    // Record an exit nobody asked for: stop() and kill() must not wait for it, and tests can report it.
    child.once('exit', (code, signal) => {
      if (!this.expectedExits.has(child)) this.unexpected.push({ id: node.id, pid: child.pid, code, signal });
    });
    child.on('error', (error) => {
      // Without this listener a failed spawn would be an uncaught error in the test runner.
      if (!this.expectedExits.has(child) && child.pid === undefined) this.unexpected.push({ id: node.id, pid: undefined, code: null, signal: null, error: error.message });
    });
    node.child = child;
    node.paused = false;
  }
}

/** Writes the secret or the TLS files; returns each node's authentication arguments. */
async function authArguments(dir: string, ids: readonly string[], tls: ProcessClusterOptions['tls']): Promise<(id: string) => string[]> {
  if (tls === undefined) {
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    return () => ['--secret-file', secretFile];
  }
  await writeFile(join(dir, 'ca.crt'), tls.ca);
  for (const id of ids) {
    const pair = tls.nodes.get(id);
    if (pair === undefined) throw new Error(`process cluster: no TLS certificate for ${id}`);
    await writeFile(join(dir, `${id}.crt`), pair.cert);
    await writeFile(join(dir, `${id}.key`), pair.key, { mode: 0o600 });
  }
  return (id) => ['--tls-cert', join(dir, `${id}.crt`), '--tls-key', join(dir, `${id}.key`), '--tls-ca', join(dir, 'ca.crt')];
}

/** True once `child` has exited (or could not be spawned): its 'exit' event will not come again. */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

/** Resolves when `child` has exited, at once if it already has. */
function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (hasExited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
}

/** `promise`, or an error naming `what` after `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`process cluster: timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  return (server.address() as { port: number }).port;
}

/**
 * `count` distinct free ports on loopback, bound and held until `release()`:
 * whatever else the caller binds meanwhile cannot be given one of them.
 */
async function reservePorts(count: number): Promise<{ readonly ports: number[]; release(): Promise<void> }> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(servers.map(listen));
  return { ports, release: async () => void (await Promise.all(servers.map((server) => new Promise((done) => server.close(done))))) };
}

/** `count` distinct free ports on loopback (bound once and released: another socket may take one before it is used). */
export async function freePorts(count: number): Promise<number[]> {
  const reserved = await reservePorts(count);
  await reserved.release();
  return reserved.ports;
}
