import type { RawNode } from '../../core/raw-node.js';
import type { Index, SnapshotMeta } from '../../core/types.js';
import { InvalidArgumentError, SnapshotFailedError } from '../../errors.js';
import type { SnapshotFailureStage } from '../../errors.js';
import type { SnapshotWriter } from '../../storage/snapshot-store.js';
import type { NodeEvents, TypedEmitter } from '../events.js';
import { encodeRuntimeHeader } from '../membership/member-addresses.js';
import type { MemberAddresses } from '../membership/member-addresses.js';
import type { ResolvedNodeOptions } from '../options.js';
import type { SessionTable } from '../apply/sessions.js';
import { snapshotPrefix } from './snapshot-format.js';
import type { SnapshotReceiver } from './snapshot-receiver.js';
import { SnapshotSchedule } from './snapshot-schedule.js';
import type { SnapshotSender } from './snapshot-sender.js';
import type { SnapshotPoint, SnapshotSource } from '../state-machine.js';

/** What {@link SnapshotTaker} needs from its node. */
export interface SnapshotTakerHost<Result> {
  readonly options: Pick<
    ResolvedNodeOptions<Result>,
    'id' | 'storage' | 'snapshots' | 'stateMachine' | 'snapshotting' | 'clock' | 'tickIntervalMs' | 'electionTicks'
  >;
  readonly core: RawNode;
  readonly sessions: SessionTable;
  readonly addresses: MemberAddresses;
  readonly sender: Pick<SnapshotSender, 'lowestIndexInFlight'>;
  readonly receiver: Pick<SnapshotReceiver, 'receiving'>;
  /** Where `snapshot` (taken) and `snapshotFailed` are emitted. */
  readonly events: Pick<TypedEmitter<NodeEvents>, 'emit'>;
  /** The index of the newest entry applied to the state machine. */
  appliedIndex(): Index;
  /** False once the node is closed or failed. */
  isRunning(): boolean;
  /** Compacting the log failed: the log storage is unusable and the node must stop. */
  fail(error: unknown): void;
}

/** The one snapshot being written in the background. */
interface Job {
  readonly meta: SnapshotMeta;
  readonly source: SnapshotSource;
  /** The session table and member addresses as of the capture, framed. */
  readonly prefix: Uint8Array;
  /** Payload bytes applied up to the capture: the ones this snapshot covers. */
  readonly bytesCovered: number;
  abandoned: boolean;
  /** Resolves {@link stopped}: a chunk the job is waiting for is given up at once. */
  readonly abandon: () => void;
  readonly stopped: Promise<typeof ABANDONED>;
  done: Promise<void>;
}

const ABANDONED = Symbol('abandoned');

/** How a write ended when it did not fail. */
type WriteOutcome = 'committed' | 'abandoned';

/**
 * This node's own snapshots. {@link maybeTake} is called by the owner loop
 * after each Ready; when a snapshot is due it **captures** the state
 * synchronously at the applied index (the state machine's `capture()`, the
 * session table, the member addresses, the configuration at that index) and
 * returns at once. The capture is then **written** to the snapshot store in
 * the background, and the log compacted behind it, while the loop keeps
 * sending, persisting and applying.
 *
 * - At most one snapshot is written at a time.
 * - A snapshot arriving from the leader takes precedence: a write in progress
 *   is abandoned (its writer aborted) as soon as chunks arrive, and none
 *   starts while they do.
 * - Compaction happens when the write commits, keeps `keepEntries`, and never
 *   passes a snapshot still being sent, so a far-behind follower that just
 *   installed one can continue from the log instead of needing another (the
 *   livelock of hashicorp/raft #212 and #697).
 * - A failure of the state machine (`capture()` or its stream) or of the
 *   snapshot store is reported as a {@link SnapshotFailedError} through the
 *   `snapshotFailed` event; the node keeps running and tries again after a
 *   backoff (one election timeout, doubling up to 64). Only a failure to
 *   compact the log (the log storage itself) stops the node.
 */
