/**
 * A tap on a simulated world: it sees every trace event and every message
 * as the run goes, without changing anything about the run (no random draw,
 * no clock callback, no trace line of its own), so a tapped run is the same
 * run as an untapped one. `keel sim --trace` uses it to draw a timeline.
 */
import type { NodeId } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';
import type { World } from './world.js';

/** What a tap is shown. */
export interface WorldTap {
  /** A trace event (the lines of a report's "last events"), at world time `timeMs`. */
  event(timeMs: number, event: string): void;
  /** Node `from` handed `message` to the network; a duplicated message is sent twice. */
  sent(timeMs: number, from: NodeId, to: NodeId, message: NodeMessage): void;
  /** Node `to` received `message` (a paused node receives it when it resumes). */
  delivered(timeMs: number, from: NodeId, to: NodeId, message: NodeMessage): void;
  /**
   * Optional: the world, once it is built and before it starts, for a viewer
   * that reads its state between events (the playground). It must only read.
   */
  attach?(world: World): void;
}
