/** `keel kv` processes with mutual TLS, and a data directory that another process holds. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ProcessCluster } from '../../bench/support/process-cluster.js';
import { createTestPki } from '../transport/test-certificates.js';

/**
 * Polls `probe` until it answers (not null), for at most 90 s: generous, so that a loaded machine slows the test rather than failing it.
 * Fails at once, with the node's log, when a process of `cluster` has exited by itself: waiting longer would be pointless.
 */
async function until<T>(cluster: ProcessCluster, what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (cluster.unexpectedExits().length > 0) throw new Error(`a node exited while waiting for ${what}:\n${await cluster.exitReport()}`);
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** fetch with a deadline, so that one stuck request cannot hold the test. */
function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

describe('keel kv processes', () => {
  it('form a cluster over mutual TLS, serve writes and reads on every node, and refuse a second process on a data directory', async () => {
    const pki = createTestPki(['n1', 'n2', 'n3']);
    const cluster = await ProcessCluster.start({ size: 3, tls: pki, args: ['--tick-ms', '50'] });
    try {
      const [n1, n2, n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
      await until(cluster, 'a leader', async () => ((await (await get(`${n1.url}/status`)).json()) as { leader: string | null }).leader);
      const put = await until(cluster, 'a write', async () => {
        const response = await get(`${n2.url}/kv/secure`, { method: 'PUT', body: '{"value":"over TLS"}' });
        return response.status === 200 ? response : null;
      });
      expect(await put.json()).toEqual({ ok: true });
      expect(await (await get(`${n3.url}/kv/secure`)).json()).toEqual({ value: 'over TLS' });
      expect(await (await get(`${n1.url}/kv/secure`)).json()).toEqual({ value: 'over TLS' });

      // The same node again, on the same data directory, while the first one runs.
      const second = spawnSync(process.execPath, cluster.command('n1'), { encoding: 'utf8', timeout: 60_000 });
      expect(second.status).toBe(2);
      expect(second.stderr).toMatch(/cannot use the log: .*locked|in use/i);
    } finally {
      const codes = await cluster.stop();
      const report = await cluster.exitReport();
      await cluster.remove();
      expect(codes, report).toEqual([0, 0, 0]);
    }
  }, 300_000);
});
