/**
 * A string map that can hand out cheap point-in-time views: the key-value
 * store's copy-on-write layer, so that a snapshot can be captured in O(1) and
 * streamed in the background while writes continue.
 *
 * Why layers rather than the alternatives:
 * - copying the map at capture costs O(keys) of synchronous work (and a second
 *   copy of the state) on every snapshot, which is exactly the stall capture
 *   exists to avoid;
 * - a persistent (immutable) tree makes every read and write O(log n) and
 *   allocates on every write, all the time, to serve a snapshot now and then.
 *
 * With layers, a capture freezes the current layers and opens a new, empty
 * overlay; writes go to the overlay (a deletion is a `null` tombstone) and a
 * read looks from the newest layer down. When the last view is released the
 * overlays are folded into the base, costing O(writes made while the view was
 * held). With no view outstanding there is a single plain `Map`.
 *
 * @packageDocumentation
 */
import { assert } from '../util/assert.js';

/** One layer: a value, or `null` for a key deleted in this layer. */
type Layer = Map<string, string | null>;

/** A frozen view of a {@link LayeredMap}: the layers as they were, oldest first. */
export class MapView {
  constructor(private readonly layers: readonly Layer[]) {}

  /** The value of `key` in this view (null: absent). */
  get(key: string): string | null {
    return lookup(this.layers, key);
  }

  /** Every key present in this view, sorted by UTF-16 code units (so equal views list equal keys). */
  sortedKeys(): string[] {
    if (this.layers.length === 1) return [...this.layers[0]!.keys()].sort(byCodeUnits);
    const keys = new Set<string>();
    for (const layer of this.layers) for (const key of layer.keys()) keys.add(key);
    return [...keys].filter((key) => this.get(key) !== null).sort(byCodeUnits);
  }
}

/** A `Map<string, string>` with O(1) point-in-time views (see the file comment). */
export class LayeredMap {
  /** Oldest first. Invariant: `layers[0]` holds no tombstones; more than one layer only while views are outstanding. */
  private layers: Layer[] = [new Map()];
  /** Views handed out and not yet released. */
  private outstanding = 0;
  /** Keys present, kept as writes happen so that `size` needs no scan of the layers. */
  private count = 0;

  get(key: string): string | null {
    return lookup(this.layers, key);
  }

  get size(): number {
    return this.count;
  }

  /** Every key present, sorted by UTF-16 code units. */
  sortedKeys(): string[] {
    return new MapView(this.layers).sortedKeys();
  }

  set(key: string, value: string): void {
    if (this.get(key) === null) this.count++;
    this.top().set(key, value);
  }

  delete(key: string): void {
    if (this.get(key) === null) return;
    this.count--;
    if (this.layers.length === 1) this.top().delete(key);
    else this.top().set(key, null);
  }

  /** Replaces the whole content. Views already handed out keep theirs. */
  replace(entries: Map<string, string>): void {
    this.layers = [entries];
    this.count = entries.size;
    // With views outstanding, their layers are the old arrays' and stay frozen; new writes need a layer of their own.
    if (this.outstanding > 0) this.layers.push(new Map());
  }

  /** The current content, frozen: later writes do not show in it. Call `release` once done with it. */
  capture(): { readonly view: MapView; release(): void } {
    const view = new MapView([...this.layers]);
    this.layers.push(new Map());
    this.outstanding++;
    let released = false;
    return {
      view,
      release: () => {
        if (released) return;
        released = true;
        this.outstanding--;
        assert(this.outstanding >= 0, () => `layered map: ${this.outstanding} views outstanding`);
        if (this.outstanding === 0) this.fold();
      },
    };
  }

  /** Folds every overlay into the base, oldest first. Only once no view can see the layers. */
  private fold(): void {
    const base = this.layers[0]!;
    for (const overlay of this.layers.slice(1)) {
      for (const [key, value] of overlay) {
        if (value === null) base.delete(key);
        else base.set(key, value);
      }
    }
    this.layers = [base];
    assert(base.size === this.count, () => `layered map: base holds ${base.size} keys after folding, ${this.count} counted`);
  }

  private top(): Layer {
    return this.layers[this.layers.length - 1]!;
  }
}

/** The value of `key` in `layers` (newest wins; a tombstone hides older values). */
function lookup(layers: readonly Layer[], key: string): string | null {
  for (let i = layers.length - 1; i >= 0; i--) {
    const value = layers[i]!.get(key);
    if (value !== undefined) return value;
  }
  return null;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
