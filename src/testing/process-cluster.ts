/**
 * A cluster of real `keel kv` processes on loopback, for the fault tests and
 * the failover benchmark. Every
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

/** bin/keel.js of this package, found from this file in src/ (tests) or dist/src/ (benchmarks). */
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
    const listenPorts = await freePorts(2 * ids.length);
    for (const [i, id] of ids.entries()) cluster.raftPorts.set(id, listenPorts[i]!);
    for (const [i, from] of ids.entries()) {
      for (const [j, to] of ids.entries()) {
        if (i !== j) cluster.proxies.set(`${from}->${to}`, await LinkProxy.start(listenPorts[j]!));
      }
    }
    for (const [i, id] of ids.entries()) {
      const peers = ids.map((peer, j) => `${peer}=127.0.0.1:${i === j ? listenPorts[j] : cluster.proxies.get(`${id}->${peer}`)!.port}`).join(',');
      const http = `127.0.0.1:${listenPorts[ids.length + i]}`;
      cluster.commands.set(id, [BIN, 'kv', '--id', id, '--peers', peers, '--http', http, '--data', join(dir, id),
        ...auth(id), '--log-level', 'info', ...(options.args ?? [])]);
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
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
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

  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the data. Returns the exit codes of SIGTERM'd nodes. */
  async stop(): Promise<(number | null)[]> {
    const codes = await Promise.all(this.nodes.map(async (node) => {
      const child = node.child;
      if (child === null) return null;
      if (node.paused) child.kill('SIGCONT');
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      node.child = null;
      return code;
    }));
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
    return codes;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private launch(node: ProcessNode): void {
    const log = createWriteStream(join(this.dir, `${node.id}.log`), { flags: 'a' });
    const child = spawn(process.execPath, this.commands.get(node.id)!, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.pipe(log);
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

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  return (server.address() as { port: number }).port;
}

/** `count` distinct free ports on loopback (bound once and released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(servers.map(listen));
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}
