/**
 * A simulated disk behind the {@link LogStorage} interface, with an fsync
 * model (FoundationDB's AsyncFileNonDurable, lazyfs in Jepsen):
 *
 * - A write is visible to reads as soon as it is called (the contract of
 *   `LogStorage`) and durable only once its promise resolves, after a
 *   latency drawn from the disk stream. Writes become durable in call order.
 * - {@link SimDisk.crash} keeps the durable state and loses the rest. With
 *   `unsyncedMaySurvive`, a random prefix of the unsynced writes reached the
 *   platter anyway (the node never learnt it): a restarted node may find
 *   entries and votes it never acted on, which Raft must tolerate.
 * - A torn write is modelled as a lost one: `append` is atomic in the
 *   contract (LevelDB write batches are), so a batch is either whole on disk
 *   or absent, never a prefix of itself.
 * - An injected I/O error rejects a write with `StorageIOError` and leaves
 *   the handle unusable, as the contract says; the node must stop.
 *
 * Each node incarnation gets its own {@link DiskHandle} from {@link SimDisk.open};
 * a crash revokes it, so a dead incarnation can never touch the next one's state.
 */
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../../src/core/types.js';
import { StorageClosedError, StorageIOError } from '../../src/errors.js';
import type { Clock } from '../../src/util/clock.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { InitialState } from '../../src/core/log-reader.js';
import type { LogStorage } from '../../src/storage/storage.js';
import { assert } from '../../src/util/assert.js';
import type { SeededRandom } from '../../src/util/random.js';
import { chance, uniform } from './streams.js';

/** How the simulator's disk (`SimDisk`) behaves: latencies, and the faults it injects. */
export interface DiskOptions {
  /** Bounds of a write's latency until it is durable, in (node-local) milliseconds. */
  readonly latencyMsMin: number;
  /** Upper bound of a write's latency until it is durable, in milliseconds. */
  readonly latencyMsMax: number;
  /** Probability that a write fails with `StorageIOError`. @defaultValue 0 */
  readonly ioErrorRate?: number;
  /** On a crash, a random prefix of the unsynced writes may survive. @defaultValue true */
  readonly unsyncedMaySurvive?: boolean;
  /**
   * A deliberately broken disk, for testing the simulator itself: writes are
   * acknowledged at once but only become durable after their latency, like a
   * disk cache that lies about fsync (etcd#14370). A crash then loses
   * acknowledged writes, which the checkers must notice. @defaultValue false
   */
  readonly acknowledgeBeforeSync?: boolean;
}

/** What the disk tells the world, for the trace, the checkers and coverage. */
export type DiskEvent =
  | { readonly kind: 'append'; readonly entries: readonly Entry[]; readonly truncatedConflict: boolean }
  | { readonly kind: 'ioError' }
  /** A write was issued; it becomes durable after `latencyMs` (node-local). */
  | { readonly kind: 'write'; readonly latencyMs: number }
  | { readonly kind: 'crash'; readonly lostWrites: number; readonly survivedWrites: number };

type WriteOp = { readonly kind: 'append'; readonly entries: readonly Entry[]; readonly hardState: HardState | undefined } | { readonly kind: 'snapshot'; readonly meta: SnapshotMeta };

interface PendingWrite {
  readonly op: WriteOp;
  readonly fails: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** One node's simulated disk: the durable state survives crashes; each incarnation writes through a {@link DiskHandle}. */
export class SimDisk {
  private durable = new MemoryStorage();
  /** The durable hard state, kept beside {@link durable}: the world reads it after every event. */
  private durableHard: HardState = this.durable.initialState().hardState;
  private handle: DiskHandle | null = null;
  /** The next write fails with an I/O error (an injected fault). */
  private ioErrorArmed = false;

  constructor(
    private readonly random: SeededRandom,
    private readonly options: DiskOptions,
    private readonly report: (event: DiskEvent) => void = () => undefined,
  ) {
    if (!(options.latencyMsMin >= 0 && options.latencyMsMax >= options.latencyMsMin)) {
      throw new RangeError(`SimDisk: need 0 <= latencyMsMin <= latencyMsMax, got ${options.latencyMsMin}, ${options.latencyMsMax}`);
    }
  }

  /** A fresh handle over the durable state, for a new incarnation whose timers run on `clock`. */
  open(clock: Clock): DiskHandle {
    assert(this.handle === null, 'SimDisk.open: the previous handle is still open; crash() or release() it first');
    this.handle = new DiskHandle(cloneStorage(this.durable), clock, {
      acknowledgeBeforeSync: this.options.acknowledgeBeforeSync === true,
      latencyMs: () => uniform(this.random, this.options.latencyMsMin, this.options.latencyMsMax),
      fails: () => {
        // Always draw, so the stream's position does not depend on whether a fault was armed.
        const drawn = chance(this.random, this.options.ioErrorRate ?? 0);
        const armed = this.ioErrorArmed;
        this.ioErrorArmed = false;
        return drawn || armed;
      },
      persist: (op) => this.persist(op),
      report: this.report,
    });
    return this.handle;
  }

