/**
 * `keel kv restore`: seeds a new node's data directory from a backup. The
 * backup is checked, then copied into the directory as `seed.keelbackup`;
 * the node's first start (`keel kv`, see {@link seedIfRestored}) turns it
 * into the snapshot its store restores from. Every member of the new
 * cluster is restored from the same backup, so they all start from the same
 * snapshot.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { CorruptionError } from '../src/errors.js';
import { readBackup } from '../src/kv/backup-format.js';
import type { BackupHeader } from '../src/kv/backup-format.js';
import { SEED_TERM, seedFromBackup } from '../src/kv/backup-seed.js';
import type { SnapshotStore } from '../src/storage/snapshot-store.js';
import type { LogStorage } from '../src/storage/storage.js';
import { parseOptions, UsageError, withUsage } from './args.js';
import type { Logger } from './json-log.js';
import type { KvCommandOptions } from './kv-options.js';

/** The file `keel kv restore` leaves in a data directory for the node's first start. */
export const SEED_FILE = 'seed.keelbackup';

export const KV_RESTORE_HELP = `Usage: keel kv restore --from FILE --data DIR

Seeds a new node's data directory from a backup made by \`keel kv backup\`.
Restore the same backup into the data directory of every member of the new
cluster, then start each with \`keel kv --data DIR\` and the new cluster's
--peers (not --join): on its first start a node loads the backup as its
snapshot, and the cluster goes on from there. Client sessions (POST /sessions)
of the old cluster do not carry over.

Options:
  --from FILE   the backup file; it is checked (format and checksum) first
  --data DIR    the new node's data directory: must not exist or be empty

Exit code 0 on success, 2 on bad usage, a damaged or truncated backup, or a
data directory that is not empty (nothing is written then).
`;

/** Runs `keel kv restore`. */
export function runKvRestore(args: readonly string[]): Promise<number> {
  return withUsage(KV_RESTORE_HELP, async () => {
    const values = parseOptions(args, { from: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(KV_RESTORE_HELP);
      return 0;
    }
    if (values.from === undefined) throw new UsageError('--from is required');
    if (values.data === undefined) throw new UsageError('--data is required');
    const header = await restore(values.from, values.data);
    process.stdout.write(
      `restored ${header.keys} keys (applied index ${header.appliedIndex}, backed up from node ${header.node} at ${header.createdAt}) into ${values.data}; ` +
        'start the node with keel kv --data on it and the new cluster\'s --peers\n',
    );
    return 0;
  });
}

/** Checks the backup, then copies it into a new or empty `dataDir`; on any failure leaves nothing behind. */
async function restore(from: string, dataDir: string): Promise<BackupHeader> {
  await verifyBackup(from, '--from');
  const created = await claimEmptyDir(dataDir);
  const partial = join(dataDir, `${SEED_FILE}.partial`);
  try {
    await copyFile(from, partial, constants.COPYFILE_EXCL);
    // The copy is what the node will read: check it again, then make it durable before it gets its name.
    const header = await verifyBackup(partial, '--from');
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(partial, join(dataDir, SEED_FILE));
    return header;
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    if (created) await rmdir(dataDir).catch(() => undefined);
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot restore into --data ${dataDir}: ${(error as Error).message}`);
  }
}

/** Checks a backup file end to end; a damaged, truncated or unreadable file is a usage error. */
async function verifyBackup(path: string, option: string): Promise<BackupHeader> {
  try {
    return await readBackup(createReadStream(path));
  } catch (error) {
    if (error instanceof CorruptionError) throw new UsageError(`${option} ${path} is not a usable backup: ${error.message.replace(/^corruption at backup: /, '')}; nothing was written`);
    throw new UsageError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Makes sure `dir` exists and is empty; true when it was created here. A non-empty directory is a usage error. */
async function claimEmptyDir(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--data ${dir} is not usable: ${(error as Error).message}`);
    try {
      await mkdir(dir, { recursive: true });
    } catch (mkdirError) {
      throw new UsageError(`--data ${dir} cannot be created: ${(mkdirError as Error).message}`);
    }
    return true;
  }
  if (entries.length > 0) {
    throw new UsageError(`--data ${dir} is not empty (${entries.length} entries): restore seeds a new node's directory and never overwrites one; nothing was written`);
  }
  return false;
}

/**
 * On a node's start: when its data directory holds a seed from `keel kv
 * restore` and nothing else yet, writes the backup as the node's first
 * snapshot (configuration: the voters of `--peers`) and removes the seed.
 * A seed whose snapshot was already written (a crash before the removal) is
 * just removed. A seed beside an existing log, or with `--join`, is a usage
 * error: a restored node starts a new cluster.
 */
export async function seedIfRestored(options: KvCommandOptions, storage: LogStorage, snapshots: SnapshotStore, log: Logger): Promise<void> {
  const seed = join(options.dataDir, SEED_FILE);
  const present = await open(seed, 'r').then(
    (handle) => handle.close().then(() => true),
    () => false,
  );
  if (!present) return;
  if (options.join) throw new UsageError(`--data ${options.dataDir} was seeded by keel kv restore: start it as a member of the new cluster (with --peers, without --join)`);
  const latest = snapshots.latest();
  if (latest !== null && latest.term === SEED_TERM && storage.lastIndex() <= latest.index) {
    // Seeded before a crash that came before the seed's removal: the snapshot is the seed's if the index matches.
    const header = await readBackup(createReadStream(seed)).catch(() => null);
    if (header?.appliedIndex === latest.index) {
      await rm(seed);
      return;
    }
  }
  if (storage.lastIndex() !== 0 || latest !== null) {
    throw new UsageError(`--data ${options.dataDir} holds both a log and a restore seed (${SEED_FILE}); a seed belongs in an empty directory`);
  }
  try {
    const header = await seedFromBackup(() => createReadStream(seed), snapshots, [...options.peers.keys()]);
    await rm(seed);
    log.info({ appliedIndex: header.appliedIndex, keys: header.keys, backedUpFrom: header.node, createdAt: header.createdAt }, 'seeded from a backup');
  } catch (error) {
    if (error instanceof CorruptionError) throw new UsageError(`${seed} is not a usable backup: ${error.message}`);
    throw error;
  }
}
