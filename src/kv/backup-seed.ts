/**
 * Seeding a new cluster from a backup: each member's empty data directory
 * gets the same snapshot, built from the backup, before its node first
 * opens. The node then restores its store from that snapshot as it would
 * from one it took itself, and the cluster's log continues after it.
 *
 * Every member must build the identical snapshot (same index, term and
 * configuration, same bytes), so the snapshot's position is the backup's
 * applied index at term 1 and its configuration the new cluster's voters.
 * Client sessions of the old cluster are not carried over: sessions are
 * registered in a log, and the new cluster's log starts afresh.
 *
 * @packageDocumentation
 */
import type { NodeId, SnapshotMeta } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import { SessionTable } from '../node/apply/sessions.js';
import { encodeRuntimeHeader, MemberAddresses } from '../node/membership/member-addresses.js';
import { snapshotPrefix } from '../node/snapshots/snapshot-format.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import { readBackup } from './backup-format.js';
import type { BackupHeader } from './backup-format.js';

/** The term of a seeded snapshot: the new cluster's log starts in term 1 after it. */
export const SEED_TERM = 1;

/**
 * Verifies the backup that `open` streams (it is read twice: once to check
 * its digest, once to copy it) and writes it into `snapshots` as the
 * snapshot of a new cluster of `voters`. `snapshots` must be empty. Rejects
 * with `CorruptionError` for a damaged backup (nothing is written) and
 * `InvalidArgumentError` when `snapshots` already holds a snapshot or
 * `voters` is empty.
 */
export async function seedFromBackup(open: () => AsyncIterable<Uint8Array>, snapshots: SnapshotStore, voters: readonly NodeId[]): Promise<BackupHeader> {
  if (snapshots.latest() !== null) throw new InvalidArgumentError('seedFromBackup: the snapshot store is not empty');
  if (voters.length === 0) throw new InvalidArgumentError('seedFromBackup: a new cluster needs at least one voter');
  const header = await readBackup(open());
  const meta: SnapshotMeta = { index: header.appliedIndex, term: SEED_TERM, membership: { voters: [...voters] } };
  const writer = await snapshots.create(meta);
  try {
    await writer.write(snapshotPrefix(encodeRuntimeHeader(new SessionTable(1).encode(), new MemberAddresses())));
    // Read again and check again: the file could have changed since the first pass.
    await readBackup(open(), (chunk) => writer.write(chunk));
    await writer.commit();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
  return header;
}
