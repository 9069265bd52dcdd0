/**
 * Argument checks of the storages' public methods (LevelStorage and
 * MemoryStorage make the same ones). They run before any state changes, so a
 * rejected call changes nothing.
 *
 * @packageDocumentation
 */
import type { HardState, Index, Membership, SnapshotMeta } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';
import { isMembership } from './level-options.js';

/** An index or term: a non-negative safe integer. */
export function checkIndex(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`index must be a non-negative safe integer, got ${String(value)}`);
  }
}

/** A hard state: term and commit are indexes, the vote is null or a node id. */
export function checkHardState(state: HardState): void {
  if (typeof state !== 'object' || state === null) throw new InvalidArgumentError('append: hard state must be an object');
  checkIndex(state.term);
  checkIndex(state.commit);
  if (state.vote !== null && (typeof state.vote !== 'string' || state.vote.length === 0)) {
    throw new InvalidArgumentError(`append: hard state vote must be null or a non-empty node id, got ${String(state.vote)}`);
  }
}

/** Snapshot meta: index and term are indexes, the membership a list of node ids. */
export function checkSnapshotMeta(meta: SnapshotMeta): void {
  if (typeof meta !== 'object' || meta === null) throw new InvalidArgumentError('saveSnapshot: meta must be an object');
  checkIndex(meta.index);
  checkIndex(meta.term);
  if (!isMembership(meta.membership as Membership | undefined)) {
    throw new InvalidArgumentError('saveSnapshot: membership.voters must be a list of non-empty node ids');
  }
}

/** A hard state's commit index never lies past the log it would be stored with. */
export function checkCommitWithinLog(commit: Index, lastAfter: Index, operation: string): void {
  if (commit > lastAfter) {
    throw new InvalidArgumentError(`${operation}: hard state commit ${commit} would lie past the last index ${lastAfter}`);
  }
}
