import { EventEmitter } from 'node:events';
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

/** A typed wrapper around Node's EventEmitter. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  /** Calls `listener` on every `event` until {@link off} removes it. */
  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with {@link on} or {@link once}. */
  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** @internal */
  emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    this.emitter.emit(event, ...args);
  }

  /** @internal True when `event` has listeners: a hot path (an event per applied entry) checks before building its arguments. */
  listening(event: keyof Events & string): boolean {
    return this.emitter.listenerCount(event) > 0;
  }
}
