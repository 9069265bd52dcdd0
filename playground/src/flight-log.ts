/**
 * Messages in flight, as the page draws them: what the world's tap saw sent
 * and not yet delivered, by kind (vote, append, heartbeat, snapshot, other),
 * and the ones the network dropped, kept a moment so they can be seen.
 */
import type { NodeId } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';

/** What the page groups messages by. */
export type MessageKind = 'vote' | 'append' | 'heartbeat' | 'snapshot' | 'other';

/** Every message kind, in the order of the legend. */
export const MESSAGE_KINDS: readonly MessageKind[] = ['vote', 'append', 'heartbeat', 'snapshot', 'other'];

/** One message on its way (or lost on it). */
export interface Flight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly kind: MessageKind;
  readonly sentMs: number;
  readonly message: NodeMessage;
  /** World time the network dropped it, or null. */
  lostMs: number | null;
}

/** How long a dropped message stays on screen, in world milliseconds. */
const LOST_VISIBLE_MS = 30;
/** A message not delivered after this long is taken as lost (whatever swallowed it went unseen). */
const UNDELIVERED_MS = 2_000;
/** The most messages kept in flight (a bound, not a limit of the world). */
const FLIGHTS_MAX = 2_000;

/** The kind of a message, for colour and counts. */
export function kindOf(message: NodeMessage): MessageKind {
  switch (message.kind) {
    case 'raft':
      switch (message.message.type) {
        case 'requestVote':
        case 'requestVoteResponse':
        case 'timeoutNow':
          return 'vote';
        case 'appendEntries':
        case 'appendEntriesResponse':
          return 'append';
        case 'heartbeat':
        case 'heartbeatResponse':
          return 'heartbeat';
        case 'installSnapshot':
          return 'snapshot';
        default:
          return 'other';
      }
    case 'snapshotChunk':
    case 'snapshotAck':
      return 'snapshot';
    default:
      return 'other';
  }
}

/** The messages in flight of one run. */
export class FlightLog {
  private flights: Flight[] = [];
  /** Messages lost so far, by kind. */
  readonly lost: Record<MessageKind, number> = { vote: 0, append: 0, heartbeat: 0, snapshot: 0, other: 0 };

  /** The tap saw `message` handed to the network. */
  sent(timeMs: number, from: NodeId, to: NodeId, message: NodeMessage): void {
    this.flights.push({ from, to, kind: kindOf(message), sentMs: timeMs, message, lostMs: null });
    if (this.flights.length > FLIGHTS_MAX) this.flights.splice(0, this.flights.length - FLIGHTS_MAX);
  }

  /** The tap saw `message` arrive: the oldest matching flight landed. */
  delivered(_timeMs: number, from: NodeId, to: NodeId, message: NodeMessage): void {
    const at = this.flights.findIndex((flight) => flight.message === message && flight.from === from && flight.to === to && flight.lostMs === null);
    if (at >= 0) this.flights.splice(at, 1);
  }

  /** The trace says the network dropped a message: `drop a>b …`. The newest flight on that link is marked lost. */
  dropped(timeMs: number, event: string): void {
    const match = /^drop (\S+)>(\S+) /.exec(event);
    if (match === null) return;
    for (let i = this.flights.length - 1; i >= 0; i--) {
      const flight = this.flights[i]!;
      if (flight.from === match[1] && flight.to === match[2] && flight.lostMs === null) {
        flight.lostMs = timeMs;
        this.lost[flight.kind]++;
        return;
      }
    }
  }

  /**
   * The flights to draw at world time `nowMs`; forgets lost ones that have
   * been shown long enough. `dead(from, to)` says whether a link loses what is
   * on it now (it is cut, or its receiver is down: the network then drops
   * the message without a trace line).
   */
  current(nowMs: number, dead: (from: NodeId, to: NodeId) => boolean): readonly Flight[] {
    this.flights = this.flights.filter((flight) => {
      if (flight.lostMs === null && dead(flight.from, flight.to)) {
        flight.lostMs = nowMs;
        this.lost[flight.kind]++;
      }
      if (flight.lostMs !== null) return nowMs - flight.lostMs < LOST_VISIBLE_MS;
      if (nowMs - flight.sentMs < UNDELIVERED_MS) return true;
      this.lost[flight.kind]++;
      return false;
    });
    return this.flights;
  }
}
