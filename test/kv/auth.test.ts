/**
 * The HTTP API is not open to anyone who reaches it: bearer tokens with
 * read, write and admin scopes, and HTTPS. Every refusal (no token, a wrong
 * one, one without the route's scope) answers 401 or 403, changes nothing,
 * and is counted in /metrics. Servers bind 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { HttpTokens, MIN_TOKEN_CHARS } from '../../src/kv/http-auth.js';
import { KvHttpServer } from '../../src/kv/service.js';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';
import { loopbackCertificate } from './https-certificate.js';

const token = (): string => randomBytes(20).toString('hex');
const READ = token();
const WRITE = token();
const ADMIN = token();
const TOKENS = `# scope token\nread ${READ}\nwrite  ${WRITE}\n\nadmin ${ADMIN}\n`;

describe('HttpTokens', () => {
  const tokens = HttpTokens.parse(TOKENS);

  it('grants each scope what it includes: admin > write > read', () => {
    expect(tokens.size).toBe(3);
    const grants = (presented: string) => (['read', 'write', 'admin'] as const).map((needed) => tokens.authorize(`Bearer ${presented}`, needed));
    expect(grants(READ)).toEqual([null, 'scope', 'scope']);
    expect(grants(WRITE)).toEqual([null, null, 'scope']);
    expect(grants(ADMIN)).toEqual([null, null, null]);
  });

  it('tells a missing token (no header, another scheme) from an invalid one (unknown, a prefix, one character off)', () => {
    expect(tokens.authorize(undefined, 'read')).toBe('missing');
    expect(tokens.authorize(`Basic ${READ}`, 'read')).toBe('missing');
    expect(tokens.authorize('Bearer ', 'read')).toBe('missing');
    expect(tokens.authorize(`Bearer ${token()}`, 'read')).toBe('invalid');
    expect(tokens.authorize(`Bearer ${READ.slice(0, -1)}`, 'read')).toBe('invalid');
    expect(tokens.authorize(`Bearer ${READ}x`, 'read')).toBe('invalid');
    expect(tokens.authorize(`bearer ${READ}`, 'read')).toBeNull();
  });

  it('refuses a file with an unknown scope, a short or repeated token, a malformed line, or no tokens, naming the line', () => {
    const refusal = (text: string) => {
      try {
        HttpTokens.parse(text);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal(`superuser ${READ}`)).toMatch(/line 1: unknown scope 'superuser'/);
    expect(refusal(`read ${READ}\nread short`)).toMatch(new RegExp(`line 2: the token has 5 characters; at least ${MIN_TOKEN_CHARS}`));
    expect(refusal(`read ${READ}\nadmin ${READ}`)).toMatch(/line 2: the token is listed twice/);
    expect(refusal(`read ${READ} extra`)).toMatch(/line 1: expected "SCOPE TOKEN"/);
    expect(refusal('# nothing\n\n')).toMatch(/no tokens/);
  });
});

describe('KV HTTP API with tokens', () => {
  let cluster: KvTestCluster;
  let url: string;
  let leader: string;
  beforeAll(async () => {
    cluster = await startKvCluster(3, { tokens: HttpTokens.parse(TOKENS) });
    leader = await cluster.leader();
    url = cluster.servers.get(leader)!.url;
  });
  afterAll(() => cluster.close());

  async function call(method: string, path: string, bearer: string | null, body?: unknown) {
    const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
    const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  }

  async function refusals(): Promise<Record<string, number>> {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${READ}` } })).text();
    const counts: Record<string, number> = { missing: 0, invalid: 0, scope: 0 };
    for (const match of text.matchAll(/^keel_http_auth_refusals_total\{reason="(\w+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
    return counts;
  }

  it('serves each scope what it may do', async () => {
    expect((await call('PUT', '/kv/shared', WRITE, { value: 'one' })).status).toBe(200);
    expect(await call('GET', '/kv/shared', READ)).toMatchObject({ status: 200, body: { value: 'one' } });
    expect((await call('GET', '/status', READ)).status).toBe(200);
    expect((await call('POST', '/sessions', WRITE)).status).toBe(201);
    expect((await call('PUT', '/kv/shared', ADMIN, { value: 'two' })).status).toBe(200);
  });

  it('answers 401 without a token and with a wrong one, 403 with a weaker scope; nothing changes, every refusal is counted', async () => {
    expect((await call('PUT', '/kv/guarded', WRITE, { value: 'original' })).status).toBe(200);
    const before = await refusals();
    const members = cluster.nodes.get(leader)!.status().members;

    const missing = await call('PUT', '/kv/guarded', null, { value: 'changed' });
    expect(missing).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="keel"');
    const wrong = await call('GET', '/kv/guarded', token());
    expect(wrong).toMatchObject({ status: 401, body: { error: 'unauthorized', message: 'the token is not valid' } });
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await call('PUT', '/kv/guarded', READ, { value: 'changed' })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await call('POST', '/kv/guarded/append', READ, { value: '!' })).status).toBe(403);
    expect((await call('DELETE', '/kv/guarded', READ)).status).toBe(403);
    expect((await call('POST', '/admin/members', WRITE, { id: 'n9', address: '127.0.0.1:1' })).status).toBe(403);
    expect((await call('DELETE', `/admin/members/${cluster.ids.find((id) => id !== leader)!}`, WRITE)).status).toBe(403);
    expect((await call('POST', '/admin/members', null, { id: 'n9', address: '127.0.0.1:1' })).status).toBe(401);
    expect((await call('GET', '/admin/backup', WRITE)).status).toBe(403);
    expect((await call('GET', '/metrics', null)).status).toBe(401);

    expect(await call('GET', '/kv/guarded', READ)).toMatchObject({ status: 200, body: { value: 'original' } });
    expect(cluster.nodes.get(leader)!.status().members).toEqual(members);
    for (const store of cluster.stores.values()) expect(store.get('guarded')).toBe('original');
    const after = await refusals();
    expect(after['missing']! - before['missing']!).toBe(3);
    expect(after['invalid']! - before['invalid']!).toBe(1);
    expect(after['scope']! - before['scope']!).toBe(6);
  });

  it('does not read the body of a refused request, and closes the connection', async () => {
    const response = await fetch(`${url}/kv/big`, { method: 'PUT', body: JSON.stringify({ value: 'x'.repeat(512 * 1024) }) });
    expect(response.status).toBe(401);
    expect(response.headers.get('connection')).toBe('close');
    await response.text();
    for (const store of cluster.stores.values()) expect(store.get('big')).toBeNull();
  });
});

describe('KV HTTP API over HTTPS', () => {
  it('serves HTTPS with the given certificate, and a token is still required', async () => {
    const cluster = await startKvCluster(1);
    const { cert, key } = loopbackCertificate();
    const node = cluster.nodes.get('n1')!;
    const server = await KvHttpServer.start({ node, store: cluster.stores.get('n1')!, tokens: HttpTokens.parse(TOKENS) }, { host: '127.0.0.1', port: 0, tls: { cert, key } });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const get = (path: string, bearer: string | null) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const headers: Record<string, string> = bearer === null ? {} : { authorization: `Bearer ${bearer}` };
          request(`${server.url}${path}`, { ca: cert, headers }, (response) => {
            let body = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode!, body }));
          }).on('error', reject).end();
        });
      await cluster.leader();
      expect((await get('/status', READ)).status).toBe(200);
      expect((await get('/status', null)).status).toBe(401);
      // Plain HTTP to the HTTPS port gets no answer from the API.
      await expect(fetch(`${server.url.replace('https:', 'http:')}/status`)).rejects.toThrow();
      // A client that does not trust the certificate does not talk to the API.
      await expect(fetch(`${server.url}/status`)).rejects.toThrow();
    } finally {
      await server.close();
      await cluster.close();
    }
  });
});
