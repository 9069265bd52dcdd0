/**
 * Injected time for the runtime and the adapters. Production uses
 * {@link SystemClock}; tests and the simulator use {@link VirtualClock}, which
 * only moves when told to, so a whole cluster run is reproducible and never
 * sleeps on wall time.
 *
 * It lives in `src/util`, beside `random.ts` (injected randomness), because
 * both the runtime (`src/node`) and the transports (`src/transport`) schedule
 * on it, and an adapter must not import the runtime. It imports nothing but
 * `assert`. The pure core never sees a clock: its time is `tick()`.
 */
import { assert } from './assert.js';

/** An opaque handle of a scheduled callback. */
export type TimerHandle = {
  /** Unique among the handles of one clock. */
  readonly id: number;
};

/** A source of time and timers: {@link SystemClock} in production, {@link VirtualClock} in tests and the simulator. */
export interface Clock {
  /** Milliseconds on this clock's own timeline (not necessarily wall time). */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a callback scheduled with `setTimeout`; a handle that already ran or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `performance.now()` and Node's timers. A zero delay runs on
 * the next turn of the event loop (`setImmediate`), not after the 1 ms floor of
 * Node's timers, so an in-process message hop costs microseconds. A running
 * node's tick timer keeps the process alive, as a server's should;
 * `RaftNode.close()` clears it, so nothing dangles after close.
 */
export class SystemClock implements Clock {
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    // The handle holds Node's timer itself: a runtime sets and clears one per request, so no lookup table.
    const timer = new SystemTimer(this.nextId++);
    if (delayMs <= 0) timer.immediate = setImmediate(callback);
    else timer.timeout = setTimeout(callback, delayMs);
    return timer;
  }

  /** Cancels a callback scheduled with `setTimeout`; a handle that already ran or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof SystemTimer)) return;
    if (handle.timeout !== null) clearTimeout(handle.timeout);
    if (handle.immediate !== null) clearImmediate(handle.immediate);
    handle.timeout = null;
    handle.immediate = null;
  }
}

/** A timer of a {@link SystemClock}: its handle, holding Node's own. */
class SystemTimer implements TimerHandle {
  timeout: NodeJS.Timeout | null = null;
  immediate: NodeJS.Immediate | null = null;

  constructor(readonly id: number) {}
}

/** A timer of a {@link VirtualClock}; it is its own handle. */
class Scheduled implements TimerHandle {
  constructor(
    readonly id: number,
    readonly at: number,
    /** Null once run or cleared: a cleared entry stays in the heap until it reaches the top. */
    public callback: (() => void) | null,
    readonly owner: VirtualClock,
  ) {}
}

/**
 * A clock that moves only when {@link advance} is called. Callbacks due at the
 * same instant run in the order they were scheduled, so runs are deterministic.
 *
 * The queue is a binary min-heap on (time, id): a simulator keeps hundreds of
 * timers pending (request deadlines, messages in flight), and each event both
 * schedules and runs one. A cleared timer is only marked, and dropped when it
 * reaches the top.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private readonly heap: Scheduled[] = [];
  /** Timers scheduled and neither run nor cleared. */
  private live = 0;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const scheduled = new Scheduled(id, this.time + Math.max(0, delayMs), callback, this);
    this.live++;
    this.push(scheduled);
    return scheduled;
  }

  /** Cancels a callback scheduled with `setTimeout`; a handle that already ran or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof Scheduled) || handle.owner !== this || handle.callback === null) return;
    handle.callback = null;
    this.live--;
  }

  /** The time of the next due callback, or null. */
  nextDueAt(): number | null {
    return this.peek()?.at ?? null;
  }

  /** Pending callbacks. */
  pending(): number {
    return this.live;
  }

  /**
   * Moves time forward by `ms`, running every callback that falls due, in
   * time order. `settle` is awaited after each callback so that promise
   * chains the callback started can run before time moves on.
   */
  async advance(ms: number, settle: () => Promise<void> = flushMicrotasks): Promise<void> {
    const target = this.time + ms;
    while (this.runNextDue(target)) await settle();
    this.moveTo(target);
    await settle();
  }

  /**
   * Runs the earliest callback due at or before `targetMs`, with time moved
   * to when it fell due, and returns true; returns false, leaving time
   * alone, when none is due. For event loops that settle between callbacks
   * in their own way ({@link advance} is built on it).
   */
  runNextDue(targetMs: number): boolean {
    const next = this.peek();
    if (next === undefined || next.at > targetMs) return false;
    this.pop();
    this.live--;
    const callback = next.callback!;
    next.callback = null;
    this.time = next.at;
    callback();
    return true;
  }

  /** Moves time forward to `timeMs`, running nothing: every callback due before it must have run. */
  moveTo(timeMs: number): void {
    const next = this.peek();
    if (!(timeMs >= this.time && (next === undefined || next.at > timeMs))) {
      assert(false, `VirtualClock.moveTo(${timeMs}) from ${this.time} with a callback due at ${String(next?.at)}`);
    }
    this.time = timeMs;
  }

  /** The earliest live timer, after dropping cleared ones from the top. */
  private peek(): Scheduled | undefined {
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.callback === null) this.pop();
    return heap[0];
  }

  private push(scheduled: Scheduled): void {
    const heap = this.heap;
    let position = heap.length;
    heap.push(scheduled);
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!before(scheduled, heap[parent]!)) break;
      heap[position] = heap[parent]!;
      position = parent;
    }
    heap[position] = scheduled;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let position = 0;
    for (;;) {
      const left = 2 * position + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[position] = heap[child]!;
      position = child;
    }
    heap[position] = last;
  }
}

/** Heap order: earlier time first; at equal times, scheduling order (ids grow). */
function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/** Lets every already-resolved promise continuation run (several macrotask turns for chained awaits). */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
