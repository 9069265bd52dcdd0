import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerOption, parseOptions, withUsage } from './args.js';

const HELP = `Usage: keel demo [--nodes N] [--shards N] [--dir PATH] [--once]

Starts a cluster of the replicated key-value service: N \`keel kv\` processes on
loopback, peers authenticated with a random shared secret, clients with a
random admin token (in --dir/token), their data under --dir. Waits for a
leader, writes and reads a few keys through different nodes, takes a backup,
prints the HTTP URLs and curl commands to try, and keeps running until Ctrl-C.

Options:
  --nodes N    cluster size, 3 to 7 (default 3)
  --shards N   shard the key space over N Raft groups by consistent hashing
               (1 to 1024); each node hosts the shards placed on it
  --dir PATH   where data, logs and the secret go; emptied first (default .keel-demo)
  --once       run the demo steps, then stop the cluster and exit 0
`;

const BIN = fileURLToPath(new URL('../../bin/keel.js', import.meta.url));
const LEADER_TIMEOUT_MS = 30_000;

interface DemoNode {
  readonly id: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** The admin token every request of the demo carries. */
interface DemoAuth {
  readonly token: string;
  readonly tokenFile: string;
}

/** `keel demo` (what `npm start` runs): a multi-process KV cluster on loopback. */
export function runDemo(args: readonly string[]): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, { nodes: { type: 'string' }, shards: { type: 'string' }, dir: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    const size = integerOption('nodes', values.nodes, 3, 3, 7);
    const shards = values.shards === undefined ? null : integerOption('shards', values.shards, 16, 1, 1024);
    const dir = resolve(values.dir ?? '.keel-demo');
    const print = (line = ''): void => void process.stdout.write(`${line}\n`);
    const { nodes, auth } = await startCluster(size, dir, print, shards);
    const killAll = (): void => nodes.forEach((node) => node.child.kill('SIGKILL'));
    process.once('exit', killAll);
    try {
      if (shards === null) await demonstrate(nodes, auth, dir, print);
      else await demonstrateShards(nodes, auth, shards, print);
      if (values.once !== true) {
        print('The cluster keeps running; press Ctrl-C to stop it.');
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
      }
      print('Stopping the cluster...');
      const codes = await stopCluster(nodes);
      print(`Stopped (exit codes ${codes.join(', ')}).`);
      return codes.every((code) => code === 0) ? 0 : 1;
    } catch (error) {
      killAll();
      throw error;
    } finally {
      process.off('exit', killAll);
    }
  });
}

async function startCluster(size: number, dir: string, print: (line?: string) => void, shards: number | null): Promise<{ nodes: DemoNode[]; auth: DemoAuth }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  // Clients present this admin token; the nodes read the token file (lines "SCOPE TOKEN").
  const auth: DemoAuth = { token: randomBytes(32).toString('hex'), tokenFile: join(dir, 'token') };
  await writeFile(auth.tokenFile, `${auth.token}\n`, { mode: 0o600 });
  const tokensFile = join(dir, 'http-tokens');
  await writeFile(tokensFile, `admin ${auth.token}\n`, { mode: 0o600 });
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const ports = await freePorts(2 * size);
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
  const httpPeers = ids.map((id, i) => `${id}=127.0.0.1:${ports[size + i]}`).join(',');
  // Sharded or not, the nodes require a token; a sharded node passes the client's own on when it proxies a request.
  const sharding = ['--http-tokens', tokensFile, ...(shards === null ? [] : ['--shards', String(shards), '--http-peers', httpPeers])];
  print(`Keel demo: ${size} key-value nodes on loopback${shards === null ? '' : `, the key space sharded over ${shards} Raft groups`}, data and logs in ${dir}`);
  const nodes = ids.map((id, i) => {
    const http = `127.0.0.1:${ports[size + i]}`;
    const log = createWriteStream(join(dir, `${id}.log`));
    const child = spawn(process.execPath, [BIN, 'kv', '--id', id, '--peers', peers, '--http', http, '--data', join(dir, id),
      '--secret-file', secretFile, '--cluster-id', 'keel-demo', ...sharding], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.pipe(log);
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    return { id, url: `http://${http}`, child, exited };
  });
  return { nodes, auth };
}

