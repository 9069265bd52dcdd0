import type { Index, NodeId, Role, Term } from '../core/types.js';
import type { SnapshotFailedError } from '../errors.js';

/** What the `snapshot` event reports. */
export interface SnapshotEvent {
  /**
   * `taken`: this node's own snapshot is durable in the snapshot store and the
   * log was compacted behind it. `installed`: a snapshot from the leader is
   * durable and the state machine was restored from it.
   */
  readonly kind: 'taken' | 'installed';
  /** The index of the last entry the snapshot covers. */
  readonly index: Index;
  /** The term of that entry. */
  readonly term: Term;
}

/** The events a {@link RaftNode} emits, with their payloads. */
export interface NodeEvents {
  /** This node's role changed. */
  role: [role: Role];
  /** The known leader changed (null: none known). */
  leader: [leader: NodeId | null];
  /** The term changed. */
  term: [term: Term];
  /** The commit index advanced. */
  commit: [commitIndex: Index];
  /** An entry was applied to the state machine. */
  apply: [index: Index];
  /**
   * A snapshot was taken (written in the background, then the log compacted)
   * or installed from the leader. Not emitted for the snapshot a node
   * restores from when it opens.
   */
  snapshot: [snapshot: SnapshotEvent];
  /**
   * Taking a local snapshot failed (the state machine's `capture()` or stream
   * threw, or the snapshot store refused the write). The node keeps running
   * and tries again later (see docs/snapshots.md).
   */
  snapshotFailed: [error: SnapshotFailedError];
  /**
   * This node applied a configuration that no longer includes it: it stopped
   * ticking (it will not campaign) and can be closed.
   */
  removed: [];
  /** The node stopped after a fatal failure; every pending operation was rejected. */
  fatal: [error: Error];
}

/** One registered listener; `once` listeners are removed before they run. */
interface Registration {
  readonly listener: (...args: unknown[]) => void;
  readonly once: boolean;
}

/**
 * A small typed event emitter with Node's EventEmitter semantics for what
 * Keel uses: listeners run synchronously in the order they were added, an
 * emit runs the listeners registered when it began, and `off` removes the
 * most recently added registration of a listener (a `once` one too). Plain
 * JavaScript rather than `node:events`, so the runtime also runs in a
 * browser (the playground).
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly registrations = new Map<keyof Events & string, Registration[]>();

  /** Calls `listener` on every `event` from now on. */
  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    return this.add(event, { listener: listener as (...args: unknown[]) => void, once: false });
  }

  /** Stops calling `listener` (its most recent registration) on `event`. */
  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const list = this.registrations.get(event);
    if (list === undefined) return this;
    const registration = list.findLast((candidate) => candidate.listener === (listener as (...args: unknown[]) => void));
    if (registration !== undefined) this.remove(event, registration);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    return this.add(event, { listener: listener as (...args: unknown[]) => void, once: true });
  }

  /** @internal */
  emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    const list = this.registrations.get(event);
    if (list === undefined) return;
    for (const registration of list) {
      if (registration.once) this.remove(event, registration);
      registration.listener(...args);
    }
  }

  /** @internal True when `event` has listeners: a hot path (an event per applied entry) checks before building its arguments. */
  listening(event: keyof Events & string): boolean {
    return this.registrations.has(event);
  }

  private remove(event: keyof Events & string, registration: Registration): void {
    // A new array: an emit under way keeps the list it started with.
    const rest = (this.registrations.get(event) ?? []).filter((candidate) => candidate !== registration);
    if (rest.length === 0) this.registrations.delete(event);
    else this.registrations.set(event, rest);
  }

  private add(event: keyof Events & string, registration: Registration): this {
    const list = this.registrations.get(event);
    this.registrations.set(event, list === undefined ? [registration] : [...list, registration]);
    return this;
  }
}
