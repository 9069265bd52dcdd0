/** A KV node cut off while the others move on (and compact their logs) catches up by snapshot. */
import { describe, expect, it } from 'vitest';
import { startKvCluster } from './cluster.js';

describe('KV store through snapshots', () => {
  it('brings a far-behind follower to the same state by installing a snapshot', async () => {
    const cluster = await startKvCluster(3, {}, { snapshotEntries: 10 });
    try {
      const leader = await cluster.leader();
      const [behind, other] = cluster.ids.filter((id) => id !== leader) as [string, string];
      cluster.network.isolate([behind], cluster.ids);
      const url = cluster.servers.get(leader)!.url;
      for (let i = 0; i < 40; i++) {
        const response = await fetch(`${url}/kv/key-${i % 7}/append`, { method: 'POST', body: JSON.stringify({ value: String(i) }) });
        expect(response.status).toBe(200);
      }
      const snapshots = () => fetch(`${cluster.servers.get(behind)!.url}/metrics`).then(async (r) => (await r.text()).match(/^keel_snapshots_total (\d+)$/m)?.[1]);
      expect(await snapshots()).toBe('0');
      cluster.network.heal();

      // A linearizable read on the follower waits until it has caught up.
      const read = await fetch(`${cluster.servers.get(behind)!.url}/kv/key-3`);
      expect(await read.json()).toEqual({ value: ['3', '10', '17', '24', '31', '38'].join('') });
      expect(Number(await snapshots())).toBeGreaterThanOrEqual(1);
      await fetch(`${cluster.servers.get(other)!.url}/kv/key-0`);
      expect(cluster.stores.get(behind)!.digest()).toBe(cluster.stores.get(leader)!.digest());
      expect(cluster.stores.get(other)!.digest()).toBe(cluster.stores.get(leader)!.digest());
    } finally {
      await cluster.close();
    }
  });
});
