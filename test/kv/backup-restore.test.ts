/**
 * `keel kv backup` and `keel kv restore`, run in this process through the
 * command line's own functions: a backup of a running cluster (tokens
 * required) seeds a fresh 3-node cluster of `keel kv` nodes (LevelDB, TCP on
 * loopback) that serves every key back; and every kind of bad input exits 2
 * with a clear message and writes nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePorts } from '../../bench/support/process-cluster.js';
import { runKv } from '../../cli/kv.js';
import { jsonLogger } from '../../cli/json-log.js';
import { startKvNode } from '../../cli/kv-node.js';
import type { RunningKvNode } from '../../cli/kv-node.js';
import { parseKvOptions } from '../../cli/kv-options.js';
import { SEED_FILE } from '../../cli/kv-restore.js';
import { HttpTokens } from '../../src/kv/http-auth.js';
import { startKvCluster } from './cluster.js';
import type { KvTestCluster } from './cluster.js';
import { loopbackCertificate } from './https-certificate.js';

const ADMIN = randomBytes(24).toString('hex');
const WRITER = randomBytes(24).toString('hex');
const KEYS = 60;

let dir: string;
let source: KvTestCluster;
let sourceUrl: string;
const tokenFile = (token: string): string => {
  const path = join(dir, `token-${token.slice(0, 8)}`);
  writeFileSync(path, `${token}\n`);
  return path;
};

/** Runs `keel kv ARGS` here, capturing what it prints. */
async function keelKv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await runKv(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function put(url: string, key: string, value: string, token: string): Promise<number> {
  const response = await fetch(`${url}/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: JSON.stringify({ value }), headers: { authorization: `Bearer ${token}` } });
  await response.text();
  return response.status;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-backup-'));
  source = await startKvCluster(3, { tokens: HttpTokens.parse(`admin ${ADMIN}\nwrite ${WRITER}\n`) });
  const leader = await source.leader();
  sourceUrl = source.servers.get(leader)!.url;
  for (let i = 0; i < KEYS; i++) expect(await put(source.servers.get(source.ids[i % 3]!)!.url, `key/${i}`, `value ${i} ${'x'.repeat(i)}`, WRITER)).toBe(200);
});

afterAll(async () => {
  await source.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('keel kv backup and restore', () => {
  it('restores a backup into a fresh 3-node cluster that serves every key and takes new writes', async () => {
    const file = join(dir, 'cluster.keelbackup');
    const backup = await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(ADMIN));
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(new RegExp(`^backed up ${KEYS} keys at applied index \\d+ from node n\\d`));

    const ids = ['r1', 'r2', 'r3'];
    const ports = await freePorts(6);
    const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    for (const id of ids) {
      const restored = await keelKv('restore', '--from', file, '--data', join(dir, id));
      expect(restored.code).toBe(0);
      expect(readdirSync(join(dir, id))).toEqual([SEED_FILE]);
    }
    const silent = jsonLogger('error', {}, { write: () => undefined });
    const nodes: RunningKvNode[] = [];
    try {
      for (const [i, id] of ids.entries()) {
        const options = parseKvOptions(['--id', id, '--peers', peers, '--http', `127.0.0.1:${ports[3 + i]}`, '--data', join(dir, id), '--insecure', '--tick-ms', '20']);
        if (options === 'help') throw new Error('unexpected help');
        nodes.push(await startKvNode(options, silent));
      }
      for (const id of ids) expect(existsSync(join(dir, id, SEED_FILE))).toBe(false);
      for (const running of nodes) {
        for (let i = 0; i < KEYS; i++) {
          const response = await fetch(`${running.http.url}/kv/${encodeURIComponent(`key/${i}`)}`);
          expect(response.status).toBe(200);
          expect(await response.json()).toEqual({ value: `value ${i} ${'x'.repeat(i)}` });
        }
      }
      // The restored cluster goes on from the backup: a new write, read back linearizably everywhere.
      expect(await put(nodes[1]!.http.url, 'after', 'restore', 'no token needed on this loopback cluster')).toBe(200);
      for (const running of nodes) expect(await (await fetch(`${running.http.url}/kv/after`)).json()).toEqual({ value: 'restore' });
      expect(new Set(nodes.map((running) => running.store.digest())).size).toBe(1);
      expect(nodes[0]!.store.size).toBe(KEYS + 1);
      expect(nodes[0]!.node.status().appliedIndex).toBeGreaterThan(KEYS);
    } finally {
      for (const running of nodes) await running.close();
    }
  });

  it('backup: a node that is down exits 2 and creates no file', async () => {
    const [port] = await freePorts(1);
    const file = join(dir, 'down.keelbackup');
    const result = await keelKv('backup', '--node', `http://127.0.0.1:${port}`, '--to', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot reach the node at http:\/\/127\.0\.0\.1:\d+: .*\(is it running\?\)/);
    expect(readdirSync(dir).filter((name) => name.startsWith('down.keelbackup'))).toEqual([]);
  });

  it('backup: a node that is not a member of a cluster exits 2', async () => {
    await source.join('n4');
    const file = join(dir, 'outsider.keelbackup');
    const result = await keelKv('backup', '--node', source.servers.get('n4')!.url, '--to', file, '--token-file', tokenFile(ADMIN));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/node n4 at .* is not a member of its cluster/);
    expect(existsSync(file)).toBe(false);
  });

  it('backup: no token, or a token without the admin scope, exits 2 naming the refusal', async () => {
    const file = join(dir, 'refused.keelbackup');
    const none = await keelKv('backup', '--node', sourceUrl, '--to', file);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/\(401: .*\): give --token-file with a token of the admin scope/);
    const weak = await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(WRITER));
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/\(403: .*the token needs the admin scope/);
    expect(existsSync(file)).toBe(false);
  });

  it('backup: an existing file is not overwritten', async () => {
    const file = join(dir, 'existing.keelbackup');
    writeFileSync(file, 'precious');
    const result = await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(ADMIN));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the file exists; nothing was overwritten/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    expect(readdirSync(dir).filter((name) => name.startsWith('existing.keelbackup.partial'))).toEqual([]);
  });

  it('restore: into a directory that is not empty exits 2 and leaves it as it was', async () => {
    const file = join(dir, 'for-restore.keelbackup');
    expect((await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(ADMIN))).code).toBe(0);
    const data = join(dir, 'busy');
    mkdirSync(data);
    writeFileSync(join(data, 'something'), 'keep me');
    const result = await keelKv('restore', '--from', file, '--data', data);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--data .*busy is not empty .*nothing was written/);
    expect(readdirSync(data)).toEqual(['something']);
    expect(readFileSync(join(data, 'something'), 'utf8')).toBe('keep me');
  });

  it('restore: a truncated, damaged or missing backup exits 2 and creates no directory', async () => {
    const file = join(dir, 'good.keelbackup');
    expect((await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(ADMIN))).code).toBe(0);
    const bytes = readFileSync(file);
    const truncated = join(dir, 'truncated.keelbackup');
    writeFileSync(truncated, bytes.subarray(0, bytes.byteLength - 100));
    const damaged = join(dir, 'damaged.keelbackup');
    const flipped = Buffer.from(bytes);
    const middle = Math.floor(flipped.byteLength / 2);
    flipped[middle] = flipped[middle]! ^ 0x40;
    writeFileSync(damaged, flipped);
    for (const [from, message] of [[truncated, /is not a usable backup: the checksum does not match/], [damaged, /is not a usable backup: the checksum does not match/], [join(dir, 'missing'), /--from: cannot read/]] as const) {
      const data = join(dir, `never-${from.length}`);
      const result = await keelKv('restore', '--from', from, '--data', data);
      expect(result.code, from).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(existsSync(data)).toBe(false);
    }
  });

  it('backup and restore print their usage with --help, and a missing option exits 2 naming it', async () => {
    expect(await keelKv('backup', '--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: keel kv backup --node URL --to FILE/) });
    expect(await keelKv('restore', '--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: keel kv restore --from FILE --data DIR/) });
    expect(await keelKv('backup', '--to', join(dir, 'x'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/^keel: --node is required/) });
    expect(await keelKv('backup', '--node', 'ftp://host', '--to', join(dir, 'x'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/--node must be an http:\/\/ or https:\/\/ URL/) });
    expect(await keelKv('restore', '--from', join(dir, 'x'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/^keel: --data is required/) });
  });

  it('restore: an existing empty directory is fine; a second restore into it is refused', async () => {
    const file = join(dir, 'again.keelbackup');
    expect((await keelKv('backup', '--node', sourceUrl, '--to', file, '--token-file', tokenFile(ADMIN))).code).toBe(0);
    const data = join(dir, 'empty');
    mkdirSync(data);
    expect((await keelKv('restore', '--from', file, '--data', data)).code).toBe(0);
    const seeded = readFileSync(join(data, SEED_FILE));
    expect(seeded.equals(readFileSync(file))).toBe(true);
    expect((await keelKv('restore', '--from', file, '--data', data)).code).toBe(2);
    expect(readdirSync(data)).toEqual([SEED_FILE]);
  });

  it('backs up a keel kv node that serves HTTPS and wants tokens, given its CA and an admin token', async () => {
    const { cert, key } = loopbackCertificate();
    const certFile = join(dir, 'https.crt');
    const keyFile = join(dir, 'https.key');
    writeFileSync(certFile, cert);
    writeFileSync(keyFile, key);
    const tokensFile = join(dir, 'https-tokens');
    writeFileSync(tokensFile, `admin ${ADMIN}\nwrite ${WRITER}\n`);
    const [peerPort, httpPort] = await freePorts(2);
    const options = parseKvOptions(['--id', 'solo', '--peers', `solo=127.0.0.1:${peerPort}`, '--http', `127.0.0.1:${httpPort}`, '--data', join(dir, 'https-node'), '--insecure',
      '--http-tls-cert', certFile, '--http-tls-key', keyFile, '--http-tokens', tokensFile, '--tick-ms', '20']);
    if (options === 'help') throw new Error('unexpected help');
    const running = await startKvNode(options, jsonLogger('error', {}, { write: () => undefined }));
    try {
      expect(running.http.url).toBe(`https://127.0.0.1:${httpPort}`);
      for (let wait = 0; wait < 1500 && running.node.status().leader === null; wait++) await new Promise((resolve) => setTimeout(resolve, 20));
      const file = join(dir, 'https.keelbackup');
      const untrusted = await keelKv('backup', '--node', running.http.url, '--to', file, '--token-file', tokenFile(ADMIN));
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(/cannot reach the node at https:\/\/127\.0\.0\.1:\d+: .*certificate/i);
      const result = await keelKv('backup', '--node', running.http.url, '--to', file, '--token-file', tokenFile(ADMIN), '--ca', certFile);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^backed up 0 keys at applied index \d+ from node solo/);
    } finally {
      await running.close();
    }
  });
});
