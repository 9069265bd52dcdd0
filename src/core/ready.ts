import type { Message } from './message.js';
import type { ReadState } from './read-index.js';
import type { Entry, HardState, SnapshotMeta, SoftState } from './types.js';

/**
 * A batch of work the core hands to the runtime. Handle it in this order,
 * then call `advance()`:
 *
 * 1. `parallelMessages` may be sent at once, while step 2 is in progress
 *    (a leader's AppendEntries and heartbeats: the leader counts its own copy
 *    only once step 2 completes, so replication overlaps the local fsync).
 * 2. Make durable, atomically and in this order: `snapshot` (store it, drop
 *    the log it covers), then `entries` (discarding every stored entry at or
 *    after `entries[0].index`), then `hardState`. Sync to disk when `mustSync`.
 * 3. Only then send `messages`: they may promise what step 2 wrote (a vote, an
 *    acknowledged append). Sending one earlier can elect two leaders or lose a
 *    committed entry after a crash.
 * 4. Restore the state machine from `snapshot` if there is one, then apply
 *    `committedEntries` in index order, each exactly once. They are always
 *    durable already.
 * 5. Serve each of `readStates` once the state machine has applied up to its index.
 */
export interface Ready {
  /** Role and leader, when they changed since the last Ready. */
  readonly softState: SoftState | null;
  /** Term, vote and commit, when they changed since the last Ready. */
  readonly hardState: HardState | null;
  /** Entries to append durably (may replace a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to store before the entries. */
  readonly snapshot: SnapshotMeta | null;
  /** Send only after `snapshot`, `entries` and `hardState` are durable. */
  readonly messages: readonly Message[];
  /** May be sent before or while this Ready is persisted. */
  readonly parallelMessages: readonly Message[];
  /** Committed entries to apply, in order. */
  readonly committedEntries: readonly Entry[];
  /** Linearizable reads confirmed since the last Ready. */
  readonly readStates: readonly ReadState[];
  /** True when the writes of step 2 must be synced (new entries, term or vote), not just written. */
  readonly mustSync: boolean;
}
