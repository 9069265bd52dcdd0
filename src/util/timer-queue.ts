import { assert } from './assert.js';
import type { Clock, TimerHandle } from './clock.js';

/** Something with a deadline of its own: {@link TimerQueue.setDeadline} calls `deadlinePassed` instead of a callback. */
export interface HasDeadline {
  deadlinePassed(): void;
}

/** One deadline in a {@link TimerQueue}. */
class QueuedTimer implements TimerHandle {
  /** Position in the heap, or -1 once fired or cancelled. */
  slot = -1;

  constructor(
    readonly atMs: number,
    /** Insertion order: deadlines that fall at the same time fire in the order they were set. */
    readonly sequence: number,
    /** What runs when the deadline passes: a callback, or an object's `deadlinePassed` (no closure per deadline). */
    readonly callback: (() => void) | HasDeadline,
  ) {}

  get id(): number {
    return this.sequence;
  }
}

/**
 * Many deadlines on one timer of the underlying clock: a binary heap ordered
 * by deadline (then by insertion), with the clock's timer armed for the
 * earliest. Every request of a node (a proposal, a read, a transfer) carries
 * a deadline that almost never fires; one Node.js timer per request cost a
 * timer object, a list insertion and a removal each, and their garbage.
 * Here a request costs one small object and O(log n) heap moves, and
 * cancelling is O(log n) too (no tombstones left behind).
 *
 * Implements the clock's timer interface, so any code that takes a
 * {@link Clock} can use it; `now()` is the underlying clock's. Deterministic
 * on a virtual clock: equal deadlines fire in the order they were set.
 */
export class TimerQueue implements Clock {
  private readonly heap: QueuedTimer[] = [];
  private sequence = 0;
  /** The underlying timer and the deadline it is armed for, or null. */
  private armed: { readonly handle: TimerHandle; readonly atMs: number } | null = null;

  constructor(private readonly clock: Clock) {}

  /** Deadlines waiting. */
  get size(): number {
    return this.heap.length;
  }

  now(): number {
    return this.clock.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.add(callback, delayMs);
  }

  /** Like {@link setTimeout}, calling `target.deadlinePassed()`: a request that is its own deadline needs no closure. */
  setDeadline(target: HasDeadline, delayMs: number): TimerHandle {
    return this.add(target, delayMs);
  }

  private add(callback: (() => void) | HasDeadline, delayMs: number): TimerHandle {
    const timer = new QueuedTimer(this.clock.now() + Math.max(0, delayMs), this.sequence++, callback);
    timer.slot = this.heap.length;
    this.heap.push(timer);
    this.siftUp(timer.slot);
    this.arm();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof QueuedTimer) || handle.slot < 0) return;
    this.removeAt(handle.slot);
    // With nothing left to wait for, nothing may keep the process alive. Otherwise the underlying timer stays
    // armed for a deadline that may be gone: it then finds nothing due and re-arms.
    if (this.heap.length === 0 && this.armed !== null) {
      this.clock.clearTimeout(this.armed.handle);
      this.armed = null;
    }
  }

  /** Fires every deadline that is due, in order, then re-arms for the next. */
  private fire(): void {
    this.armed = null;
    const now = this.clock.now();
    for (let top = this.heap[0]; top !== undefined && top.atMs <= now; top = this.heap[0]) {
      this.removeAt(0);
      const callback = top.callback;
      if (typeof callback === 'function') callback();
      else callback.deadlinePassed();
    }
    this.arm();
  }

  private arm(): void {
    const top = this.heap[0];
    if (top === undefined) return;
    if (this.armed !== null) {
      if (this.armed.atMs <= top.atMs) return;
      this.clock.clearTimeout(this.armed.handle);
    }
    this.armed = { handle: this.clock.setTimeout(() => this.fire(), top.atMs - this.clock.now()), atMs: top.atMs };
  }

  private removeAt(slot: number): void {
    const heap = this.heap;
    const removed = heap[slot]!;
    assert(removed.slot === slot, () => `timer queue: timer at slot ${slot} thinks it is at ${removed.slot}`);
    removed.slot = -1;
    const last = heap.pop()!;
    if (slot === heap.length) return;
    heap[slot] = last;
    last.slot = slot;
    this.siftDown(slot);
    this.siftUp(last.slot);
  }

  private siftUp(slot: number): void {
    const heap = this.heap;
    const timer = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (!earlier(timer, parent)) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = timer;
    timer.slot = slot;
  }

  private siftDown(slot: number): void {
    const heap = this.heap;
    const timer = heap[slot]!;
    const length = heap.length;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && earlier(heap[right]!, heap[child]!)) child = right;
      if (!earlier(heap[child]!, timer)) break;
      heap[slot] = heap[child]!;
      heap[slot]!.slot = slot;
      slot = child;
    }
    heap[slot] = timer;
    timer.slot = slot;
  }
}

function earlier(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
}