export class SnapshotTaker<Result> {
  private readonly schedule: SnapshotSchedule;
  private job: Job | null = null;
  private stopping = false;

  constructor(
    private readonly host: SnapshotTakerHost<Result>,
    snapshotIndex: Index,
  ) {
    const options = host.options;
    const electionTimeoutMs = options.electionTicks * options.tickIntervalMs;
    this.schedule = new SnapshotSchedule(
      options.id,
      { entries: options.snapshotting.entries, bytes: options.snapshotting.bytes, retryMinMs: electionTimeoutMs, retryMaxMs: 64 * electionTimeoutMs },
      snapshotIndex,
    );
  }

  /** An entry carrying `bytes` of payload was applied. */
  applied(bytes: number): void {
    this.schedule.applied(bytes);
  }

  /** A snapshot from the leader was installed: a local write of an older index is abandoned. */
  installed(meta: SnapshotMeta): void {
    this.schedule.installed(meta.index);
    const job = this.job;
    if (job !== null && job.meta.index <= meta.index) this.abandon(job);
  }

  /** True while a snapshot is being written in the background. */
  get writing(): boolean {
    return this.job !== null;
  }

  /**
   * Captures a snapshot at the applied index if one is due and none is being
   * written, and starts writing it in the background. Synchronous: the only
   * user code it runs is the state machine's `capture()`.
   */
  maybeTake(): void {
    const host = this.host;
    if (this.job !== null || this.stopping || !host.isRunning()) return;
    const index = host.appliedIndex();
    if (!this.schedule.due(index, host.options.clock.now())) return;
    const term = host.core.term(index);
    // A snapshot arriving from the leader takes precedence; ours can wait for the next round.
    if (term === undefined || host.receiver.receiving()) return;
    const point: SnapshotPoint = { index, term };
    let source: SnapshotSource;
    try {
      source = checkSource(host.options.stateMachine.capture(point));
    } catch (error) {
      this.report(new SnapshotFailedError(index, 'capture', { cause: error }));
      return;
    }
    // Everything the snapshot holds besides the user's state is read now, at the same index.
    const prefix = snapshotPrefix(encodeRuntimeHeader(host.sessions.encode(), host.addresses));
    // The configuration of the snapshot's own position, not a newer one from the log's tail.
    const meta: SnapshotMeta = { index, term, membership: host.core.membershipAt(index) };
    let abandon = (): void => undefined;
    const stopped = new Promise<typeof ABANDONED>((resolve) => (abandon = () => resolve(ABANDONED)));
    const job: Job = { meta, source, prefix, bytesCovered: this.schedule.bytesApplied, abandoned: false, abandon, stopped, done: Promise.resolve() };
    this.job = job;
    job.done = this.run(job);
  }

  /** Abandons a write in progress and waits until it has let go of the store (for `close()`). */
  async stop(): Promise<void> {
    this.stopping = true;
    const job = this.job;
    if (job === null) return;
    this.abandon(job);
    await job.done;
  }

  /** Writes `job`, compacts the log behind it and reports; never rejects. */
  private async run(job: Job): Promise<void> {
    try {
      const outcome = await this.write(job);
      if (outcome === 'committed' && !job.abandoned && this.host.isRunning()) await this.compact(job.meta, job.bytesCovered);
    } catch (error) {
      if (error instanceof SnapshotFailedError) this.report(error);
      else this.host.fail(error);
    } finally {
      this.job = null;
      release(job.source);
    }
  }

