/**
 * Seeding a new cluster from a backup: the backup becomes each member's
 * first snapshot (the backup's applied index, term 1, the new voters), which
 * a node opens from like any snapshot; a damaged backup writes nothing; and
 * `keel kv`'s start-up handles a seed exactly once.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/args.js';
import { jsonLogger } from '../../cli/json-log.js';
import { parseKvOptions } from '../../cli/kv-options.js';
import type { KvCommandOptions } from '../../cli/kv-options.js';
import { SEED_FILE, seedIfRestored } from '../../cli/kv-restore.js';
import { CorruptionError, InvalidArgumentError } from '../../src/errors.js';
import { backupStream } from '../../src/kv/backup-format.js';
import { SEED_TERM, seedFromBackup } from '../../src/kv/backup-seed.js';
import { encodeKvCommand } from '../../src/kv/commands.js';
import type { KvResult } from '../../src/kv/commands.js';
import { KvStore } from '../../src/kv/store.js';
import { RaftNode } from '../../src/node/raft-node.js';
import { MemorySnapshotStore } from '../../src/storage/memory-snapshot-store.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { LocalNetwork } from '../../src/transport/local-network.js';
import { VirtualClock } from '../../src/util/clock.js';

const APPLIED = 500;

async function backupOf(pairs: Record<string, string>): Promise<Buffer> {
  const store = new KvStore();
  Object.entries(pairs).forEach(([key, value], i) => store.apply({ index: i + 1, term: 3, command: encodeKvCommand({ op: 'put', key, value }) }));
  const chunks: Uint8Array[] = [];
  const header = { format: 1, appliedIndex: APPLIED, keys: store.size, node: 'old-1', createdAt: new Date(0).toISOString() } as const;
  for await (const chunk of backupStream(header, store.capture().chunks())) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const reader = (bytes: Buffer) => async function* (): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += 100) yield bytes.subarray(at, at + 100);
};

describe('seedFromBackup', () => {
  it('writes the backup as the snapshot a new node opens from, then the log goes on after it', async () => {
    const snapshots = new MemorySnapshotStore();
    const header = await seedFromBackup(reader(await backupOf({ a: '1', b: '2' })), snapshots, ['solo']);
    expect(header.appliedIndex).toBe(APPLIED);
    expect(snapshots.latest()).toEqual({ index: APPLIED, term: SEED_TERM, membership: { voters: ['solo'] } });

    const clock = new VirtualClock();
    const store = new KvStore();
    const node = await RaftNode.open<KvResult>({ id: 'solo', members: ['solo'], storage: new MemoryStorage(), snapshots, transport: new LocalNetwork(clock).transport('solo'), stateMachine: store, clock });
    try {
      expect(store.get('a')).toBe('1');
      expect(store.get('b')).toBe('2');
      expect(node.status().appliedIndex).toBe(APPLIED);
      for (let i = 0; i < 100 && node.status().role !== 'leader'; i++) await clock.advance(100);
      const wrote = node.propose(encodeKvCommand({ op: 'put', key: 'c', value: '3' }));
      for (let i = 0; i < 20; i++) await clock.advance(10);
      await wrote;
      expect(store.get('c')).toBe('3');
      expect(node.status().appliedIndex).toBeGreaterThan(APPLIED);
    } finally {
      await node.close();
    }
  });

  it('writes nothing from a damaged backup, and refuses a store that holds a snapshot or no voters', async () => {
    const bytes = await backupOf({ a: '1' });
    const damaged = Buffer.from(bytes);
    damaged[damaged.byteLength - 50] = damaged[damaged.byteLength - 50]! ^ 1;
    const snapshots = new MemorySnapshotStore();
    await expect(seedFromBackup(reader(damaged), snapshots, ['a'])).rejects.toThrow(CorruptionError);
    expect(snapshots.latest()).toBeNull();
    await expect(seedFromBackup(reader(bytes), snapshots, [])).rejects.toThrow(InvalidArgumentError);
    await seedFromBackup(reader(bytes), snapshots, ['a']);
    await expect(seedFromBackup(reader(bytes), snapshots, ['a'])).rejects.toThrow(InvalidArgumentError);
  });
});

describe('keel kv start-up with a restored data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const silent = jsonLogger('error', {}, { write: () => undefined });
  const optionsFor = (data: string, ...extra: string[]): KvCommandOptions => {
    const options = parseKvOptions(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002', '--http', '127.0.0.1:8001', '--data', data, '--insecure', ...extra]);
    if (options === 'help') throw new Error('help');
    return options;
  };
  const seeded = async (name: string): Promise<string> => {
    const data = join(dir, name);
    rmSync(data, { recursive: true, force: true });
    mkdirSync(data);
    writeFileSync(join(data, SEED_FILE), await backupOf({ k: 'v' }));
    return data;
  };

  it('seeds once with the voters of --peers and removes the seed', async () => {
    const data = await seeded('fresh');
    const snapshots = new MemorySnapshotStore();
    await seedIfRestored(optionsFor(data), new MemoryStorage(), snapshots, silent);
    expect(snapshots.latest()).toEqual({ index: APPLIED, term: SEED_TERM, membership: { voters: ['n1', 'n2'] } });
    expect(existsSync(join(data, SEED_FILE))).toBe(false);
  });

  it('after a crash between writing the snapshot and removing the seed, only removes the seed', async () => {
    const data = await seeded('crashed');
    const snapshots = new MemorySnapshotStore();
    await seedFromBackup(reader(await backupOf({ k: 'v' })), snapshots, ['n1', 'n2']);
    await seedIfRestored(optionsFor(data), new MemoryStorage(), snapshots, silent);
    expect(existsSync(join(data, SEED_FILE))).toBe(false);
    expect(snapshots.latest()?.index).toBe(APPLIED);
  });

  it('refuses a seed with --join, and a seed beside a snapshot it did not write', async () => {
    const data = await seeded('refused');
    await expect(seedIfRestored(optionsFor(data, '--join'), new MemoryStorage(), new MemorySnapshotStore(), silent)).rejects.toThrow(UsageError);
    const other = new MemorySnapshotStore();
    const writer = await other.create({ index: 7, term: 2, membership: { voters: ['n1'] } });
    await writer.write(new Uint8Array([1]));
    await writer.commit();
    await expect(seedIfRestored(optionsFor(data), new MemoryStorage(), other, silent)).rejects.toThrow(/holds both a log and a restore seed/);
    expect(existsSync(join(data, SEED_FILE))).toBe(true);
  });
});
