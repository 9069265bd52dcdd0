/**
 * The frame layout of Keel's TCP transport:
 * `[length: 4 bytes, big-endian][frame version: 1 byte][msgpack body]`, where
 * `length` counts the version byte and the body.
 *
 * The decoder reads the length prefix first and refuses a frame over the
 * configured maximum before it holds a single byte of its body, so a peer
 * (or a damaged stream) cannot make it allocate more than the limit.
 *
 * @packageDocumentation
 */
import { FrameInvalidError } from '../errors.js';
import { assert } from '../util/assert.js';

/** The only frame version this build reads and writes. */
export const FRAME_VERSION = 1;

/** Bytes before the body: the length prefix and the version byte. */
export const FRAME_HEADER_BYTES = 5;

const LENGTH_BYTES = 4;

/** The largest frame body accepted before the handshake completes: handshake messages are a few hundred bytes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

/** Frames a msgpack body: returns a new buffer with the header written. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  frame.writeUInt32BE(body.byteLength + 1, 0);
  frame[LENGTH_BYTES] = FRAME_VERSION;
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits a byte stream into frame bodies. Feed it every chunk read from a
 * socket with {@link FrameDecoder.push}; it returns the complete bodies in
 * order and keeps the incomplete tail.
 *
 * Invariant: after `push` returns, the bytes held ({@link FrameDecoder.bufferedBytes})
 * are fewer than `FRAME_HEADER_BYTES + maxFrameBytes`.
 */
export class FrameDecoder {
  /** Chunks of the incomplete frame at the head of the stream, oldest first. */
  private chunks: Buffer[] = [];
  private held = 0;
  /** Length of the frame being assembled (version byte + body), once its prefix was read. */
  private expected: number | null = null;

  /** @param maxFrameBytes the largest body accepted, in bytes. */
  constructor(private maxFrameBytes: number) {
    assert(Number.isSafeInteger(maxFrameBytes) && maxFrameBytes > 0, `frame decoder: maxFrameBytes ${maxFrameBytes} must be a positive integer`);
  }

  /**
   * Changes the limit for frames whose length prefix is read from now on. A
   * connection starts at {@link HANDSHAKE_MAX_FRAME_BYTES} and is raised to the
   * configured maximum once its peer is authenticated, so a stranger cannot
   * make this node hold megabytes.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    assert(Number.isSafeInteger(maxFrameBytes) && maxFrameBytes > 0, `frame decoder: maxFrameBytes ${maxFrameBytes} must be a positive integer`);
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds `chunk` and returns the bodies of every frame it completed (views
   * into fresh buffers: they never alias the caller's chunk). Throws
   * {@link FrameInvalidError} on a length prefix over the limit, a zero
   * length or an unknown version; the stream is then unusable and the
   * connection must be closed.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const bodies: Uint8Array[] = [];
    let input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (input.byteLength > 0) {
      if (this.held === 0 && input.byteLength >= LENGTH_BYTES) {
        // Fast path: a whole frame at the head of the input is copied out once.
        const length = checkLength(input.readUInt32BE(0), this.maxFrameBytes);
        if (input.byteLength >= LENGTH_BYTES + length) {
          bodies.push(checkVersion(Buffer.from(input.subarray(0, LENGTH_BYTES + length))));
          input = input.subarray(LENGTH_BYTES + length);
          continue;
        }
      }
      if (this.expected === null) {
        const needed = LENGTH_BYTES - this.held;
        const taken = input.subarray(0, needed);
        this.hold(taken);
        input = input.subarray(taken.byteLength);
        if (this.held < LENGTH_BYTES) break;
        this.expected = this.readLength();
        continue;
      }
      const needed = LENGTH_BYTES + this.expected - this.held;
      const taken = input.subarray(0, needed);
      this.hold(taken);
      input = input.subarray(taken.byteLength);
      if (this.held === LENGTH_BYTES + this.expected) bodies.push(this.takeFrame());
    }
    assert(this.held < FRAME_HEADER_BYTES + this.maxFrameBytes, `frame decoder holds ${this.held} bytes, limit ${FRAME_HEADER_BYTES + this.maxFrameBytes}`);
    return bodies;
  }

  /** Bytes held for the incomplete frame at the head of the stream. */
  bufferedBytes(): number {
    return this.held;
  }

  private hold(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    // Copy: the socket may reuse its buffer, and a view would pin a whole read chunk.
    this.chunks.push(Buffer.from(bytes));
    this.held += bytes.byteLength;
  }

  private readLength(): number {
    const prefix = Buffer.concat(this.chunks, LENGTH_BYTES);
    const length = checkLength(prefix.readUInt32BE(0), this.maxFrameBytes);
    this.chunks = [prefix];
    return length;
  }

  private takeFrame(): Uint8Array {
    const frame = Buffer.concat(this.chunks, this.held);
    assert(this.expected !== null && frame.byteLength === LENGTH_BYTES + this.expected, `frame of ${frame.byteLength} bytes, expected ${String(this.expected)} after the prefix`);
    this.chunks = [];
    this.held = 0;
    this.expected = null;
    return checkVersion(frame);
  }
}

/** Returns a length prefix that fits the limit; throws before anything is allocated for it otherwise. */
function checkLength(length: number, maxFrameBytes: number): number {
  if (length === 0) throw new FrameInvalidError('body', 'length prefix 0 leaves no room for the version byte');
  // The version byte is counted in `length`: a body of maxFrameBytes has length maxFrameBytes + 1.
  if (length - 1 > maxFrameBytes) {
    throw new FrameInvalidError('too-large', `length prefix announces a ${length - 1}-byte body, over the maximum of ${maxFrameBytes}`);
  }
  return length;
}

/** Checks the version byte of a whole frame and returns its body (a view). */
function checkVersion(frame: Buffer): Uint8Array {
  const version = frame[LENGTH_BYTES];
  if (version !== FRAME_VERSION) throw new FrameInvalidError('version', `frame version ${String(version)}, this build reads ${FRAME_VERSION}`);
  return frame.subarray(FRAME_HEADER_BYTES);
}
