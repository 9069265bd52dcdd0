import { assert } from '../util/assert.js';

/**
 * The frames waiting for one peer's connection, bounded in bytes. The bound
 * covers these frames and the bytes still in the socket's own buffer, so a
 * slow or stalled peer costs at most `maxBytes` of memory: beyond it, new
 * frames are refused (the caller drops them and reports the peer
 * unreachable; Raft retransmits).
 */
export class SendQueue {
  private frames: Buffer[] = [];
  /** Invariant: the sum of `frames[i].byteLength`. */
  private queuedBytes = 0;

  constructor(private readonly maxBytes: number) {
    assert(Number.isSafeInteger(maxBytes) && maxBytes > 0, `send queue: maxBytes ${maxBytes} must be a positive integer`);
  }

  /**
   * Queues `frame` unless that would put more than `maxBytes` in this queue
   * and the socket's buffer (`socketBytes`) together. Returns whether it was queued.
   */
  offer(frame: Buffer, socketBytes: number): boolean {
    if (this.queuedBytes + socketBytes + frame.byteLength > this.maxBytes) return false;
    this.frames.push(frame);
    this.queuedBytes += frame.byteLength;
    return true;
  }

  /** Removes and returns every queued frame, oldest first. */
  takeAll(): Buffer[] {
    const frames = this.frames;
    this.frames = [];
    this.queuedBytes = 0;
    return frames;
  }

  /** Drops every queued frame; returns how many there were. */
  clear(): number {
    return this.takeAll().length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  get length(): number {
    return this.frames.length;
  }
}
