/**
 * How the world waits between its events: {@link afterMicrotasks} calls back
 * once every promise chain already started has run (the drain after each
 * event), {@link nextTurn} on a later turn of the event loop (to stay
 * responsive). Under Node these are `process.nextTick` queued from a
 * microtask and `setImmediate`; in a browser, where neither exists, a
 * `MessageChannel` message, a task that likewise runs only once the
 * microtask queue is empty. Either way the world runs the same events in the
 * same order, so a seed's run (and its trace hash) is the same everywhere.
 *
 * A driver that paces the world itself (the playground, which steps, plays
 * and pauses it) installs its own scheduler with {@link useTurnScheduler}.
 *
 * @packageDocumentation
 */

/** Where the world's waits go. */
export interface TurnScheduler {
  /** Calls `callback` once the microtask queue is empty, and before any other event of the world. */
  afterMicrotasks(callback: () => void): void;
  /** Calls `callback` on a later turn of the event loop. */
  nextTurn(callback: () => void): void;
}

interface NodeProcess {
  readonly nextTick: (callback: () => void) => void;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;
const nodeSetImmediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;

/** Node's scheduler: `process.nextTick` queued from a microtask runs once every microtask has (see world.ts). */
function nodeScheduler(nodeProcess: NodeProcess, nodeSetImmediate: (callback: () => void) => unknown): TurnScheduler {
  return {
    afterMicrotasks: (callback) => nodeProcess.nextTick(callback),
    nextTurn: (callback) => void nodeSetImmediate(callback),
  };
}

/** A portable scheduler: each callback is one `MessageChannel` task, which runs after the microtask queue drained. */
export function messageChannelScheduler(): TurnScheduler {
  const channel = new MessageChannel();
  const queued: (() => void)[] = [];
  // `onmessage` (not `on`) is what browsers and Node's MessagePort share; assigning it also starts the port.
  (channel.port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => queued.shift()?.();
  const post = (callback: () => void): void => {
    queued.push(callback);
    channel.port2.postMessage(null);
  };
  return { afterMicrotasks: post, nextTurn: post };
}

/** The scheduler in use; the world reads it at every wait. */
export let turns: TurnScheduler =
  nodeProcess?.nextTick !== undefined && nodeSetImmediate !== undefined ? nodeScheduler(nodeProcess, nodeSetImmediate) : messageChannelScheduler();

/** Replaces the scheduler (for a driver that paces the world); returns the one it replaced. */
export function useTurnScheduler(scheduler: TurnScheduler): TurnScheduler {
  const previous = turns;
  turns = scheduler;
  return previous;
}