  /**
   * The machine lost power: unsynced writes are lost (or, with
   * `unsyncedMaySurvive`, a random prefix of them became durable), the open
   * handle is revoked and its pending writes reject. Returns how many writes were lost.
   */
  crash(): number {
    const handle = this.handle;
    this.handle = null;
    this.ioErrorArmed = false;
    if (handle === null) return 0;
    const pending = handle.revoke();
    const failsAt = pending.findIndex((write) => write.fails);
    const survivable = failsAt < 0 ? pending.length : failsAt;
    const survived = this.options.unsyncedMaySurvive === false ? 0 : this.random.nextInt(survivable + 1);
    for (const write of pending.slice(0, survived)) this.persist(write.op);
    const lostWrites = pending.length - survived;
    for (const write of pending) write.reject(new StorageIOError('the simulated machine crashed'));
    this.report({ kind: 'crash', lostWrites, survivedWrites: survived });
    return lostWrites;
  }

  /** Makes the next write fail with `StorageIOError` (on the current or the next handle). */
  armIoError(): void {
    this.ioErrorArmed = true;
  }

  /** Cancels an armed I/O error that has not struck yet. */
  disarm(): void {
    this.ioErrorArmed = false;
  }

  /** Releases the handle after a clean shutdown in which every write had completed. */
  release(): void {
    assert(this.handle === null || this.handle.pendingWrites() === 0, 'SimDisk.release: writes are still pending; crash() instead');
    this.handle?.revoke();
    this.handle = null;
  }

  /** The hard state on the platter: what survives a crash. */
  durableHardState(): HardState {
    return this.durableHard;
  }

  private persist(op: WriteOp): void {
    applyOp(this.durable, op);
    if (op.kind === 'append' && op.hardState !== undefined) this.durableHard = op.hardState;
  }

  /**
   * True when the platter holds entry (`index`, `term`), or a durable snapshot
   * covers `index` (what it covers is committed, so it has that term). Index
   * 0 is always held. For the checks of what a node may promise (see
   * `reply-durability.ts`); no copy is made.
   */
  durablyHolds(index: Index, term: Term | undefined): boolean {
    const snapshotIndex = this.durable.firstIndex() - 1;
    if (index <= snapshotIndex) return true;
    return index <= this.durable.lastIndex() && this.durable.term(index) === term;
  }

  /** The last index on the platter (a durable snapshot's, when the log behind it is empty). */
  durableLastIndex(): Index {
    return this.durable.lastIndex();
  }

  /**
   * Log entries this disk holds: on the platter, and in the open handle's
   * view (the two share most entry objects, but a run's memory grows with
   * both). For the run's held-items budget (`budget.ts`).
   */
  heldEntries(): number {
    return countEntries(this.durable) + (this.handle?.heldEntries() ?? 0);
  }

  /** A copy of the durable log, for tests. */
  durableLog(): { readonly snapshot: SnapshotMeta; readonly entries: readonly Entry[] } {
    return { snapshot: this.durable.snapshotMeta(), entries: allEntries(this.durable) };
  }
}

/** What a handle needs from its disk. */
interface HandleHost {
  readonly acknowledgeBeforeSync: boolean;
  latencyMs(): number;
  fails(): boolean;
  persist(op: WriteOp): void;
  report(event: DiskEvent): void;
}

/** One incarnation's view of a {@link SimDisk}: reads from what it wrote, writes made durable after a latency. */
export class DiskHandle implements LogStorage {
  /** Writes not yet durable, oldest first. */
  private pending: PendingWrite[] = [];
  /** Node-local time at which the newest pending write becomes durable; later writes never overtake it. */
  private lastDueMs = 0;
  private state: 'open' | 'failed' | 'revoked' = 'open';
  /** Calls that may have changed what this handle reads back (see {@link writeCount}). */
  private writes = 0;

  constructor(
    private readonly visible: MemoryStorage,
    private readonly clock: Clock,
    private readonly host: HandleHost,
  ) {}

  initialState(): InitialState {
    return this.readable().initialState();
  }
  firstIndex(): number {
    return this.readable().firstIndex();
  }
  lastIndex(): number {
    return this.readable().lastIndex();
  }
  term(index: number): number {
    return this.readable().term(index);
  }
  entries(low: number, high: number, maxBytes: number): readonly Entry[] {
    return this.readable().entries(low, high, maxBytes);
  }
  snapshotMeta(): SnapshotMeta {
    return this.readable().snapshotMeta();
  }
  configEntries(): readonly Entry[] {
    return this.readable().configEntries();
  }

