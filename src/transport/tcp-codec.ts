/**
 * Frame bodies of the TCP transport: plain msgpack (msgpackr) of handshake
 * messages and {@link NodeMessage}s.
 *
 * @packageDocumentation
 */
import { Packr, Unpackr } from 'msgpackr';
import type { NodeId } from '../core/types.js';
import { FrameInvalidError, InvalidMessageError } from '../errors.js';
import { encodeFrame } from './tcp-frame.js';
import type { NodeMessage } from './transport.js';
import { validateNodeMessage } from './validate-node-message.js';

/**
 * `useRecords: false` keeps the wire format plain msgpack: with records, the
 * meaning of a body would depend on structures an encoder remembered from
 * earlier bodies, which a reconnected peer would not have.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Encodes any value as one whole frame. */
export function encodeValueFrame(value: unknown): Buffer {
  // `pack` returns a view into packr's reusable buffer: encodeFrame copies it at once.
  return encodeFrame(packr.pack(value));
}

/** Encodes a message as one whole frame. */
export function encodeMessageFrame(message: NodeMessage): Buffer {
  return encodeValueFrame(message);
}

/** Parses a frame body as msgpack. Throws {@link FrameInvalidError} (`body`) when it is not. */
export function unpackFrameBody(body: Uint8Array): unknown {
  try {
    return unpackr.unpack(body);
  } catch (error) {
    // msgpackr throws plain errors for truncated or malformed input, and a RangeError on absurd nesting.
    throw new FrameInvalidError('body', 'frame body is not valid msgpack', { cause: error });
  }
}

/**
 * Decodes and validates one frame body sent by the authenticated `peer` to
 * `self`. Throws {@link FrameInvalidError} (`body` or `message`) for anything
 * but a valid message.
 */
export function decodeMessageBody(body: Uint8Array, self: NodeId, peer: NodeId): NodeMessage {
  const value = unpackFrameBody(body);
  try {
    return validateNodeMessage(value, self, peer);
  } catch (error) {
    // Validation throws InvalidMessageError; anything else a hostile value provoked is refused the same way.
    const reason = error instanceof InvalidMessageError ? error.message : `message failed validation: ${String(error)}`;
    throw new FrameInvalidError('message', reason, { cause: error });
  }
}