async function demonstrate(nodes: readonly DemoNode[], auth: DemoAuth, dir: string, print: (line?: string) => void): Promise<void> {
  const step = (method: string, node: DemoNode, path: string, body?: unknown): Promise<void> => demoStep(print, auth, method, node, path, body);
  const leader = await waitForLeader(nodes, auth);
  print(`Leader elected: ${leader}.`);
  print();
  for (const node of nodes) print(`  ${node.id}  ${node.url}`);
  const [a, b, c] = nodes as [DemoNode, DemoNode, DemoNode];
  print();
  print(`Writes go to any node (followers forward them to the leader); reads are linearizable on every node:`);
  await step('PUT', a, '/kv/greeting', { value: 'hello' });
  await step('GET', b, '/kv/greeting');
  await step('POST', c, '/kv/greeting/append', { value: ', world' });
  await step('GET', a, '/kv/greeting');
  await step('POST', b, '/kv/greeting/cas', { expect: 'hello', value: 'bye' });
  await step('POST', b, '/kv/greeting/cas', { expect: 'hello, world', value: 'bye' });
  await step('GET', c, '/kv/greeting');
  await step('GET', c, '/status');
  print();
  print('Requests need the admin token in --dir/token; without it the answer is 401:');
  const refused = await fetch(`${a.url}/kv/greeting`);
  print(`  GET  ${a.id}/kv/greeting (no token)  ->  ${refused.status} ${(await refused.text()).trim()}`);
  print();
  print('A consistent backup through the API (keel kv backup):');
  await demoBackup(print, auth, b, join(dir, 'backup.keelbackup'));
  print();
  const bearer = `-H "Authorization: Bearer $(cat ${auth.tokenFile})"`;
  print('Try it yourself:');
  print(`  curl ${bearer} -X PUT ${b.url}/kv/colour -d '{"value":"blue"}'`);
  print(`  curl ${bearer} ${c.url}/kv/colour`);
  print(`  curl ${bearer} -X POST ${a.url}/kv/colour/cas -d '{"expect":"blue","value":"green"}'`);
  print(`  curl ${bearer} ${a.url}/status`);
  print(`  curl ${bearer} ${a.url}/metrics`);
  print(`  npx keel kv backup --node ${a.url} --token-file ${auth.tokenFile} --to my.keelbackup`);
  print();
}

/** The sharded demo: keys land on different shards, whichever node takes them. */
async function demonstrateShards(nodes: readonly DemoNode[], auth: DemoAuth, shards: number, print: (line?: string) => void): Promise<void> {
  const headers = { authorization: `Bearer ${auth.token}` };
  await waitForShardLeaders(nodes, auth, shards);
  print(`Every one of the ${shards} shards has a leader.`);
  print();
  for (const node of nodes) print(`  ${node.id}  ${node.url}`);
  print();
  print('Each key belongs to one shard (a Raft group), found by consistent hashing; any node takes any key:');
  const keys = ['apple', 'banana', 'cherry', 'damson', 'elder', 'fig', 'grape', 'hazel'];
  const landed = new Set<string>();
  for (const [i, key] of keys.entries()) {
    const writer = nodes[i % nodes.length]!;
    const reader = nodes[(i + 1) % nodes.length]!;
    const put = await fetch(`${writer.url}/kv/${key}`, { method: 'PUT', headers, body: JSON.stringify({ value: `${key}-${i}` }) });
    const shard = put.headers.get('x-keel-shard') ?? '?';
    if (put.status >= 500) throw new Error(`PUT ${key} on ${writer.id} answered ${put.status}: ${await put.text()}`);
    const get = await fetch(`${reader.url}/kv/${key}`, { headers });
    const value = ((await get.json()) as { value?: string }).value;
    landed.add(shard);
    print(`  PUT ${writer.id}/kv/${key.padEnd(7)} -> ${put.status}   GET ${reader.id}/kv/${key.padEnd(7)} -> ${get.status} ${JSON.stringify(value)}   on ${shard}`);
  }
  print(`  ${keys.length} keys landed on ${landed.size} different shards.`);
  print();
  const placement = (await (await fetch(`${nodes[0]!.url}/shards`, { headers })).json()) as { shards: { id: string; placement: string[] }[] };
  print('Placement (GET /shards): which nodes hold each shard\'s replicas:');
  for (const shard of placement.shards.slice(0, 8)) print(`  ${shard.id.padEnd(9)} ${shard.placement.join(' ')}`);
  if (placement.shards.length > 8) print(`  ... and ${placement.shards.length - 8} more`);
  print();
  print('Requests need the admin token in --dir/token, also when a node passes them on; without it the answer is 401:');
  const refused = await fetch(`${nodes[0]!.url}/kv/${keys[0]}`);
  print(`  GET  ${nodes[0]!.id}/kv/${keys[0]} (no token)  ->  ${refused.status} ${(await refused.text()).trim()}`);
  print();
  const bearer = `-H "Authorization: Bearer $(cat ${auth.tokenFile})"`;
  print('Try it yourself:');
  print(`  curl ${bearer} -i -X PUT ${nodes[1]!.url}/kv/colour -d '{"value":"blue"}'   # the x-keel-shard header names the shard`);
  print(`  curl ${bearer} ${nodes[0]!.url}/kv/colour`);
  print(`  curl ${bearer} ${nodes[0]!.url}/shards`);
  print(`  curl ${bearer} ${nodes[0]!.url}/metrics`);
  print();
}