  /** Streams the prefix and the user's chunks into a new snapshot and commits it, unless abandoned first. */
  private async write(job: Job): Promise<WriteOutcome> {
    const index = job.meta.index;
    let writer: SnapshotWriter;
    try {
      writer = await this.host.options.snapshots.create(job.meta);
    } catch (error) {
      // The same index is being written by an incoming snapshot (found by the runtime simulator): skip this round.
      if (error instanceof InvalidArgumentError) return 'abandoned';
      throw new SnapshotFailedError(index, 'store', { cause: error });
    }
    try {
      await stage(index, 'store', () => writer.write(job.prefix));
      const chunks = await stage(index, 'stream', async () => job.source.chunks()[Symbol.asyncIterator]());
      for (;;) {
        if (this.shouldAbandon(job)) return await abort(writer, chunks);
        const next = chunks.next();
        // Abandoning must not wait for a slow stream; a chunk that settles later is dropped.
        next.catch(() => undefined);
        const result = await stage(index, 'stream', () => Promise.race([next, job.stopped]));
        if (result === ABANDONED) return await abort(writer, chunks);
        if (result.done === true) break;
        if (!(result.value instanceof Uint8Array)) throw new SnapshotFailedError(index, 'stream', { cause: new InvalidArgumentError('a snapshot chunk must be a Uint8Array') });
        await stage(index, 'store', () => writer.write(result.value));
      }
      if (this.shouldAbandon(job)) return await abort(writer, null);
      await stage(index, 'store', () => writer.commit());
      return 'committed';
    } catch (error) {
      await writer.abort().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Compacts the log behind a committed snapshot (keeping `keepEntries`, and
   * not past a snapshot being sent), then reports it taken. A log storage
   * error propagates: the node must stop.
   */
  private async compact(meta: SnapshotMeta, bytesCovered: number): Promise<void> {
    const host = this.host;
    const storage = host.options.storage;
    const sending = host.sender.lowestIndexInFlight();
    const compactTo = Math.min(meta.index - host.options.snapshotting.keepEntries, sending ?? Number.MAX_SAFE_INTEGER);
    // Checked right before the call: writes apply in call order, so a snapshot installed meanwhile is seen here.
    if (compactTo > storage.firstIndex() - 1 && compactTo >= host.core.status().firstIndex - 1) {
      await storage.saveSnapshot({ index: compactTo, term: storage.term(compactTo), membership: host.core.membershipAt(compactTo) });
    }
    this.schedule.succeeded(meta.index, bytesCovered);
    if (host.isRunning()) host.events.emit('snapshot', { kind: 'taken', index: meta.index, term: meta.term });
  }

  private shouldAbandon(job: Job): boolean {
    return job.abandoned || !this.host.isRunning() || this.host.receiver.receiving();
  }

  private abandon(job: Job): void {
    job.abandoned = true;
    job.abandon();
  }

  /** A failed attempt: back off, then tell the application. Silent once the node has stopped. */
  private report(error: SnapshotFailedError): void {
    if (!this.host.isRunning()) return;
    this.schedule.failed(this.host.options.clock.now());
    this.host.events.emit('snapshotFailed', error);
  }
}

/** Runs one step of a write, turning a throw into a {@link SnapshotFailedError} of that stage. */
async function stage<T>(index: Index, where: SnapshotFailureStage, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw error instanceof SnapshotFailedError ? error : new SnapshotFailedError(index, where, { cause: error });
  }
}

/** Discards an abandoned write and tells the stream to stop (without waiting for it). */
async function abort(writer: SnapshotWriter, chunks: AsyncIterator<Uint8Array> | null): Promise<WriteOutcome> {
  chunks?.return?.()?.catch(() => undefined);
  await writer.abort().catch(() => undefined);
  return 'abandoned';
}

/** `capture()` must return a source; anything else is the state machine's mistake, reported like a throw. */
function checkSource(source: SnapshotSource): SnapshotSource {
  if (typeof source !== 'object' || source === null || typeof source.chunks !== 'function') {
    throw new InvalidArgumentError('capture() must return an object with a chunks() method');
  }
  return source;
}

/** Lets the state machine drop its view; a throw there cannot affect the snapshot any more and is ignored. */
function release(source: SnapshotSource): void {
  try {
    source.release?.();
  } catch {
    // The view is the state machine's own: nothing of the node depends on releasing it.
  }
}