  /**
   * Grows with every append and snapshot save called on this handle, whether
   * or not it succeeded: what it reads back cannot have changed while the
   * count stays the same.
   */
  get writeCount(): number {
    return this.writes;
  }

  append(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    this.writes++;
    if (this.state !== 'open') return Promise.reject(this.unusable());
    const first = entries[0];
    let truncatedConflict = false;
    try {
      if (first !== undefined && first.index <= this.visible.lastIndex() && first.index >= this.visible.firstIndex()) {
        truncatedConflict = this.visible.term(first.index) !== first.term;
      }
      this.visible.appendSync(entries, hardState);
    } catch (error) {
      return Promise.reject(error);
    }
    if (entries.length > 0) this.host.report({ kind: 'append', entries, truncatedConflict });
    return this.enqueue({ kind: 'append', entries: [...entries], hardState });
  }

  saveSnapshot(meta: SnapshotMeta): Promise<void> {
    this.writes++;
    if (this.state !== 'open') return Promise.reject(this.unusable());
    try {
      this.visible.saveSnapshotSync(meta);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue({ kind: 'snapshot', meta });
  }

  /** The runtime never closes storage it does not own; closing only stops this handle. */
  close(): Promise<void> {
    if (this.state === 'open') this.state = 'revoked';
    return Promise.resolve();
  }

  /** True once the handle was closed (or revoked by its disk): it serves no one any more. */
  get revoked(): boolean {
    return this.state === 'revoked';
  }

  /** True once a write failed: the node using this handle must stop. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Log entries this handle's view holds. */
  heldEntries(): number {
    return countEntries(this.visible);
  }

  /** Writes called and not yet durable. */
  pendingWrites(): number {
    return this.pending.length;
  }

  /** @internal Ends this handle; returns the writes that were still pending. */
  revoke(): PendingWrite[] {
    this.state = 'revoked';
    const pending = this.pending;
    this.pending = [];
    return pending;
  }

  private enqueue(op: WriteOp): Promise<void> {
    const now = this.clock.now();
    this.lastDueMs = Math.max(this.lastDueMs, now + this.host.latencyMs());
    const fails = this.host.fails();
    const acknowledged = new Promise<void>((resolve, reject) => {
      const write: PendingWrite = { op, fails, resolve, reject };
      this.pending.push(write);
      this.clock.setTimeout(() => this.completeThrough(write), this.lastDueMs - now);
    });
    this.host.report({ kind: 'write', latencyMs: this.lastDueMs - now });
    if (!this.host.acknowledgeBeforeSync) return acknowledged;
    // The lie: the caller hears "durable" now; the write is durable only later.
    acknowledged.catch(() => undefined);
    return fails ? acknowledged : Promise.resolve();
  }

  /** Completes every pending write up to `target`, in order: an fsync makes all earlier writes durable too. */
  private completeThrough(target: PendingWrite): void {
    if (this.state === 'revoked' || !this.pending.includes(target)) return;
    while (this.pending.length > 0) {
      const write = this.pending.shift()!;
      if (write.fails || this.state === 'failed') {
        this.fail(write);
      } else {
        this.host.persist(write.op);
        write.resolve();
      }
      if (write === target) return;
    }
  }

  /** An I/O error: this write and every later one is rejected; the handle stays unusable. */
  private fail(write: PendingWrite): void {
    if (this.state === 'open') this.host.report({ kind: 'ioError' });
    this.state = 'failed';
    write.reject(new StorageIOError('simulated I/O error: the write did not reach the disk'));
    for (const later of this.pending.splice(0)) later.reject(new StorageIOError('simulated I/O error: an earlier write failed'));
  }

  private readable(): MemoryStorage {
    if (this.state === 'revoked') throw new StorageClosedError();
    return this.visible;
  }

  private unusable(): Error {
    return this.state === 'failed' ? new StorageIOError('simulated I/O error: the storage failed earlier') : new StorageClosedError();
  }
}

function applyOp(storage: MemoryStorage, op: WriteOp): void {
  if (op.kind === 'append') storage.appendSync(op.entries, op.hardState);
  else storage.saveSnapshotSync(op.meta);
}

function countEntries(storage: MemoryStorage): number {
  return Math.max(0, storage.lastIndex() - storage.firstIndex() + 1);
}

function allEntries(storage: MemoryStorage): readonly Entry[] {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  return last < first ? [] : storage.entries(first, last + 1, Number.POSITIVE_INFINITY);
}

/** A deep-enough copy of a memory storage: entries are immutable, so sharing them is safe. */
function cloneStorage(source: MemoryStorage): MemoryStorage {
  const copy = new MemoryStorage();
  const meta = source.snapshotMeta();
  if (meta.index > 0) copy.saveSnapshotSync(meta);
  copy.appendSync(allEntries(source), source.initialState().hardState);
  return copy;
}
