/**
 * A node's own view of time in the simulated world: the world's virtual clock
 * seen through a drift rate, with pause (a GC-like stop) and kill (a crash).
 *
 * Why a wrapper and not a clock per node: one world clock orders every event
 * of the run in one queue, which is what makes the run deterministic. Each
 * node's timers are entries in that queue; this adapter only rescales their
 * delays, holds them while the node is paused and forgets them once it died.
 */
import type { Clock, TimerHandle, VirtualClock } from '../../src/util/clock.js';

interface HeldCallback {
  readonly id: number;
  readonly callback: () => void;
}

/** A {@link Clock} for one node incarnation, driven by the world's {@link VirtualClock}. */
export class NodeClock implements Clock {
  /** Our handle id → the world clock's handle, for timers not yet fired. */
  private readonly live = new Map<number, TimerHandle>();
  /** Callbacks that fell due while paused, in the order they fell due. */
  private held: HeldCallback[] = [];
  private nextId = 1;
  private paused = false;
  private killed = false;
  private readonly anchorWorldMs: number;

  /**
   * @param world - the world's clock.
   * @param rate - local milliseconds per world millisecond: 1.01 is a clock
   *   running 1 % fast (its timers fire early in world time).
   * @param startMs - this clock's reading now (a restarted node's clock does not start at 0).
   */
  constructor(
    private readonly world: VirtualClock,
    readonly rate: number = 1,
    private readonly startMs: number = world.now(),
  ) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`NodeClock: rate must be a positive number, got ${rate}`);
    this.anchorWorldMs = world.now();
  }

  /** Local time: it keeps running while the node is paused, as a real monotonic clock does. */
  now(): number {
    return this.startMs + (this.world.now() - this.anchorWorldMs) * this.rate;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    if (this.killed) return { id };
    this.schedule(id, callback, Math.max(0, delayMs) / this.rate);
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const worldHandle = this.live.get(handle.id);
    if (worldHandle !== undefined) {
      this.world.clearTimeout(worldHandle);
      this.live.delete(handle.id);
      return;
    }
    if (this.held.length > 0) this.held = this.held.filter((held) => held.id !== handle.id);
  }

  /** True while paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Stops running this node's callbacks; those that fall due are held until {@link resume}. */
  pause(): void {
    this.paused = true;
  }

  /** Runs the held callbacks, each as its own world event at the current time, in the order they fell due. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const { id, callback } of held) this.schedule(id, callback, 0);
  }

  /** The node died: no callback of this incarnation ever runs again. */
  kill(): void {
    this.killed = true;
    for (const worldHandle of this.live.values()) this.world.clearTimeout(worldHandle);
    this.live.clear();
    this.held = [];
  }

  /** Timers scheduled and not yet run (held ones included). */
  pending(): number {
    return this.live.size + this.held.length;
  }

  private schedule(id: number, callback: () => void, worldDelayMs: number): void {
    const worldHandle = this.world.setTimeout(() => {
      this.live.delete(id);
      if (this.killed) return;
      if (this.paused) this.held.push({ id, callback });
      else callback();
    }, worldDelayMs);
    this.live.set(id, worldHandle);
  }
}