/** Polls `/shards` on every node until each shard has a leader somewhere. */
async function waitForShardLeaders(nodes: readonly DemoNode[], auth: DemoAuth, shards: number): Promise<void> {
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      if (node.child.exitCode !== null) throw new Error(`node ${node.id} exited with code ${node.child.exitCode}; see its log`);
    }
    const led = new Set<string>();
    await Promise.all(nodes.map(async (node) => {
      try {
        const body = (await (await fetch(`${node.url}/shards`, { headers: { authorization: `Bearer ${auth.token}` } })).json()) as { shards: { id: string; local: { role: string } | null }[] };
        for (const shard of body.shards) if (shard.local?.role === 'leader') led.add(shard.id);
      } catch {
        // Not listening yet.
      }
    }));
    if (led.size === shards) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`not every shard had a leader within ${LEADER_TIMEOUT_MS / 1000} s`);
}

/** Runs `keel kv backup` against `node`, as a user would, and prints what it said. */
async function demoBackup(print: (line?: string) => void, auth: DemoAuth, node: DemoNode, file: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'kv', 'backup', '--node', node.url, '--token-file', auth.tokenFile, '--to', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((done) => child.once('exit', (exitCode) => done(exitCode)));
  print(`  keel kv backup --node ${node.url} --to ${file}  ->  ${output.trim()}`);
  if (code !== 0) throw new Error(`keel kv backup exited with code ${code}: ${output.trim()}`);
}

async function demoStep(print: (line?: string) => void, auth: DemoAuth, method: string, node: DemoNode, path: string, body?: unknown): Promise<void> {
  const headers = { authorization: `Bearer ${auth.token}` };
  const response = await fetch(`${node.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = (await response.text()).trim();
  const shown = body === undefined ? '' : ` ${JSON.stringify(body)}`;
  print(`  ${method.padEnd(4)} ${node.id}${path}${shown}  ->  ${response.status} ${text}`);
  if (response.status >= 500) throw new Error(`${method} ${path} on ${node.id} answered ${response.status}: ${text}`);
}

/** Polls `/status` until every node names the same leader. */
async function waitForLeader(nodes: readonly DemoNode[], auth: DemoAuth): Promise<string> {
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      if (node.child.exitCode !== null) throw new Error(`node ${node.id} exited with code ${node.child.exitCode}; see its log`);
    }
    const leaders = await Promise.all(nodes.map(async (node) => {
      try {
        return ((await (await fetch(`${node.url}/status`, { headers: { authorization: `Bearer ${auth.token}` } })).json()) as { leader: string | null }).leader;
      } catch {
        return null;
      }
    }));
    if (leaders[0] !== null && leaders.every((leader) => leader === leaders[0])) return leaders[0]!;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no leader within ${LEADER_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM to every node; resolves with their exit codes (SIGKILL after 10 s). */
async function stopCluster(nodes: readonly DemoNode[]): Promise<(number | null)[]> {
  for (const node of nodes) node.child.kill('SIGTERM');
  const timer = setTimeout(() => nodes.forEach((node) => node.child.kill('SIGKILL')), 10_000);
  try {
    return await Promise.all(nodes.map((node) => node.exited));
  } finally {
    clearTimeout(timer);
  }
}

/** `count` distinct free TCP ports on loopback. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done(server));
  })));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}
