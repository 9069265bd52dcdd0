/**
 * Injected time for the runtime. Production uses {@link SystemClock}; tests and
 * the simulator use {@link VirtualClock}, which only moves when told to, so a
 * whole cluster run is reproducible and never sleeps on wall time.
 */

/** An opaque handle of a scheduled callback. */
export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds on this clock's own timeline (not necessarily wall time). */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
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
  private readonly timeouts = new Map<number, NodeJS.Timeout>();
  private readonly immediates = new Map<number, NodeJS.Immediate>();
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    if (delayMs <= 0) {
      this.immediates.set(
        id,
        setImmediate(() => {
          this.immediates.delete(id);
          callback();
        }),
      );
    } else {
      this.timeouts.set(
        id,
        setTimeout(() => {
          this.timeouts.delete(id);
          callback();
        }, delayMs),
      );
    }
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const timeout = this.timeouts.get(handle.id);
    if (timeout !== undefined) clearTimeout(timeout);
    const immediate = this.immediates.get(handle.id);
    if (immediate !== undefined) clearImmediate(immediate);
    this.timeouts.delete(handle.id);
    this.immediates.delete(handle.id);
  }
}

interface Scheduled {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when {@link advance} is called. Callbacks due at the
 * same instant run in the order they were scheduled, so runs are deterministic.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private queue: Scheduled[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    const at = this.time + Math.max(0, delayMs);
    // Insert keeping (at, id) order; ids grow, so equal times keep scheduling order.
    let position = this.queue.length;
    while (position > 0 && this.queue[position - 1]!.at > at) position--;
    this.queue.splice(position, 0, { id, at, callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.queue = this.queue.filter((scheduled) => scheduled.id !== handle.id);
  }

  /** The time of the next due callback, or null. */
  nextDueAt(): number | null {
    return this.queue[0]?.at ?? null;
  }

  /** Pending callbacks. */
  pending(): number {
    return this.queue.length;
  }

  /**
   * Moves time forward by `ms`, running every callback that falls due, in
   * time order. `settle` is awaited after each callback so that promise
   * chains the callback started can run before time moves on.
   */
  async advance(ms: number, settle: () => Promise<void> = flushMicrotasks): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > target) break;
      this.queue.shift();
      this.time = next.at;
      next.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

/** Lets every already-resolved promise continuation run (several macrotask turns for chained awaits). */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
