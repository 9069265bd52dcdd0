/**
 * The KV HTTP API on a 3-node in-process cluster (LocalNetwork, real timers,
 * one HTTP server per node on a free loopback port).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';

let cluster: KvTestCluster;
let leader: string;
let followers: string[];

beforeAll(async () => {
  cluster = await startKvCluster(3);
  leader = await cluster.leader();
  followers = cluster.ids.filter((id) => id !== leader);
});

afterAll(async () => {
  await cluster.close();
});

async function call(node: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${cluster.servers.get(node)!.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('KV HTTP API', () => {
  it('writes through any node and reads linearizably from any node', async () => {
    expect((await call(followers[0]!, 'PUT', '/kv/colour', { value: 'blue' })).json()).toEqual({ ok: true });
    const read = await call(followers[1]!, 'GET', '/kv/colour');
    expect(read.status).toBe(200);
    expect(read.json()).toEqual({ value: 'blue' });
    expect((await call(leader, 'GET', '/kv/colour')).json()).toEqual({ value: 'blue' });

    expect((await call(leader, 'DELETE', '/kv/colour')).json()).toEqual({ ok: true });
    const gone = await call(followers[0]!, 'GET', '/kv/colour');
    expect(gone.status).toBe(404);
    expect(gone.json()).toEqual({ error: 'not_found' });
  });

  it('appends (an absent key counts as empty) and compares-and-sets', async () => {
    expect((await call(followers[0]!, 'POST', '/kv/log/append', { value: 'a' })).status).toBe(200);
    expect((await call(followers[1]!, 'POST', '/kv/log/append', { value: 'b' })).status).toBe(200);
    expect((await call(leader, 'GET', '/kv/log')).json()).toEqual({ value: 'ab' });

    expect((await call(leader, 'POST', '/kv/lock/cas', { expect: null, value: 'mine' })).json()).toEqual({ ok: true });
    const lost = await call(followers[0]!, 'POST', '/kv/lock/cas', { expect: null, value: 'theirs' });
    expect(lost.status).toBe(409);
    expect(lost.json()).toEqual({ error: 'cas_mismatch', actual: 'mine' });
    expect((await call(followers[1]!, 'POST', '/kv/lock/cas', { expect: 'mine', value: 'released' })).status).toBe(200);
    expect((await call(leader, 'GET', '/kv/lock')).json()).toEqual({ value: 'released' });
  });

  it('applies a write with an Idempotency-Key at most once; a retry returns the first result', async () => {
    const opened = await call(followers[1]!, 'POST', '/sessions');
    expect(opened.status).toBe(201);
    const session = opened.json()['session'] as string;
    expect(session).toMatch(/^[1-9][0-9]*$/);
    const headers = { 'idempotency-key': `${session}:1` };
    expect((await call(followers[0]!, 'POST', '/kv/counter/append', { value: 'x' }, headers)).status).toBe(200);
    expect((await call(followers[1]!, 'POST', '/kv/counter/append', { value: 'x' }, headers)).status).toBe(200);
    expect((await call(leader, 'GET', '/kv/counter')).json()).toEqual({ value: 'x' });

    const cas = { 'idempotency-key': `${session}:2` };
    expect((await call(leader, 'POST', '/kv/slot/cas', { expect: null, value: '1' }, cas)).status).toBe(200);
    await call(leader, 'PUT', '/kv/slot', { value: 'changed' });
    // The retry answers what the first attempt did, although the cas would now mismatch.
    expect((await call(followers[0]!, 'POST', '/kv/slot/cas', { expect: null, value: '1' }, cas)).json()).toEqual({ ok: true });
    expect((await call(leader, 'GET', '/kv/slot')).json()).toEqual({ value: 'changed' });

    // The key of an earlier request of the session is no longer remembered; reusing a key for another write is refused.
    const stale = await call(leader, 'POST', '/kv/counter/append', { value: 'x' }, headers);
    expect([stale.status, stale.json()['error']]).toEqual([409, 'idempotency_key_stale']);
    const reused = await call(leader, 'POST', '/kv/slot/cas', { expect: null, value: 'other' }, cas);
    expect([reused.status, reused.json()['error']]).toEqual([422, 'idempotency_key_reused']);
    expect((await call(leader, 'GET', '/kv/counter')).json()).toEqual({ value: 'x' });
  });

  it('refuses an Idempotency-Key of a closed session with 410 and does not apply it', async () => {
    const session = (await call(leader, 'POST', '/sessions')).json()['session'] as string;
    expect((await call(followers[0]!, 'DELETE', `/sessions/${session}`)).json()).toEqual({ ok: true });
    const expired = await call(followers[1]!, 'PUT', '/kv/closed', { value: 'v' }, { 'idempotency-key': `${session}:1` });
    expect(expired.status).toBe(410);
    expect(expired.json()['error']).toBe('session_expired');
    expect(expired.json()['message']).toContain('POST /sessions');
    expect((await call(leader, 'GET', '/kv/closed')).status).toBe(404);
    // An opaque key cannot be told from a new one once forgotten, so it is not accepted.
    const opaque = await call(leader, 'PUT', '/kv/closed', { value: 'v' }, { 'idempotency-key': 'retry-1' });
    expect([opaque.status, opaque.json()['error']]).toEqual([400, 'invalid_idempotency_key']);
  });

  it('takes any UTF-8 key, percent-encoded, including "/"', async () => {
    const key = encodeURIComponent('dir/é ✓');
    expect((await call(leader, 'PUT', `/kv/${key}`, { value: 'ünïcode' })).status).toBe(200);
    expect((await call(followers[0]!, 'GET', `/kv/${key}`)).json()).toEqual({ value: 'ünïcode' });
  });

  it('answers malformed requests with 4xx and a JSON error, and changes nothing', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['PUT', '/kv/bad', '{not json', 400, 'invalid_json'],
      ['PUT', '/kv/bad', {}, 400, 'invalid_request'],
      ['PUT', '/kv/bad', { value: 7 }, 400, 'invalid_request'],
      ['PUT', '/kv/bad', [1, 2], 400, 'invalid_request'],
      ['POST', '/kv/bad/cas', { value: 'v' }, 400, 'invalid_request'],
      ['POST', '/kv/bad/cas', { expect: 3, value: 'v' }, 400, 'invalid_request'],
      ['PUT', `/kv/${'k'.repeat(1025)}`, { value: 'v' }, 400, 'key_too_long'],
      ['PUT', '/kv/%E0%A4%A', { value: 'v' }, 400, 'invalid_key'],
      ['GET', '/kv/', undefined, 400, 'invalid_key'],
      ['DELETE', '/sessions/abc', undefined, 400, 'invalid_session'],
      ['PUT', '/kv/bad', { value: 'v'.repeat(1024 * 1024 + 1) }, 413, 'too_large'],
      ['POST', '/kv/bad/cas', { expect: 'é'.repeat(600_000), value: 'v' }, 413, 'too_large'],
      ['GET', '/nowhere', undefined, 404, 'no_such_route'],
      ['GET', '/kv/a/b/c', undefined, 404, 'no_such_route'],
      ['POST', '/kv/bad/increment', { value: 'v' }, 404, 'no_such_route'],
    ];
    for (const [method, path, body, status, error] of cases) {
      const response = await call(followers[0]!, method, path, body);
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
      expect(response.json()['error']).toBe(error);
    }
    // None of them wrote: "bad" is still absent.
    expect((await call(leader, 'GET', '/kv/bad')).status).toBe(404);
    // Exactly 1,024 bytes is allowed.
    expect((await call(leader, 'PUT', `/kv/${'k'.repeat(1024)}`, { value: 'v' })).status).toBe(200);
  });

  it('answers a wrong method with 405 and the allowed ones', async () => {
    const wrong = await call(leader, 'POST', '/kv/x', { value: 'v' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, PUT, DELETE');
    expect((await call(leader, 'GET', '/kv/x/append')).status).toBe(405);
    expect((await call(leader, 'DELETE', '/status')).headers.get('allow')).toBe('GET');
  });

  it('reports status', async () => {
    const status = (await call(followers[0]!, 'GET', '/status')).json();
    expect(status).toMatchObject({ id: followers[0], role: 'follower', leader, members: cluster.ids });
    expect(status).toMatchObject({ learners: [], joint: null, removed: false });
    expect(Object.keys(status).sort()).toEqual(['appliedIndex', 'commitIndex', 'id', 'joint', 'leader', 'learners', 'members', 'removed', 'role', 'term']);
    expect(status['term']).toBeGreaterThan(0);
    expect(status['commitIndex']).toBeGreaterThanOrEqual(status['appliedIndex'] as number);
  });

  it('exposes Prometheus metrics', async () => {
    const response = await call(leader, 'GET', '/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // prom-client separates families with an empty line.
    const lines = response.text.trimEnd().split('\n').filter((line) => line.length > 0);
    for (const line of lines) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-+0-9.eInfNa]+)$/);
    const value = (series: string) => Number(lines.find((line) => line.startsWith(`${series} `))?.split(' ')[1]);
    expect(value('keel_role{role="leader"}')).toBe(1);
    expect(value('keel_role{role="follower"}')).toBe(0);
    expect(value('keel_term')).toBe(cluster.nodes.get(leader)!.status().term);
    expect(value('keel_applied_index')).toBeGreaterThan(0);
    expect(value('keel_proposals_total{outcome="ok"}')).toBeGreaterThan(0);
    expect(value('keel_apply_latency_seconds_count')).toBe(value('keel_proposals_total{outcome="ok"}'));
    expect(value('keel_apply_latency_seconds_bucket{le="+Inf"}')).toBe(value('keel_apply_latency_seconds_count'));
    expect(lines).toContain('# TYPE keel_apply_latency_seconds histogram');
    expect(lines).toContain('# TYPE keel_snapshots_total counter');
    expect(value('keel_http_requests_total{route="kv_value",code="200"}')).toBeGreaterThan(0);
    expect(value('keel_reads_total{outcome="ok"}')).toBeGreaterThan(0);
    // prom-client's process metrics come with Keel's.
    expect(lines).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

describe('KV HTTP API without a quorum', () => {
  it('answers 503 unavailable when writes and reads cannot complete in time', async () => {
    const lonely = await startKvCluster(3, { requestTimeoutMs: 300 });
    try {
      const leaderId = await lonely.leader();
      const survivor = lonely.ids.find((id) => id !== leaderId)!;
      expect((await fetch(`${lonely.servers.get(survivor)!.url}/kv/k`, { method: 'PUT', body: '{"value":"1"}' })).status).toBe(200);
      for (const id of lonely.ids) if (id !== survivor) lonely.network.isolate([id], lonely.ids);

      const write = await fetch(`${lonely.servers.get(survivor)!.url}/kv/k`, { method: 'PUT', body: '{"value":"2"}' });
      expect(write.status).toBe(503);
      expect(await write.json()).toMatchObject({ error: 'unavailable' });
      const read = await fetch(`${lonely.servers.get(survivor)!.url}/kv/k`);
      expect(read.status).toBe(503);
    } finally {
      await lonely.close();
    }
  });
});
