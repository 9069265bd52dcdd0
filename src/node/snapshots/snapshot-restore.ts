import type { Index, SnapshotMeta } from '../../core/types.js';
import { CorruptionError } from '../../errors.js';
import { decodeRuntimeHeader } from '../membership/member-addresses.js';
import type { MemberAddresses } from '../membership/member-addresses.js';
import type { ResolvedNodeOptions } from '../options.js';
import type { SessionTable } from '../apply/sessions.js';
import { splitSnapshot } from './snapshot-format.js';

/** Restores the state machine from the newest snapshot; returns the index it covers (0 without one). */
export async function restoreFromSnapshot<Result>(options: ResolvedNodeOptions<Result>, sessions: SessionTable, addresses: MemberAddresses): Promise<Index> {
  const latest = options.snapshots.latest();
  const logSnapshotIndex = options.storage.firstIndex() - 1;
  if (latest === null || latest.index === 0) {
    if (logSnapshotIndex > 0) throw new CorruptionError('snapshots', `the log is compacted to ${logSnapshotIndex} but no snapshot exists`);
    return 0;
  }
  if (latest.index < logSnapshotIndex) {
    throw new CorruptionError('snapshots', `the newest snapshot (${latest.index}) is older than the compacted log (${logSnapshotIndex})`);
  }
  await finishInterruptedInstall(options, latest);
  await restoreState(options, sessions, addresses, latest);
  return latest.index;
}

/**
 * A snapshot received from the leader is committed to the snapshot store
 * before the log records it. A crash (or an I/O error) in between leaves a
 * snapshot the log does not reach or does not match (found by the runtime
 * simulator). A stored snapshot is committed state, so finishing the install
 * — recording it in the log, which drops a log that does not match it — is
 * exactly what the core would have done.
 */
async function finishInterruptedInstall<Result>(options: ResolvedNodeOptions<Result>, latest: SnapshotMeta): Promise<void> {
  const storage = options.storage;
  if (latest.index <= storage.firstIndex() - 1) return;
  if (latest.index <= storage.lastIndex() && storage.term(latest.index) === latest.term) return;
  await storage.saveSnapshot(latest);
}

/** Restores the session table, the member addresses and the user's state machine from the snapshot `meta` names. */
export async function restoreState<Result>(options: ResolvedNodeOptions<Result>, sessions: SessionTable, addresses: MemberAddresses, meta: SnapshotMeta): Promise<void> {
  const point = { index: meta.index, term: meta.term };
  await splitSnapshot(
    options.snapshots.read(meta.index),
    (bytes) => {
      const header = decodeRuntimeHeader(bytes);
      sessions.restore(header.sessions);
      addresses.replace(header.addresses);
    },
    (rest) => options.stateMachine.restore(rest, point),
  );
}
