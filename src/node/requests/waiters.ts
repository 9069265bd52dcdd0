import type { Index, Term } from '../../core/types.js';
import { AbortedError, ProposalLostError, TimeoutError } from '../../errors.js';
import { assert } from '../../util/assert.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { TimerQueue } from '../../util/timer-queue.js';
import type { HasDeadline } from '../../util/timer-queue.js';

/** A promise's settle functions with the timer and abort listener that guard it. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  /** True once resolved or rejected. */
  readonly settled: boolean;
}

/**
 * A promise that is guaranteed to settle: it rejects with `TimeoutError` after
 * `timeoutMs` on `clock`, or with `AbortedError` when `signal` fires, unless it
 * settled first. `onCancel` runs when the deadline or the signal ends it, so
 * the caller can forget its bookkeeping (no leaked state).
 */
export function guardedPromise<T>(
  what: string,
  clock: Clock,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onCancel: () => void,
  onSettled: (() => void) | null = null,
): Deferred<T> {
  return new GuardedDeferred<T>(what, clock, timeoutMs, signal, onCancel, onSettled);
}

let capturedResolve: (value: unknown) => void = () => undefined;
let capturedReject: (error: unknown) => void = () => undefined;

/** A promise executor that hands its resolvers to the constructor that just ran it (synchronously). */
function captureResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve as (value: unknown) => void;
  capturedReject = reject;
}

/**
 * {@link guardedPromise}'s deferred. A class with methods rather than a bundle
 * of closures: every request makes one, so the fewer objects the better.
 * `resolve` and `reject` are methods: call them on the deferred.
 */
class GuardedDeferred<T> implements Deferred<T>, HasDeadline {
  readonly promise: Promise<T>;
  settled = false;
  private resolvePromise!: (value: T) => void;
  private rejectPromise!: (error: unknown) => void;
  private timer: TimerHandle | null = null;
  private onAbort: (() => void) | null = null;

  constructor(
    private readonly what: string,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onCancel: () => void,
    /** Runs once when the deferred settles, however it does (cheaper than a `then` on the promise: no promise, no microtask). */
    private readonly onSettled: (() => void) | null,
  ) {
    // A module-level executor: no closure (and its context) per request.
    this.promise = new Promise<T>(captureResolvers);
    this.resolvePromise = capturedResolve as (value: T) => void;
    this.rejectPromise = capturedReject;
    if (signal?.aborted === true) {
      this.settled = true;
      onSettled?.();
      this.rejectPromise(new AbortedError(what, { cause: signal.reason }));
      return;
    }
    this.timer = clock instanceof TimerQueue ? clock.setDeadline(this, timeoutMs) : clock.setTimeout(() => this.deadlinePassed(), timeoutMs);
    if (signal !== undefined) {
      this.onAbort = () => this.abort();
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  resolve(value: T): void {
    if (this.finish(false)) this.resolvePromise(value);
  }

  reject(error: unknown): void {
    if (this.finish(false)) this.rejectPromise(error);
  }

  /** @internal The deadline passed before the deadline settled: it rejects with `TimeoutError`. */
  deadlinePassed(): void {
    if (this.finish(true)) this.rejectPromise(new TimeoutError(this.what, this.timeoutMs));
  }

  private abort(): void {
    if (this.finish(true)) this.rejectPromise(new AbortedError(this.what, { cause: this.signal?.reason }));
  }

  /** Marks the deferred settled and releases its timer and listener (and the caller's bookkeeping when cancelled); false if it already was settled. */
  private finish(cancelled: boolean): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    if (this.onAbort !== null) this.signal?.removeEventListener('abort', this.onAbort);
    if (cancelled) this.onCancel();
    this.onSettled?.();
    return true;
  }
}

interface ApplyWaiter<Result> {
  readonly term: Term;
  readonly deferred: Deferred<Result>;
}

/**
 * Proposals waiting for their entry to be applied on this node, by index. When
 * the entry at an index is applied, its waiter resolves with the state
 * machine's result if the entry is the one proposed (same term), and rejects
 * with `ProposalLostError` if a new leader replaced it. Recent results are
 * kept for a while, for a forwarded proposal whose answer arrives after the
 * follower already applied its entry.
 */
export class ApplyWaiters<Result> {
  /**
   * The waiters of each index: almost always one proposal, kept as itself;
   * a list only when a second waits at the same index (a membership change
   * waiting on its own entry, a forwarded answer racing a retry). An array
   * per proposal cost an array and its backing store on every entry.
   */
  private readonly waiting = new Map<Index, ApplyWaiter<Result> | ApplyWaiter<Result>[]>();
  /**
   * The outcomes of the last `recentLimit` applied entries, oldest first from
   * `recentStart` (the slots before it are dropped in batches). Applied
   * indexes only grow, so the window is sorted and searched by halving. It
   * grows with use: a ring allocated at its full size up front cost every
   * node start `recentLimit` slots three times over, most never used.
   * (A Map evicting its oldest key was slow here: after many deletions,
   * finding the first live key walks over every deleted slot.)
   */
  private readonly recentIndex: Index[] = [];
  private readonly recentTerm: Term[] = [];
  private readonly recentOutcome: ApplyOutcome<Result>[] = [];
  private recentStart = 0;

