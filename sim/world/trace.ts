/**
 * The event trace of one simulated run: a running hash of every event (the
 * determinism fingerprint) and the last few events in full (the context a
 * failure report prints).
 *
 * Two runs of the same seed must produce the same {@link Trace.hash}; if they
 * do not, something in the world depends on wall time, `Math.random` or the
 * order of an unordered collection (madsim's determinism self-check).
 */

/** How many recent events a trace keeps in full by default. */
export const TRACE_TAIL_DEFAULT = 200;

// FNV-1a, 32-bit. Two lanes with different offset bases give a 64-bit
// fingerprint without BigInt, which would cost more than the hashing itself.
const FNV_PRIME = 0x01000193;
const OFFSET_A = 0x811c9dc5;
const OFFSET_B = 0x050c5d1f;

/** A running FNV-1a hash over event strings plus a bounded tail of recent events. */
export class Trace {
  private hashA = OFFSET_A;
  private hashB = OFFSET_B;
  /** Ring buffer of the most recent events; `next` is where the next one goes. */
  private readonly tail: string[];
  private next = 0;
  /** The time of the last event and its formatted prefix: most events share their instant with the one before. */
  private prefixTimeMs = Number.NaN;
  private prefix = '';
  /** Events recorded so far. */
  count = 0;

  /**
   * @param tailSize - how many recent events to keep in full (at least 1).
   * @param listener - sees every event as it is recorded (the timeline of `keel sim --trace`).
   */
  constructor(
    private readonly tailSize: number = TRACE_TAIL_DEFAULT,
    private readonly listener: ((timeMs: number, event: string) => void) | null = null,
  ) {
    if (!Number.isSafeInteger(tailSize) || tailSize < 1) throw new RangeError(`Trace: tailSize must be a positive integer, got ${tailSize}`);
    this.tail = [];
  }

  /** Records one event that happened at virtual time `timeMs`. */
  record(timeMs: number, event: string): void {
    if (timeMs !== this.prefixTimeMs) {
      this.prefixTimeMs = timeMs;
      this.prefix = `${timeMs.toFixed(3)} `;
    }
    const prefix = this.prefix;
    let a = this.hashA;
    let b = this.hashB;
    // The prefix and the event hashed in turn, as one line would be, without building the line first.
    for (let i = 0; i < prefix.length; i++) {
      const code = prefix.charCodeAt(i);
      a = Math.imul(a ^ code, FNV_PRIME);
      b = Math.imul(b ^ (code + 0x9e), FNV_PRIME);
    }
    for (let i = 0; i < event.length; i++) {
      const code = event.charCodeAt(i);
      a = Math.imul(a ^ code, FNV_PRIME);
      b = Math.imul(b ^ (code + 0x9e), FNV_PRIME);
    }
    // A separator, so that "ab"+"c" and "a"+"bc" hash differently.
    this.hashA = Math.imul(a ^ 0x0a, FNV_PRIME) >>> 0;
    this.hashB = Math.imul(b ^ 0x0a, FNV_PRIME) >>> 0;
    // A concatenation V8 keeps as a rope: it is only flattened if a report reads the tail.
    const line = prefix + event;
    if (this.tail.length < this.tailSize) this.tail.push(line);
    else this.tail[this.next] = line;
    this.next = (this.next + 1) % this.tailSize;
    this.count++;
    if (this.listener !== null) this.listener(timeMs, event);
  }

  /** The fingerprint of every event so far: 16 hex digits. */
  get hash(): string {
    return this.hashA.toString(16).padStart(8, '0') + this.hashB.toString(16).padStart(8, '0');
  }

  /** The last `n` events (at most the tail size), oldest first. */
  last(n: number = this.tailSize): string[] {
    const ordered = this.tail.length < this.tailSize ? [...this.tail] : [...this.tail.slice(this.next), ...this.tail.slice(0, this.next)];
    return ordered.slice(Math.max(0, ordered.length - n));
  }
}
