/**
 * The sharded key-value service's front is no more open than the
 * single-group service: HTTPS, and bearer tokens with the same scopes,
 * refusals and answers. `POST /admin/hosts`, which moves replicas between
 * hosts, needs `admin`. A request proxied to another host carries the
 * client's own token over HTTPS, and that host checks it again, so a hop
 * never adds authority. Three hosts over TCP (loopback, HMAC), six shards of
 * two replicas (each host lacks some shards), one HTTPS front per host.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTokens } from '../../src/kv/http-auth.js';
import { ShardedKvHost } from '../../src/kv/sharded-host.js';
import { SHARD_HEADER, ShardedKvHttpApi, startShardedHttp } from '../../src/kv/sharded-http-api.js';
import type { ShardedHttpServer, ShardedKvHttpApiOptions } from '../../src/kv/sharded-http-api.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { createTransports, waitUntil } from '../transport/tcp-cluster.js';
import { makeTempDir, removeTempDirs } from '../storage/temp-dirs.js';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';
import { loopbackCertificate } from './https-certificate.js';

const token = (): string => randomBytes(20).toString('hex');
const READ = token();
const WRITE = token();
const ADMIN = token();
const TOKENS = `read ${READ}\nwrite ${WRITE}\nadmin ${ADMIN}\n`;
const HOSTS = ['h1', 'h2', 'h3'];

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

interface Host {
  readonly id: string;
  readonly sharded: ShardedKvHost;
  readonly engine: LevelEngine;
  readonly peerUrls: Map<string, string>;
  readonly http: ShardedHttpServer;
  readonly raft: string;
}

const { cert, key } = loopbackCertificate();
const tokens = HttpTokens.parse(TOKENS);
const hosts: Host[] = [];
const extraFronts: ShardedHttpServer[] = [];

/** An HTTPS request trusting the test CA (fetch cannot be given one). */
function call(url: string, method: string, bearer: string | null, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...extraHeaders, ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }) };
    const outbound = request(url, { method, headers, ca: cert }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // /metrics answers text.
        }
        resolve({ status: response.statusCode!, headers: response.headers, body: parsed, text });
      });
    });
    outbound.on('error', reject);
    outbound.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const at = (host: Host, path: string): string => `${host.http.url}${path}`;

/** A key whose shard has no replica on `host`: a request for it there is proxied. */
function keyNotOn(host: Host, prefix: string): string {
  const map = host.sharded.shardMap;
  for (let i = 0; ; i++) {
    const candidate = `${prefix}-${i}`;
    if (!map.placement(map.shardOf(candidate)).includes(host.id)) return candidate;
  }
}

/** The value of `key` in every replica of its shard. */
function replicaValues(key: string): (string | null)[] {
  const shard = hosts[0]!.sharded.shardMap.shardOf(key);
  return hosts.flatMap((host) => {
    const replica = host.sharded.replica(shard);
    return replica === undefined ? [] : [replica.store.get(key)];
  });
}

async function proxiedCount(host: Host): Promise<number> {
  return (await call(at(host, '/status'), 'GET', READ)).body['proxied'] as number;
}

/** Another front on `host`'s shard replicas, with other options: a misconfigured host, as far as its peers can tell. */
async function extraFront(host: Host, options: Partial<ShardedKvHttpApiOptions>): Promise<string> {
  const api = new ShardedKvHttpApi({ host: host.sharded, peerUrls: new Map(host.peerUrls), ...options });
  const server = await startShardedHttp(api, { host: '127.0.0.1', port: 0, tls: { cert, key } });
  extraFronts.push(server);
  return server.url;
}

beforeAll(async () => {
  const secret = randomBytes(32);
  const transports = await createTransports(HOSTS, () => ({ secret }));
  for (const id of HOSTS) {
    const engine = await LevelEngine.open({ location: await makeTempDir(`sharded-auth-${id}`), hostId: id });
    const sharded = await ShardedKvHost.open({
      hostId: id,
      shards: 6,
      replicas: 2,
      hosts: HOSTS,
      transport: transports.get(id)!,
      logs: engine,
      snapshotsFor: () => new MemorySnapshotStore(),
      tickIntervalMs: 20,
      groupDefaults: { electionTicks: 10 },
      raftAddresses: new Map([...transports].map(([other, transport]) => [other, `127.0.0.1:${transport.address()!.port}`])),
    });
    const peerUrls = new Map<string, string>();
    const http = await startShardedHttp(new ShardedKvHttpApi({ host: sharded, peerUrls, tokens, peerTls: { ca: cert } }), { host: '127.0.0.1', port: 0, tls: { cert, key } });
    hosts.push({ id, sharded, engine, peerUrls, http, raft: `127.0.0.1:${transports.get(id)!.address()!.port}` });
  }
  for (const host of hosts) for (const other of hosts) if (other !== host) host.peerUrls.set(other.id, other.http.url);
  const map = hosts[0]!.sharded.shardMap;
  const leaders = (shard: string): number => hosts.filter((host) => host.sharded.replica(shard)?.node.status().role === 'leader').length;
  await waitUntil(() => map.shardIds().every((shard) => leaders(shard) === 1), 20_000, 'a leader in every shard');
}, 60_000);

