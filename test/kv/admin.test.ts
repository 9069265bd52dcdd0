/**
 * The KV service's membership admin endpoints on an in-process cluster
 * (LocalNetwork, real timers, one HTTP server per node).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';

let cluster: KvTestCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function call(c: KvTestCluster, node: string, method: string, path: string, body?: unknown) {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${c.servers.get(node)!.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('KV admin API: /admin/members', () => {
  it('POST adds a voter that catches up and serves reads; GET /status shows it everywhere', async () => {
    const c = (cluster = await startKvCluster(3));
    const leader = await c.leader();
    await call(c, leader, 'PUT', '/kv/before', { value: 'x' });
    await c.join('n4');

    const added = await call(c, leader, 'POST', '/admin/members', { id: 'n4', address: 'local:4', role: 'voter' });
    expect(added.status).toBe(200);
    expect(added.json()).toMatchObject({ ok: true, learners: [], joint: null });
    expect([...(added.json()['members'] as string[])].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);

    expect((await call(c, 'n4', 'GET', '/kv/before')).json()).toEqual({ value: 'x' });
    const status = (await call(c, 'n4', 'GET', '/status')).json();
    expect([...(status['members'] as string[])].sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('POST with role learner adds a learner; DELETE removes it; an unknown member is 404', async () => {
    const c = (cluster = await startKvCluster(3));
    const leader = await c.leader();
    await c.join('n4');
    expect((await call(c, leader, 'POST', '/admin/members', { id: 'n4', address: 'local:4', role: 'learner' })).json()).toMatchObject({ learners: ['n4'] });
    const removed = await call(c, leader, 'DELETE', '/admin/members/n4');
    expect(removed.status).toBe(200);
    expect(removed.json()).toMatchObject({ learners: [] });
    const unknown = await call(c, leader, 'DELETE', '/admin/members/nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'unknown_member' });
  });

  it('bad input is 400; a follower answers 503 naming the leader; a change in progress is 409', async () => {
    const c = (cluster = await startKvCluster(3));
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader)!;
    for (const body of [{ address: 'h:1' }, { id: 'n4' }, { id: 'n4', address: 'no-port' }, { id: 'n4', address: 'h:1', role: 'boss' }, '[1]', 'not json']) {
      expect((await call(c, leader, 'POST', '/admin/members', body)).status, JSON.stringify(body)).toBe(400);
    }
    const elsewhere = await call(c, follower, 'POST', '/admin/members', { id: 'n4', address: 'h:1', role: 'learner' });
    expect(elsewhere.status).toBe(503);
    expect(elsewhere.json()).toMatchObject({ error: 'unavailable', leader });
    expect((await call(c, leader, 'GET', '/admin/members')).status).toBe(405);

    await c.join('n4');
    const first = call(c, leader, 'POST', '/admin/members', { id: 'n4', address: 'local:4', role: 'learner' });
    const second = await call(c, leader, 'POST', '/admin/members', { id: 'n5', address: 'local:5', role: 'learner' });
    expect(second.status).toBe(409);
    expect(second.json()).toMatchObject({ error: 'change_in_progress' });
    expect((await first).status).toBe(200);
  });

  it('DELETE of the leader: it steps down, the others elect a new leader and keep serving', async () => {
    const c = (cluster = await startKvCluster(3));
    const leader = await c.leader();
    expect((await call(c, leader, 'DELETE', `/admin/members/${leader}`)).status).toBe(200);
    // The others still name the old leader until they time out and elect one of themselves.
    let next = await c.leader();
    for (let attempt = 0; next === leader && attempt < 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      next = await c.leader();
    }
    expect(next).not.toBe(leader);
    expect((await call(c, next, 'PUT', '/kv/after', { value: 'y' })).status).toBe(200);
    expect((await call(c, leader, 'GET', '/status')).json()).toMatchObject({ removed: true });
  });
});
