/**
 * Real processes: a fourth `keel kv --join` process is added to a running
 * three-node cluster through the HTTP admin API, catches up, and serves
 * linearizable reads; then one of the original nodes is removed and the
 * cluster keeps writing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../bench/support/process-cluster.js';

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.start({ size: 3, args: ['--tick-ms', '50', '--election-ticks', '10', '--request-timeout-ms', '3000'] });
  await waitFor('a leader', 30_000, async () => (await leaderUrl()) !== null);
});

afterAll(async () => {
  const codes = await cluster.stop();
  const logs = await Promise.all(cluster.nodes.map(async (node, i) => (codes[i] === 0 || codes[i] === null ? '' : `${node.id} exited ${String(codes[i])}:\n${(await cluster.log(node.id)).split('\n').slice(-8).join('\n')}`)));
  const report = await cluster.exitReport();
  await cluster.remove();
  expect(codes.filter((code) => code !== null && code !== 0), logs.join('\n')).toEqual([]);
  expect(cluster.unexpectedExits(), report).toEqual([]);
});

describe('keel kv --join through POST /admin/members (real processes)', () => {
  it('adds a fourth voter that catches up, then removes an original member', async () => {
    for (let i = 0; i < 20; i++) expect((await request((await leaderUrl())!, 'PUT', `/kv/k${i}`, { value: `v${i}` })).status).toBe(200);
    const { raftAddress } = await cluster.startJoiner('n4');
    const n4 = cluster.node('n4').url;
    await waitFor('n4 to answer /status', 30_000, async () => (await request(n4, 'GET', '/status').catch(() => null))?.status === 200);

    const added = await request((await leaderUrl())!, 'POST', '/admin/members', { id: 'n4', address: raftAddress, role: 'voter' });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect([...(added.body['members'] as string[])].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);

    // n4 serves a linearizable read of data written before it joined. It may answer 503 while it still
    // learns the leader (liveness, bounded generously); whatever it answers otherwise must be the value.
    let read: Awaited<ReturnType<typeof request>> = { status: 503, body: {} };
    await waitFor('n4 to serve a read', 60_000, async () => (read = await request(n4, 'GET', '/kv/k19')).status !== 503);
    expect(read.body).toEqual({ value: 'v19' });
    const status = (await request(n4, 'GET', '/status')).body;
    expect([...(status['members'] as string[])].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);

    // Remove a follower among the originals; the four… now three keep writing, n4 included.
    const leader = (await request(n4, 'GET', '/status')).body['leader'] as string;
    const victim = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    const removed = await request(cluster.node(leader).url, 'DELETE', `/admin/members/${victim}`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect((await request(n4, 'PUT', '/kv/after', { value: 'x' })).status).toBe(200);
    await waitFor(`${victim} to learn it was removed`, 30_000, async () => (await request(cluster.node(victim).url, 'GET', '/status')).body['removed'] === true);
  });
});

async function request(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    signal: AbortSignal.timeout(70_000),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Record<string, unknown> };
}

/** The URL of the node every reachable original node names as leader, or null. */
async function leaderUrl(): Promise<string | null> {
  const leaders = new Set<string | null>();
  for (const node of cluster.nodes.filter((node) => ['n1', 'n2', 'n3'].includes(node.id))) {
    const status = await request(node.url, 'GET', '/status').catch(() => null);
    leaders.add(status === null ? null : (status.body['leader'] as string | null));
  }
  const [only] = leaders;
  return leaders.size === 1 && typeof only === 'string' ? cluster.node(only).url : null;
}

/** Polls `condition`; fails after `timeoutMs`, or at once (with its log) when a node exited by itself. */
async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (cluster.unexpectedExits().length > 0) throw new Error(`a node exited while waiting for ${what}:\n${await cluster.exitReport()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