afterAll(async () => {
  for (const server of extraFronts.splice(0)) await server.close();
  for (const host of hosts.splice(0)) {
    await host.http.close();
    await host.sharded.close();
    await host.engine.close();
  }
  await removeTempDirs();
});

describe('the sharded front with tokens', () => {
  let single: KvTestCluster;
  beforeAll(async () => {
    single = await startKvCluster(1, { tokens });
    await single.leader();
  });
  afterAll(() => single.close());

  it('refuses what the single-group service refuses, with the same status, body and WWW-Authenticate', async () => {
    const singleUrl = single.servers.get('n1')!.url;
    const refused: [string, string, string | null, unknown][] = [
      ['GET', '/kv/k', null, undefined],
      ['GET', '/kv/k', token(), undefined],
      ['PUT', '/kv/k', READ, { value: 'v' }],
      ['POST', '/kv/k/append', READ, { value: 'v' }],
      ['POST', '/kv/k/cas', READ, { expect: null, value: 'v' }],
      ['DELETE', '/kv/k', READ, undefined],
      ['GET', '/status', null, undefined],
      ['GET', '/metrics', token(), undefined],
    ];
    for (const [method, path, bearer, body] of refused) {
      const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
      const expected = await fetch(`${singleUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const expectedBody = await expected.json();
      expect([401, 403]).toContain(expected.status);
      for (const host of hosts) {
        const answer = await call(at(host, path), method, bearer, body);
        expect({ status: answer.status, body: answer.body }, `${method} ${path} on ${host.id}`).toEqual({ status: expected.status, body: expectedBody });
        expect(answer.headers['www-authenticate']).toBe(expected.headers.get('www-authenticate') ?? undefined);
      }
    }
    // /admin/hosts is the sharded analogue of /admin/members: the same refusal for a write token.
    const members = await fetch(`${singleUrl}/admin/members`, { method: 'POST', headers: { authorization: `Bearer ${WRITE}` }, body: JSON.stringify({ id: 'n9', address: '127.0.0.1:1' }) });
    const hostsAnswer = await call(at(hosts[0]!, '/admin/hosts'), 'POST', WRITE, { hosts: {} });
    expect({ status: hostsAnswer.status, body: hostsAnswer.body }).toEqual({ status: members.status, body: await members.json() });
    expect(hostsAnswer.status).toBe(403);
  });

  it('serves /status, /shards and /metrics to a read token, and to no one without a token; every refusal is counted', async () => {
    const host = hosts[1]!;
    const count = async (): Promise<number> => {
      const text = (await call(at(host, '/metrics'), 'GET', READ)).text;
      return [...text.matchAll(/^keel_http_auth_refusals_total\{reason="\w+"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const before = await count();
    for (const path of ['/status', '/shards', '/metrics']) {
      expect((await call(at(host, path), 'GET', READ)).status, path).toBe(200);
      expect((await call(at(host, path), 'GET', null)).status, path).toBe(401);
    }
    expect((await call(at(host, '/shards'), 'GET', READ)).body['host']).toBe(host.id);
    expect((await call(at(host, '/kv/k'), 'GET', `${READ.slice(0, -1)}0`)).status).toBe(401);
    expect(await count()).toBe(before + 4);
  });

  it('refuses POST /admin/hosts without the admin scope and moves nothing; an admin token is served', async () => {
    const host = hosts[0]!;
    const layout = (): unknown => hosts.map((h) => ({ hosts: h.sharded.shardMap.hosts(), replicas: [...h.sharded.localReplicas().keys()].sort(), peers: [...h.peerUrls] }));
    const before = layout();
    // A list without h3: served, it would move every replica off h3.
    const shrunk = { hosts: Object.fromEntries(hosts.slice(0, 2).map((h) => [h.id, { raft: h.raft, http: h.http.url.replace('https://', '') }])) };
    const refusals = [
      [null, 401, 'unauthorized'],
      [token(), 401, 'unauthorized'],
      [READ, 403, 'forbidden'],
      [WRITE, 403, 'forbidden'],
    ] as const;
    for (const [bearer, status, error] of refusals) {
      const answer = await call(at(host, '/admin/hosts'), 'POST', bearer, shrunk);
      expect(answer.status).toBe(status);
      expect(answer.body['error']).toBe(error);
      expect(answer.headers['connection']).toBe('close');
    }
    // The hop header grants nothing either.
    expect((await call(at(host, '/admin/hosts'), 'POST', WRITE, shrunk, { 'x-keel-proxied': 'h2' })).status).toBe(403);
    expect(layout()).toEqual(before);

    // The same list as now, with the admin token: served, and still nothing moves.
    const same = { hosts: Object.fromEntries(hosts.map((h) => [h.id, { raft: h.raft, http: h.http.url.replace('https://', '') }])) };
    const served = await call(at(host, '/admin/hosts'), 'POST', ADMIN, same);
    expect(served.status, served.text).toBe(200);
    expect(served.body['hosts']).toEqual(HOSTS);
    expect(layout()).toEqual(before);
    // The peers it was told stay on HTTPS, since this front's peers speak it.
    for (const url of host.peerUrls.values()) expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('proxying between HTTPS fronts', () => {
  it('passes a valid token\'s request on to a host holding the shard, over HTTPS, where it succeeds', async () => {
    const via = hosts[0]!;
    const key = keyNotOn(via, 'proxied');
    const shard = via.sharded.shardMap.shardOf(key);
    const proxiedBefore = await proxiedCount(via);

    const put = await call(at(via, `/kv/${key}`), 'PUT', WRITE, { value: 'over-https' });
    expect(put.status, put.text).toBe(200);
    expect(put.headers[SHARD_HEADER]).toBe(shard);
    const get = await call(at(via, `/kv/${key}`), 'GET', READ);
    expect(get).toMatchObject({ status: 200, body: { value: 'over-https' } });
    expect(await proxiedCount(via)).toBe(proxiedBefore + 2);
    await waitUntil(() => replicaValues(key).every((value) => value === 'over-https'), 10_000, 'every replica to apply the write');
    expect(replicaValues(key)).toHaveLength(2);
  });

  it('does not let a read token write through a proxy hop: refused before the hop, and again after it', async () => {
    const via = hosts[0]!;
    const key = keyNotOn(via, 'guarded');
    expect((await call(at(via, `/kv/${key}`), 'PUT', WRITE, { value: 'original' })).status).toBe(200);
    const proxiedBefore = await proxiedCount(via);

    // Refused by the first host, which does not pass it on.
    expect(await call(at(via, `/kv/${key}`), 'PUT', READ, { value: 'changed' })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(await proxiedCount(via)).toBe(proxiedBefore);

    // A first host that would let it through (its token file calls that token write) passes on the client's own token:
    // the host holding the shard checks it and refuses, and the refusal reaches the client.
    const lax = await extraFront(via, { tokens: HttpTokens.parse(`write ${READ}\n`), peerTls: { ca: cert } });
    const relayed = await call(`${lax}/kv/${key}`, 'PUT', READ, { value: 'changed' });
    expect(relayed).toMatchObject({ status: 403, body: { error: 'forbidden', message: 'this route needs a token with the write scope' } });
    // Sent straight to an owner, claiming to be proxied, a read token still cannot write.
    const owner = hosts.find((host) => host.sharded.replica(via.sharded.shardMap.shardOf(key)) !== undefined)!;
    expect((await call(at(owner, `/kv/${key}`), 'PUT', READ, { value: 'changed' }, { 'x-keel-proxied': via.id })).status).toBe(403);
    expect((await call(at(owner, `/kv/${key}`), 'PUT', null, { value: 'changed' }, { 'x-keel-proxied': via.id })).status).toBe(401);

    expect(await call(at(via, `/kv/${key}`), 'GET', READ)).toMatchObject({ status: 200, body: { value: 'original' } });
    expect(replicaValues(key).every((value) => value === 'original')).toBe(true);
  });

  it('checks the peers\' certificates: a front that does not trust their CA does not pass requests on', async () => {
    const via = hosts[0]!;
    const key = keyNotOn(via, 'untrusted');
    const untrusting = await extraFront(via, { tokens, peerTls: {} });
    const answer = await call(`${untrusting}/kv/${key}`, 'PUT', WRITE, { value: 'v' });
    expect(answer).toMatchObject({ status: 503, body: { error: 'shard_unavailable' } });
    expect(replicaValues(key).every((value) => value === null)).toBe(true);
    // Clients are held to the same: plain HTTP, or HTTPS without the CA, gets no answer from the API.
    await expect(fetch(at(via, '/status').replace('https:', 'http:'))).rejects.toThrow();
    await expect(fetch(at(via, '/status'))).rejects.toThrow();
  });
});
