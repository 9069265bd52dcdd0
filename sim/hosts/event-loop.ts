/**
 * The event loop of a simulated world, as `World.runEvents` runs it
 * (sim/world/world.ts explains each step): one clock callback at a time,
 * each followed by a drain of every promise chain it started and then the
 * world's checks. Shared here so the multi-group world runs its events
 * exactly the way the single-group world does.
 */
import type { VirtualClock } from '../../src/util/clock.js';
import { turns } from '../world/turns.js';

/** Every this many events the loop yields one real event-loop turn (nothing in the world is pending then). */
const YIELD_EVERY_EVENTS = 1024;
const RESOLVED = Promise.resolve();

/** What the loop calls around each event. */
export interface EventLoopWorld {
  readonly clock: VirtualClock;
  /** Called after each event's drain: counts it; returns the new count. */
  countEvent(): number;
  /** Checks after each event; throws to stop the world. */
  afterEvent(): void;
}

/**
 * Runs every event due up to `targetMs`, then moves the clock there. Rejects
 * with what `afterEvent` or an event threw.
 */
export function runEvents(world: EventLoopWorld, targetMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const clock = world.clock;
    let finished = false;
    const afterDrain = (): void => {
      try {
        if (world.countEvent() % YIELD_EVERY_EVENTS === 0) turns.nextTurn(afterYield);
        else afterYield();
      } catch (error) {
        reject(error);
      }
    };
    // The world's scheduler (turns.ts), as World.runEvents uses: Node's in Node, a MessageChannel in a browser.
    const queueAfterDrain = (): void => turns.afterMicrotasks(afterDrain);
    const afterYield = (): void => {
      try {
        world.afterEvent();
        if (finished) {
          resolve();
          return;
        }
        runNext();
      } catch (error) {
        reject(error);
      }
    };
    const runNext = (): void => {
      if (!clock.runNextDue(targetMs)) {
        clock.moveTo(targetMs);
        finished = true;
      }
      void RESOLVED.then(queueAfterDrain);
    };
    try {
      runNext();
    } catch (error) {
      reject(error);
    }
  });
}
