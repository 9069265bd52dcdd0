import type { Index } from '../core/types.js';
import { assert } from '../util/assert.js';
import type { BatchSink, Committer, GroupCommit } from './group-commit.js';

/**
 * One Raft group's share of a host's {@link GroupCommit}: the group's keys go,
 * behind the group's key prefix, into the batch that every group of the host
 * writes together. All the writes made in one burst of the host's event loop
 * (one turn of each group with work) become one synced LevelDB batch: one
 * fsync for the appends and hard states of every group (group commit across
 * groups, as dragonboat's and TiKV's shared log engines do).
 *
 * The prefix is the group's sublevel prefix in the shared database, so the
 * group reads back, through its sublevel, exactly what it wrote here.
 */
export class PrefixedCommitter implements Committer {
  /** This group's writes not yet durable: their lowest entry index, in submission order. */
  private readonly pending: Index[] = [];
  private idleWaiters: (() => void)[] = [];
  private submitCount = 0;
  private readonly sink: BatchSink;
  private target: BatchSink | null = null;

  /**
   * @param shared the host's group commit.
   * @param prefix the group's key prefix (the bytes of its sublevel's prefix).
   * @param onSubmit called for every write submitted, for the host's statistics.
   */
  constructor(
    private readonly shared: GroupCommit,
    private readonly prefix: Buffer,
    private readonly onSubmit: () => void = () => undefined,
  ) {
    assert(prefix.byteLength > 0, 'prefixed committer: empty prefix');
    this.sink = {
      put: (key, value) => this.target!.put(Buffer.concat([this.prefix, key]), value),
      del: (key) => this.target!.del(Buffer.concat([this.prefix, key])),
    };
  }

  get batches(): number {
    return this.shared.batches;
  }

  get submits(): number {
    return this.submitCount;
  }

  submit(fill: (sink: BatchSink) => void, minEntryIndex: Index): Promise<void> {
    this.submitCount++;
    this.onSubmit();
    this.pending.push(minEntryIndex);
    const durable = this.shared.submit((sink) => {
      this.target = sink;
      try {
        fill(this.sink);
      } finally {
        this.target = null;
      }
    }, Infinity);
    // Batches complete in submission order, so this write is the oldest pending one when it settles.
    const settle = (): void => {
      this.pending.shift();
      if (this.pending.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    return durable.then(settle, (error: unknown) => {
      settle();
      throw error;
    });
  }

  pinnedFrom(): Index {
    let pinned = Infinity;
    for (const index of this.pending) pinned = Math.min(pinned, index);
    return pinned;
  }

  idle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
