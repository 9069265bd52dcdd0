import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../cli/args.js';
import { isLoopback, KV_HELP, parseKvOptions } from '../../cli/kv-options.js';
import { loopbackCertificate } from '../kv/https-certificate.js';

/** The message of the UsageError `args` are refused with; fails the test if they are accepted. */
function refusal(args: readonly string[]): string {
  try {
    parseKvOptions(args);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

const base = ['--id', 'n4', '--peers', 'n1=127.0.0.1:7001,n4=127.0.0.1:7004', '--http', '127.0.0.1:8004', '--data', '/tmp/keel-n4', '--insecure'];

describe('keel kv options', () => {
  test('--join starts a node that waits to be added; without it, --peers are the voters of a new cluster', () => {
    expect(parseKvOptions([...base, '--join'])).toMatchObject({ id: 'n4', join: true });
    expect(parseKvOptions(base)).toMatchObject({ id: 'n4', join: false });
  });
});

describe('keel kv options: the HTTP API off loopback needs HTTPS and tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-kv-options-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = loopbackCertificate();
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const tls = ['--http-tls-cert', file('cert.pem', cert), '--http-tls-key', file('key.pem', key)];
  const tokens = ['--http-tokens', file('tokens', `admin ${'a'.repeat(40)}\nread ${'r'.repeat(40)}\n`)];
  const withHttp = (http: string, ...extra: string[]) => [...base.map((arg) => (arg === '127.0.0.1:8004' ? http : arg)), ...extra];

  test('refuses a non-loopback address without HTTPS and tokens, or with only one of them', () => {
    for (const args of [withHttp('0.0.0.0:8004'), withHttp('10.1.2.3:8004', ...tls), withHttp('[::]:8004', ...tokens), withHttp('db.example:8004', ...tokens)]) {
      expect(refusal(args)).toMatch(/is not a loopback address, so clients must use HTTPS and a bearer token: give --http-tls-cert, --http-tls-key and --http-tokens \(or --insecure-http/);
    }
  });

  test('serves a non-loopback address with HTTPS and tokens, or with --insecure-http', () => {
    const secured = parseKvOptions(withHttp('0.0.0.0:8004', ...tls, ...tokens));
    expect(secured).toMatchObject({ http: { host: '0.0.0.0', port: 8004 } });
    if (secured === 'help') throw new Error('help');
    expect(secured.httpSecurity.tls).not.toBeNull();
    expect(secured.httpSecurity.tokens?.size).toBe(2);
    const open = parseKvOptions(withHttp('0.0.0.0:8004', '--insecure-http'));
    expect(open).toMatchObject({ httpSecurity: { tls: null, tokens: null } });
  });

  test('on loopback HTTPS and tokens are optional, each on its own', () => {
    expect(parseKvOptions(base)).toMatchObject({ httpSecurity: { tls: null, tokens: null } });
    expect(parseKvOptions([...base, ...tokens])).toMatchObject({ httpSecurity: { tls: null } });
    expect(parseKvOptions([...base, ...tls])).toMatchObject({ httpSecurity: { tokens: null } });
  });

  test('refuses a certificate without its key, an unusable certificate, and a bad tokens file', () => {
    expect(refusal([...base, tls[0]!, tls[1]!])).toMatch(/HTTPS needs both --http-tls-cert and --http-tls-key/);
    expect(refusal([...base, '--http-tls-cert', file('junk.pem', 'not a certificate'), '--http-tls-key', tls[3]!])).toMatch(/not a usable certificate and key/);
    expect(refusal([...base, '--http-tokens', file('bad-tokens', 'root abc\n')])).toMatch(/--http-tokens .*bad-tokens: line 1: unknown scope 'root'/);
    expect(refusal([...base, '--http-tokens', join(dir, 'absent')])).toMatch(/--http-tokens: cannot read/);
  });

  test('knows which addresses are loopback', () => {
    expect(['127.0.0.1', '127.8.9.10', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '127.0.0.1.example.com'].some(isLoopback)).toBe(false);
  });
});

describe('keel kv --shards', () => {
  const three = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003', '--http', '127.0.0.1:8001', '--data', '/tmp/keel-n1', '--insecure'];
  const httpPeers = ['--http-peers', 'n1=127.0.0.1:8001,n2=127.0.0.1:8002,n3=127.0.0.1:8003'];

  test('makes the node a host of a sharded cluster, with replicas defaulting to three', () => {
    const options = parseKvOptions([...three, '--shards', '16', ...httpPeers]);
    expect(options).not.toBe('help');
    if (options === 'help') return;
    expect(options.sharding?.shards).toBe(16);
    expect(options.sharding?.replicas).toBe(3);
    expect([...options.sharding!.httpPeers.keys()]).toEqual(['n1', 'n2', 'n3']);
    expect((parseKvOptions(three) as { sharding: unknown }).sharding).toBeNull();
  });

  test.each([
    [['--shards', '0'], /--shards/],
    [['--shards', '4', '--replicas', '4'], /--replicas/],
    [['--replicas', '2'], /need --shards/],
    [['--shards', '4', '--replicas', '2', '--http-peers', 'n1=127.0.0.1:8001'], /--http-peers has no entry for 'n2'/],
    [['--shards', '4', '--http-peers', 'n9=127.0.0.1:8009'], /not in --peers/],
    [['--http-ca', '/dev/null'], /need --shards/],
  ])('refuses %j', (extra, message) => {
    expect(() => parseKvOptions([...three, ...extra])).toThrow(message);
  });
});

describe('keel kv --shards: HTTPS and tokens as without --shards', () => {
  const three = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003', '--http', '127.0.0.1:8001', '--data', '/tmp/keel-n1', '--insecure'];
  const httpPeers = ['--http-peers', 'n1=127.0.0.1:8001,n2=127.0.0.1:8002,n3=127.0.0.1:8003'];
  const sharded = [...three, '--shards', '4', ...httpPeers];
  const dir = mkdtempSync(join(tmpdir(), 'keel-kv-sharded-options-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = loopbackCertificate();
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const tls = ['--http-tls-cert', file('cert.pem', cert), '--http-tls-key', file('key.pem', key)];
  const tokens = ['--http-tokens', file('tokens', `admin ${'a'.repeat(40)}\nread ${'r'.repeat(40)}\n`)];
  const ca = ['--http-ca', file('ca.pem', cert)];
  const offLoopback = (...extra: string[]) => [...sharded.map((arg) => (arg === '127.0.0.1:8001' ? '0.0.0.0:8001' : arg)), ...extra];

  test('takes --http-tls-cert/--http-tls-key, --http-tokens and --http-ca, the CA its peers\' certificates are checked against', () => {
    const options = parseKvOptions([...sharded, ...tls, ...tokens, ...ca]);
    if (options === 'help') throw new Error('help');
    expect(options.httpSecurity.tls).not.toBeNull();
    expect(options.httpSecurity.tokens?.size).toBe(2);
    expect(options.sharding?.httpCa?.toString('utf8')).toBe(cert);
    const systemCas = parseKvOptions([...sharded, ...tls]);
    expect(systemCas).toMatchObject({ sharding: { httpCa: null }, httpSecurity: { tokens: null } });
    expect(parseKvOptions([...sharded, ...tokens])).toMatchObject({ sharding: { httpCa: null }, httpSecurity: { tls: null } });
  });

  test('refuses a non-loopback address without HTTPS and tokens, as without --shards, unless --insecure-http', () => {
    for (const args of [offLoopback(), offLoopback(...tls), offLoopback(...tokens)]) {
      expect(refusal(args)).toMatch(/is not a loopback address, so clients must use HTTPS and a bearer token/);
    }
    expect(parseKvOptions(offLoopback(...tls, ...tokens, ...ca))).toMatchObject({ http: { host: '0.0.0.0' } });
    expect(parseKvOptions(offLoopback('--insecure-http'))).toMatchObject({ httpSecurity: { tls: null, tokens: null } });
  });

  test('refuses --http-ca without HTTPS, without --shards, or holding no certificate; and a bad tokens file', () => {
    expect(refusal([...sharded, ...ca])).toMatch(/--http-ca is the CA of the other nodes' HTTPS certificates: it needs --http-tls-cert and --http-tls-key/);
    expect(refusal([...sharded, ...tokens, ...ca])).toMatch(/--http-ca .* needs --http-tls-cert/);
    expect(refusal([...three, ...tls, ...ca])).toMatch(/--replicas, --http-peers and --http-ca need --shards/);
    expect(refusal([...sharded, ...tls, '--http-ca', file('junk-ca.pem', 'not a certificate')])).toMatch(/--http-ca .*junk-ca\.pem: not a usable CA certificate/);
    expect(refusal([...sharded, ...tls, '--http-ca', join(dir, 'absent.pem')])).toMatch(/--http-ca: cannot read/);
    expect(refusal([...sharded, '--http-tokens', file('bad-tokens', 'root abc\n')])).toMatch(/line 1: unknown scope 'root'/);
    expect(refusal([...sharded, tls[0]!, tls[1]!])).toMatch(/HTTPS needs both --http-tls-cert and --http-tls-key/);
  });

  test('--help describes the flags with --shards', () => {
    expect(KV_HELP).toContain('--http-ca PATH');
    expect(KV_HELP).toMatch(/With --shards, --http-tls-cert\/--http-tls-key, --http-tokens and --insecure-http\s+work as without it/);
  });
});
