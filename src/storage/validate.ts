import type { Entry, Index, Term } from '../core/types.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Checks an append before any storage changes anything: entries are
 * contiguous, well-formed, start after the snapshot and no later than
 * `lastIndex + 1`, and their terms never decrease, also from the entry they
 * follow (`termAt(first.index - 1)`, the snapshot's term at its index): a
 * Raft log's terms only grow. Shared by every {@link LogStorage} implementation.
 */
export function validateAppend(entries: readonly Entry[], snapshotIndex: Index, lastIndex: Index, termAt: (index: Index) => Term): void {
  const first = entries[0];
  if (first === undefined) return;
  if (first.index <= snapshotIndex) {
    throw new InvalidArgumentError(`append: first index ${first.index} is at or below the snapshot index ${snapshotIndex}`);
  }
  if (first.index > lastIndex + 1) {
    throw new InvalidArgumentError(`append: first index ${first.index} leaves a gap after lastIndex ${lastIndex}`);
  }
  let previousTerm = first.index - 1 > 0 && Number.isSafeInteger(first.index) ? termAt(first.index - 1) : 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (!Number.isSafeInteger(entry.index) || entry.index !== first.index + i) {
      throw new InvalidArgumentError(`append: entries are not contiguous at position ${i} (index ${String(entry.index)})`);
    }
    if (!Number.isSafeInteger(entry.term) || entry.term < 1) {
      throw new InvalidArgumentError(`append: entry ${entry.index} has invalid term ${String(entry.term)}`);
    }
    if (entry.term < previousTerm) {
      throw new InvalidArgumentError(`append: entry ${entry.index} has term ${entry.term}, below the term ${previousTerm} of the entry before it`);
    }
    if (!(entry.data instanceof Uint8Array)) {
      throw new InvalidArgumentError(`append: entry ${entry.index} data is not a Uint8Array`);
    }
    previousTerm = entry.term;
  }
}
