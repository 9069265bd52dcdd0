/**
 * The pure core's own cost: a 3-node in-process cluster with in-memory
 * storage and no I/O, so the figure is the ceiling the consensus logic allows
 * before any disk or network. Each round proposes `batch` entries of 64 bytes
 * on the leader, then runs every Ready and delivers every message until the
 * cluster is quiet (all entries committed and applied on every node).
 */
import { CoreCluster } from '../src/testing/core-cluster.js';

export interface CoreBenchRow {
  readonly batch: number;
  readonly entries: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
}

const PAYLOAD = new Uint8Array(64).fill(7);

export async function benchCore(options: { quick: boolean; log: (line: string) => void }): Promise<CoreBenchRow[]> {
  const rows: CoreBenchRow[] = [];
  const target = options.quick ? 20_000 : 200_000;
  options.log('batch  entries   seconds  committed entries/s (3 nodes, in-memory, no invariant checks)');
  for (const batch of [1, 16, 256, 1024]) {
    // One entry per round costs a full Ready cycle per entry; fewer entries keep that row short.
    const entries = Math.min(target, batch * 20_000);
    const row = measureCore(batch, Math.max(batch, Math.floor(entries / batch) * batch));
    rows.push(row);
    options.log(`${String(batch).padStart(5)}  ${String(row.entries).padStart(7)}  ${row.seconds.toFixed(3).padStart(8)}  ${Math.round(row.entriesPerSecond).toLocaleString('en-US')}`);
  }
  return rows;
}

export function measureCore(batch: number, entries: number): CoreBenchRow {
  const cluster = new CoreCluster({ checkInvariants: false, raft: { maxInflightMsgs: 256, maxMsgBytes: 1 << 20, maxUncommittedBytes: 1 << 30 } });
  const leader = cluster.elect('n1');
  if (leader !== 'n1') throw new Error('benchmark cluster did not elect n1');
  const payloads = Array.from({ length: batch }, () => PAYLOAD);
  const started = performance.now();
  for (let done = 0; done < entries; done += batch) {
    cluster.propose('n1', payloads);
    cluster.stabilize();
  }
  const seconds = (performance.now() - started) / 1000;
  const committed = cluster.raw('n3').status().commitIndex - 1;
  if (committed !== entries) throw new Error(`expected ${entries} committed entries, found ${committed}`);
  return { batch, entries, seconds, entriesPerSecond: entries / seconds };
}
