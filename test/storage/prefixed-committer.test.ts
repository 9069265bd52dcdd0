/**
 * A group's share of the host's group commit (src/storage/prefixed-committer.ts),
 * over a GroupCommit whose batches this test writes by hand: each write goes
 * under its group's prefix into the batch every group shares, resolves only
 * once that batch is durable, pins only its own group's entries, and fails
 * with the shared batch.
 */
import { describe, expect, it } from 'vitest';
import { StorageIOError } from '../../src/errors.js';
import { GroupCommit } from '../../src/storage/group-commit.js';
import type { PendingBatch } from '../../src/storage/group-commit.js';
import { PrefixedCommitter } from '../../src/storage/prefixed-committer.js';

/** A batch that records its operations and is written when the test says so. */
class ManualBatch implements PendingBatch {
  readonly ops: string[] = [];
  private settle: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  written = false;

  put(key: Buffer, value: Buffer): void {
    this.ops.push(`put ${key.toString()}=${value.toString()}`);
  }
  del(key: Buffer): void {
    this.ops.push(`del ${key.toString()}`);
  }
  write(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }
  discard(): void {}
  /** The disk finished (or failed) this batch. */
  finish(error?: Error): void {
    expect(this.settle, 'batch finished before it was written').not.toBeNull();
    this.written = true;
    if (error === undefined) this.settle!.resolve();
    else this.settle!.reject(error);
  }
}

function setUp() {
  const batches: ManualBatch[] = [];
  const failures: StorageIOError[] = [];
  const shared = new GroupCommit(
    () => {
      const batch = new ManualBatch();
      batches.push(batch);
      return batch;
    },
    1 << 20,
    (error) => failures.push(error),
  );
  const a = new PrefixedCommitter(shared, Buffer.from('!a!'));
  const b = new PrefixedCommitter(shared, Buffer.from('!b!'));
  return { shared, batches, failures, a, b };
}

/** Lets queued microtasks (the group commit starts its batch on one) and promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function tracked(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error: unknown } {
  const result = { state: 'pending' as 'pending' | 'resolved' | 'rejected', error: undefined as unknown };
  promise.then(
    () => (result.state = 'resolved'),
    (error: unknown) => {
      result.state = 'rejected';
      result.error = error;
    },
  );
  return result;
}

describe('PrefixedCommitter', () => {
  it("puts each group's keys under its prefix into one shared batch, and resolves only once that batch is durable", async () => {
    const { batches, a, b } = setUp();
    const first = tracked(a.submit((sink) => sink.put(Buffer.from('e1'), Buffer.from('x')), 1));
    const second = tracked(b.submit((sink) => (sink.put(Buffer.from('e7'), Buffer.from('y')), sink.del(Buffer.from('e3'))), 7));
    await settle();

    expect(batches).toHaveLength(1);
    expect(batches[0]!.ops).toEqual(['put !a!e1=x', 'put !b!e7=y', 'del !b!e3']);
    // Written but not yet durable: nobody may be told it is.
    expect([first.state, second.state]).toEqual(['pending', 'pending']);
    batches[0]!.finish();
    await settle();
    expect([first.state, second.state]).toEqual(['resolved', 'resolved']);
    expect([a.submits, b.submits, a.batches, b.batches]).toEqual([1, 1, 1, 1]);
  });

  it("pins only its own group's lowest pending entry, and is idle once its writes are durable", async () => {
    const { batches, a, b } = setUp();
    void a.submit((sink) => sink.put(Buffer.from('k'), Buffer.from('v')), 5);
    void b.submit((sink) => sink.put(Buffer.from('k'), Buffer.from('v')), 2);
    await settle();
    // The second write of a waits for the next batch, behind the one in flight.
    void a.submit((sink) => sink.put(Buffer.from('k2'), Buffer.from('v')), 9);
    expect(a.pinnedFrom()).toBe(5);
    expect(b.pinnedFrom()).toBe(2);

    let aIdle = false;
    void a.idle().then(() => (aIdle = true));
    batches[0]!.finish();
    await settle();
    expect(b.pinnedFrom()).toBe(Infinity);
    expect(a.pinnedFrom()).toBe(9);
    expect(aIdle).toBe(false);
    expect(batches).toHaveLength(2);
    batches[1]!.finish();
    await settle();
    expect(a.pinnedFrom()).toBe(Infinity);
    expect(aIdle).toBe(true);
  });

  it('fails every group whose write was in a failed shared batch, and every write after it, with StorageIOError', async () => {
    const { batches, failures, a, b } = setUp();
    const first = tracked(a.submit((sink) => sink.put(Buffer.from('k'), Buffer.from('v')), 1));
    const second = tracked(b.submit((sink) => sink.put(Buffer.from('k'), Buffer.from('v')), 1));
    await settle();
    batches[0]!.finish(new Error('disk full'));
    await settle();

    expect([first.state, second.state]).toEqual(['rejected', 'rejected']);
    expect(first.error).toBeInstanceOf(StorageIOError);
    expect(second.error).toBeInstanceOf(StorageIOError);
    expect(failures).toHaveLength(1);
    expect([a.pinnedFrom(), b.pinnedFrom()]).toEqual([Infinity, Infinity]);
    let filled = false;
    await expect(
      a.submit(() => {
        filled = true;
      }, 2),
    ).rejects.toBeInstanceOf(StorageIOError);
    expect(filled).toBe(false);
    expect(batches).toHaveLength(1);
  });
});
