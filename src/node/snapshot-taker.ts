import type { RawNode } from '../core/raw-node.js';
import type { Index } from '../core/types.js';
import { InvalidArgumentError, NodeFailedError } from '../errors.js';
import type { SnapshotWriter } from '../storage/snapshot-store.js';
import { encodeRuntimeHeader } from './member-addresses.js';
import type { MemberAddresses } from './member-addresses.js';
import type { ResolvedNodeOptions } from './options.js';
import type { SessionTable } from './sessions.js';
import { composeSnapshot } from './snapshot-format.js';
import type { SnapshotReceiver } from './snapshot-receiver.js';
import type { SnapshotSender } from './snapshot-sender.js';

/** What {@link SnapshotTaker} needs from its node. */
export interface SnapshotTakerHost<Result> {
  readonly options: Pick<ResolvedNodeOptions<Result>, 'storage' | 'snapshots' | 'stateMachine' | 'snapshotting'>;
  readonly core: RawNode;
  readonly sessions: SessionTable;
  readonly addresses: MemberAddresses;
  readonly sender: Pick<SnapshotSender, 'lowestIndexInFlight'>;
  readonly receiver: Pick<SnapshotReceiver, 'receiving'>;
  /** The index of the newest entry applied to the state machine. */
  appliedIndex(): Index;
  /** False once the node is closed or failed. */
  isRunning(): boolean;
  /** A snapshot at `index` was taken (and the log compacted behind it). */
  taken(index: Index): void;
}

/**
 * This node's own snapshots: when one is due (entries or bytes applied since
 * the last), taking it, and compacting the log behind it.
 */
export class SnapshotTaker<Result> {
  /** Index of the newest snapshot this node holds (taken or installed). */
  private snapshotIndex: Index;
  /** Payload bytes applied since that snapshot. */
  private bytesSinceSnapshot = 0;

  constructor(
    private readonly host: SnapshotTakerHost<Result>,
    snapshotIndex: Index,
  ) {
    this.snapshotIndex = snapshotIndex;
  }

  /** An entry carrying `bytes` of payload was applied. */
  applied(bytes: number): void {
    this.bytesSinceSnapshot += bytes;
  }

  /** A snapshot at `index` from the leader was installed. */
  installed(index: Index): void {
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
    this.bytesSinceSnapshot = 0;
  }

  /** Enough applied since the last snapshot (entries or bytes) to take another. */
  due(): boolean {
    const policy = this.host.options.snapshotting;
    return this.host.isRunning() && (this.host.appliedIndex() - this.snapshotIndex >= policy.entries || this.bytesSinceSnapshot >= policy.bytes);
  }

  /**
   * Takes a snapshot once enough entries were applied since the last one, then
   * compacts the log behind it — keeping `keepEntries`, and never past a
   * snapshot still being sent, so a far-behind follower that just installed
   * one can continue from the log instead of needing another (the livelock of
   * hashicorp/raft #212 and #697).
   */
  async take(): Promise<void> {
    const host = this.host;
    const options = host.options;
    const policy = options.snapshotting;
    const index = host.appliedIndex();
    const term = host.core.term(index);
    // A snapshot arriving from the leader takes precedence; ours can wait for the next round.
    if (term === undefined || host.receiver.receiving()) return;
    // The configuration of the snapshot's own position, not a newer one from the log's tail.
    const membership = host.core.membershipAt(index);
    let writer: SnapshotWriter;
    try {
      writer = await options.snapshots.create({ index, term, membership });
    } catch (error) {
      // The same index is being written by an incoming snapshot (found by the runtime simulator): skip this round.
      if (error instanceof InvalidArgumentError) return;
      throw error;
    }
    try {
      for await (const chunk of composeSnapshot(encodeRuntimeHeader(host.sessions.encode(), host.addresses), options.stateMachine.snapshot())) await writer.write(chunk);
      await writer.commit();
    } catch (error) {
      await writer.abort();
      throw new NodeFailedError(`taking a snapshot at ${index} failed`, { cause: error });
    }
    this.snapshotIndex = index;
    this.bytesSinceSnapshot = 0;
    const sending = host.sender.lowestIndexInFlight();
    const compactTo = Math.min(index - policy.keepEntries, sending ?? Number.MAX_SAFE_INTEGER);
    const storage = options.storage;
    if (compactTo > storage.firstIndex() - 1 && compactTo >= host.core.status().firstIndex - 1) {
      await storage.saveSnapshot({ index: compactTo, term: storage.term(compactTo), membership: host.core.membershipAt(compactTo) });
    }
    host.taken(index);
  }
}
