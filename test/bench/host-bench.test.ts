/**
 * Smoke test of `keel bench --only host`: the benchmark's quick mode at tiny
 * sizes runs its three host processes (compiled, from dist/) end to end and
 * prints its tables with figures. No timing is asserted: only that every
 * figure was measured and is a finite number, and the counts it must hold.
 */
import { describe, expect, test } from 'vitest';
import { benchHost, splitClients } from '../../bench/host.js';

describe('keel bench --only host', () => {
  test('quick mode with 1 and 2 groups prints the throughput lines and one table row per size, quiescence on and off, all with numbers', async () => {
    const lines: string[] = [];
    const result = await benchHost({ quick: true, log: (line) => lines.push(line), groupCounts: [1, 2], idleWindowMs: 300, loadGroups: 3, clients: 4, loadMs: 300, loadRounds: 1 });
    console.log(lines.join('\n'));

    const throughput = result.throughput;
    expect(throughput).toMatchObject({ clients: 4, groups: 3 });
    for (const value of [throughput.oneGroupOpsPerSecond, throughput.spreadOpsPerSecond, throughput.oneGroupCpuMsPerOp, throughput.spreadCpuMsPerOp]) {
      expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    expect(lines.some((line) => /^ {2}1 group: [\d,]+ ops\/s/.test(line))).toBe(true);
    expect(lines.some((line) => /^ {2}3 groups, led \d\/\d\/\d by the three hosts: [\d,]+ ops\/s/.test(line))).toBe(true);
    // Balanced to one each when every transfer succeeds; a transfer may time out on a loaded machine.
    expect(throughput.leadersPerHost.reduce((sum, led) => sum + led, 0)).toBe(3);
    expect(lines.some((line) => /spread \/ one group: \d+\.\d+×/.test(line))).toBe(true);
    // Every operation costs turns and messages; the bounds line is printed from the lone operation's latency.
    for (const value of [throughput.oneGroupTurnsPerOp, throughput.spreadTurnsPerOp, throughput.oneGroupMessagesPerOp, throughput.spreadMessagesPerOp, throughput.loneOpMs]) {
      expect(Number.isFinite(value) && value > 0).toBe(true);
    }
    expect(throughput.cores).toBeGreaterThanOrEqual(1);
    expect(lines.some((line) => /bounds: a lone operation takes \d+\.\d+ ms/.test(line))).toBe(true);

    // The sizes twice: quiescence on (the default), then off.
    expect(result.rows.map((row) => [row.groups, row.quiescence])).toEqual([[1, true], [2, true], [1, false], [2, false]]);
    for (const row of result.rows) {
      for (const value of Object.values(row)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
      expect(row.openMs).toBeGreaterThan(0);
      expect(row.startToLeadersMs).toBeGreaterThanOrEqual(row.startToOpenMs);
      expect(row.idleTicksPerSecond).toBeGreaterThan(0);
      expect(row.quiescedPercent).toBeGreaterThanOrEqual(0);
      expect(row.quiescedPercent).toBeLessThanOrEqual(100);
      // Without quiescence idle groups still heartbeat: each peer host got group batches every tick or so.
      if (!row.quiescence) {
        expect(row.quiescedPercent).toBe(0);
        expect(row.batchesPerTickPerPeer).toBeGreaterThan(0);
      }
    }
    const headers = lines.flatMap((line, i) => (line.trim().startsWith('groups  create s') ? [i] : []));
    expect(headers).toHaveLength(2);
    for (const header of headers) {
      const tableRows = lines.slice(header + 1, header + 3);
      expect(tableRows.map((line) => Number(line.trim().split(/\s+/)[0]))).toEqual([1, 2]);
      for (const line of tableRows) expect(line.trim().split(/\s+/).every((cell) => /^\(?-?[\d,.]+\)?$/.test(cell))).toBe(true);
    }
  });

  test('splitClients places every client, in proportion to the groups each host leads, none on a host that leads none', () => {
    expect(splitClients(64, [0, 1, 0])).toEqual([0, 64, 0]);
    expect(splitClients(64, [34, 33, 33])).toEqual([22, 21, 21]);
    expect(splitClients(4, [1, 1, 1])).toEqual([2, 1, 1]);
    expect(splitClients(5, [0, 0, 0])).toEqual([0, 0, 0]);
    for (const weights of [[1, 2, 3], [100, 0, 1], [7, 7, 7]]) {
      const shares = splitClients(64, weights);
      expect(shares.reduce((sum, share) => sum + share, 0)).toBe(64);
      shares.forEach((share, i) => {
        if (weights[i] === 0) expect(share).toBe(0);
      });
    }
  });
});
