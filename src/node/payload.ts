import { CorruptionError } from '../errors.js';

/**
 * How the runtime wraps a user's command in a log entry. An empty entry is a
 * leader's no-op. Otherwise the first byte is the payload kind, so the format
 * can grow (client sessions, configuration changes) without ambiguity.
 */
export const PAYLOAD_COMMAND = 0x01;

/** Wraps a command for the log. */
export function encodeCommand(command: Uint8Array): Uint8Array {
  const payload = new Uint8Array(command.byteLength + 1);
  payload[0] = PAYLOAD_COMMAND;
  payload.set(command, 1);
  return payload;
}

/** What an applied entry carries. */
export type DecodedPayload = { readonly kind: 'noop' } | { readonly kind: 'command'; readonly command: Uint8Array };

/** Unwraps a log entry's payload; an unknown kind is corruption (or a newer Keel's log). */
export function decodePayload(index: number, data: Uint8Array): DecodedPayload {
  if (data.byteLength === 0) return { kind: 'noop' };
  if (data[0] === PAYLOAD_COMMAND) return { kind: 'command', command: data.subarray(1) };
  throw new CorruptionError(`entry ${index}`, `unknown payload kind ${data[0]}`);
}
