/**
 * The playground's pacing of the world. The simulator waits for its promise
 * chains between events through a {@link TurnScheduler} (sim/world/turns.ts);
 * the playground installs this one, which holds each of those callbacks until
 * the page lets the world go on. While a callback is held the world is
 * frozen between two events with every promise chain settled, so the page
 * can draw it, step it by one event, or leave it and replay another run.
 */
import type { TurnScheduler } from '../../sim/world/turns.js';

/** Whoever decides when the world may go on: the current {@link Session}. */
export interface TurnSink {
  /** The world asked to go on with `callback` once its chains settled. */
  enqueue(callback: () => void): void;
}

/** A turn scheduler that hands every wait of the world to the current sink. */
export class PacedTurns implements TurnScheduler {
  private sink: TurnSink | null = null;

  /** The sink that receives the world's waits from now on (the run being shown). */
  attach(sink: TurnSink): void {
    this.sink = sink;
  }

  /** Hands the world's wait to the current sink, which releases it when the page lets the world go on. */
  afterMicrotasks(callback: () => void): void {
    if (this.sink === null) throw new Error('playground: the world waited with no session attached');
    this.sink.enqueue(callback);
  }

  /** The world's periodic yield: held like any other wait, since between turns the page owns the event loop anyway. */
  nextTurn(callback: () => void): void {
    this.afterMicrotasks(callback);
  }
}

/**
 * Calls `callback` in a task of its own, after the microtask queue drained:
 * a `MessageChannel` message, which unlike `setTimeout` is not clamped to
 * 4 ms when nested.
 */
export function postTask(callback: () => void): void {
  queued.push(callback);
  channel.port2.postMessage(null);
}

const channel = new MessageChannel();
const queued: (() => void)[] = [];
channel.port1.onmessage = () => queued.shift()?.();
