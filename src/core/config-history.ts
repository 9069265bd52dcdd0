import { decodeMembership } from '../confchange/encoding.js';
import { normalizeMembership } from '../confchange/confchange.js';
import type { LogReader } from './log-reader.js';
import { assert } from '../util/assert.js';
import type { Entry, Index, Membership } from './types.js';

/** A configuration and the log index of the entry that installed it (the snapshot's index for a snapshot's configuration). */
export interface ConfigPoint {
  readonly index: Index;
  readonly membership: Membership;
}

/**
 * The configurations a node's log installs, oldest first (dissertation §4.1:
 * a server always uses the latest configuration in its log, committed or
 * not). The first point is the base — the configuration in force at the
 * snapshot, or the newest config entry at or below it — followed by every
 * config entry after it. When a conflicting suffix is truncated, the points
 * it held go too and the node falls back to the configuration before it.
 *
 * Invariant: indexes strictly increase; there is always a base point.
 */
export class ConfigHistory {
  private points: ConfigPoint[];

  constructor(base: ConfigPoint) {
    this.points = [{ index: base.index, membership: normalizeMembership(base.membership) }];
  }

  /**
   * Recomputes the history of a restarted node from its storage: the
   * snapshot's configuration (`base`), then every config entry of the stored
   * log. Storage answers {@link LogReader.configEntries} from memory ("ready
   * at open"), so this never waits and never reads the rest of the log.
   */
  static fromStorage(storage: LogReader, base: ConfigPoint): ConfigHistory {
    const history = new ConfigHistory(base);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    let previous = base.index;
    for (const entry of storage.configEntries()) {
      assert(entry.type === 'config', () => `config history: storage listed entry ${entry.index} of type ${entry.type} as a config entry`);
      assert(entry.index > previous && entry.index >= first && entry.index <= last,
        () => `config history: config entry ${entry.index} is out of order (after ${previous}) or outside the log ${first}..${last}`);
      history.append([entry]);
      previous = entry.index;
    }
    return history;
  }

  /** The configuration in force: the newest point. */
  current(): ConfigPoint {
    return this.points[this.points.length - 1]!;
  }

  /** Every point, oldest first. */
  all(): readonly ConfigPoint[] {
    return this.points;
  }

  /**
   * Entries were written to the log from `entries[0].index` on, replacing
   * whatever the log held there. Returns true when the configuration in force changed.
   */
  append(entries: readonly Entry[]): boolean {
    const first = entries[0];
    if (first === undefined) return false;
    const before = this.current();
    assert(first.index > this.points[0]!.index, () => `config history: append at ${first.index} at or below the base ${this.points[0]!.index}`);
    while (this.current().index >= first.index) this.points.pop();
    for (const entry of entries) {
      if (entry.type !== 'config') continue;
      const membership = decodeMembership(entry.data);
      assert(typeof membership !== 'string', () => `config history: entry ${entry.index}: ${String(membership)}`);
      this.points.push({ index: entry.index, membership });
    }
    return this.current() !== before;
  }

  /** The log was replaced by a snapshot: its configuration is the only one left. */
  restore(point: ConfigPoint): void {
    this.points = [{ index: point.index, membership: normalizeMembership(point.membership) }];
  }

  /**
   * The configuration before the one in force, while the one in force is not
   * committed (its index is above `committed`); null otherwise.
   */
  beforePending(committed: Index): Membership | null {
    const count = this.points.length;
    if (count < 2 || this.points[count - 1]!.index <= committed) return null;
    return this.points[count - 2]!.membership;
  }

  /** The configuration in force at `index` (which must not lie below the base). */
  at(index: Index): Membership {
    assert(index >= this.points[0]!.index, () => `config history: index ${index} is below the base ${this.points[0]!.index}`);
    let found = this.points[0]!;
    for (const point of this.points) {
      if (point.index > index) break;
      found = point;
    }
    return found.membership;
  }

  /** Forgets points that a compacted log no longer needs: everything before the newest point at or below `index`. */
  compactTo(index: Index): void {
    let keepFrom = 0;
    for (let i = 0; i < this.points.length; i++) if (this.points[i]!.index <= index) keepFrom = i;
    if (keepFrom > 0) this.points = this.points.slice(keepFrom);
  }
}