  constructor(private readonly recentLimit: number) {
    if (!(Number.isSafeInteger(recentLimit) && recentLimit >= 1)) throw new RangeError(`ApplyWaiters: recentLimit must be a positive integer, got ${recentLimit}`);
  }

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Waits for `index` proposed in `term`; `appliedIndex` is how far this node
   * has applied already (the entry may be among what was applied).
   */
  add(index: Index, term: Term, deferred: Deferred<Result>, appliedIndex: Index): void {
    if (index <= appliedIndex) {
      const slot = this.recentSlot(index);
      if (slot < 0) deferred.reject(new ProposalLostError(index, term, 0));
      else if (this.recentTerm[slot] === term) settle(deferred, this.recentOutcome[slot]!);
      else deferred.reject(new ProposalLostError(index, term, this.recentTerm[slot]!));
      return;
    }
    const waiter: ApplyWaiter<Result> = { term, deferred };
    const present = this.waiting.get(index);
    if (present === undefined) this.waiting.set(index, waiter);
    else if (Array.isArray(present)) present.push(waiter);
    else this.waiting.set(index, [present, waiter]);
  }

  /** Forgets a waiter that ended by timeout or abort. */
  remove(index: Index, deferred: Deferred<Result>): void {
    const list = listOf(this.waiting.get(index)).filter((waiter) => waiter.deferred !== deferred);
    if (list.length === 0) this.waiting.delete(index);
    else this.waiting.set(index, list.length === 1 ? list[0]! : list);
  }

  /** The entry at `index` of `term` was applied with `outcome`. */
  applied(index: Index, term: Term, outcome: ApplyOutcome<Result>): void {
    this.remember(index, term, outcome);
    const present = this.waiting.get(index);
    if (present === undefined) return;
    this.waiting.delete(index);
    if (!Array.isArray(present)) settleWaiter(present, index, term, outcome);
    else for (const waiter of present) settleWaiter(waiter, index, term, outcome);
  }

  /**
   * A snapshot jumped the state to `index`: results of the entries it covers
   * are unknown here. Waiters at or below it are rejected as lost only if we
   * cannot tell; they are settled with `error`.
   */
  skipTo(index: Index, error: (waiterIndex: Index) => unknown): void {
    for (const [waiterIndex, present] of this.waiting) {
      if (waiterIndex > index) continue;
      this.waiting.delete(waiterIndex);
      for (const waiter of listOf(present)) waiter.deferred.reject(error(waiterIndex));
    }
  }

  /** Keeps the outcome of `index` among the recent ones, dropping the oldest beyond `recentLimit`. */
  private remember(index: Index, term: Term, outcome: ApplyOutcome<Result>): void {
    const last = this.recentIndex[this.recentIndex.length - 1];
    if (!(last === undefined || index > last)) assert(false, `ApplyWaiters: applied ${index} after ${String(last)}`);
    this.recentIndex.push(index);
    this.recentTerm.push(term);
    this.recentOutcome.push(outcome);
    if (this.recentIndex.length - this.recentStart > this.recentLimit) this.recentStart++;
    // Dropped slots are cut off once they are as many as the kept ones: amortized O(1) per entry.
    if (this.recentStart >= this.recentLimit) {
      this.recentIndex.splice(0, this.recentStart);
      this.recentTerm.splice(0, this.recentStart);
      this.recentOutcome.splice(0, this.recentStart);
      this.recentStart = 0;
    }
  }

  /** Where the outcome of `index` is kept, or -1 when it is not among the recent ones. */
  private recentSlot(index: Index): number {
    const indexes = this.recentIndex;
    let low = this.recentStart;
    let high = indexes.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const at = indexes[middle]!;
      if (at === index) return middle;
      if (at < index) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** Rejects every waiter (the node is closing or failed). */
  rejectAll(error: unknown): void {
    for (const present of this.waiting.values()) for (const waiter of listOf(present)) waiter.deferred.reject(error);
    this.waiting.clear();
  }
}

/** What applying an entry produced for its proposer: the state machine's result, or a typed refusal (a stale session request). */
export type ApplyOutcome<Result> = { readonly ok: true; readonly result: Result } | { readonly ok: false; readonly error: Error };

function listOf<Result>(present: ApplyWaiter<Result> | ApplyWaiter<Result>[] | undefined): ApplyWaiter<Result>[] {
  return present === undefined ? [] : Array.isArray(present) ? present : [present];
}

/** The waiter's entry was applied: its outcome if it is the entry proposed (same term), else it was lost. */
function settleWaiter<Result>(waiter: ApplyWaiter<Result>, index: Index, term: Term, outcome: ApplyOutcome<Result>): void {
  if (waiter.term === term) settle(waiter.deferred, outcome);
  else waiter.deferred.reject(new ProposalLostError(index, waiter.term, term));
}

function settle<Result>(deferred: Deferred<Result>, outcome: ApplyOutcome<Result>): void {
  if (outcome.ok) deferred.resolve(outcome.result);
  else deferred.reject(outcome.error);
}
