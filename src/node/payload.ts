import { Packr } from 'msgpackr';
import { CorruptionError } from '../errors.js';
import { decodeMemberAddress, PAYLOAD_MEMBER_ADDRESS } from './member-addresses.js';
import type { ClientSession } from './sessions.js';
import { MAX_CLIENT_ID_LENGTH } from './sessions.js';

/**
 * How the runtime wraps a user's command in a log entry. An empty entry is a
 * leader's no-op. Otherwise the first byte is the payload kind, so the format
 * can grow (configuration changes) without ambiguity.
 */
export const PAYLOAD_COMMAND = 0x01;
/** A command with a client session: msgpack `[clientId, seq]` header, then the command. */
export const PAYLOAD_SESSION_COMMAND = 0x02;

const packr = new Packr({ useRecords: false });

/**
 * The most bytes a payload adds to the user's command: the kind byte, and with
 * a session the 4-byte header length and the msgpack `[clientId, seq]` header
 * at its largest (a fixarray byte; a str32 header of 5 bytes — msgpackr may
 * reserve one for any string of more than a few characters — and a
 * {@link MAX_CLIENT_ID_LENGTH}-unit id of at most 3 UTF-8 bytes per unit; a
 * seq of at most 9 bytes). The core's entry limit adds this to
 * `maxCommandBytes`, so that every command `propose` accepts fits.
 */
export const MAX_COMMAND_OVERHEAD_BYTES = 1 + 4 + 1 + 5 + 3 * MAX_CLIENT_ID_LENGTH + 9;

/** Wraps a command (and its session, if any) for the log. */
export function encodeCommand(command: Uint8Array, session?: ClientSession): Uint8Array {
  if (session === undefined) {
    const payload = new Uint8Array(command.byteLength + 1);
    payload[0] = PAYLOAD_COMMAND;
    payload.set(command, 1);
    return payload;
  }
  const header = packr.pack([session.clientId, session.seq]);
  const payload = new Uint8Array(1 + 4 + header.byteLength + command.byteLength);
  payload[0] = PAYLOAD_SESSION_COMMAND;
  new DataView(payload.buffer).setUint32(1, header.byteLength);
  payload.set(header, 5);
  payload.set(command, 5 + header.byteLength);
  return payload;
}

/** What an applied entry carries. */
export type DecodedPayload =
  | { readonly kind: 'noop' }
  | { readonly kind: 'command'; readonly command: Uint8Array; readonly session: ClientSession | null }
  | { readonly kind: 'memberAddress'; readonly id: string; readonly address: string };

/** Unwraps a log entry's payload; an unknown kind or a malformed header is corruption. */
export function decodePayload(index: number, data: Uint8Array): DecodedPayload {
  if (data.byteLength === 0) return { kind: 'noop' };
  if (data[0] === PAYLOAD_COMMAND) return { kind: 'command', command: data.subarray(1), session: null };
  if (data[0] === PAYLOAD_MEMBER_ADDRESS) {
    const member = decodeMemberAddress(data.subarray(1));
    if (member !== null) return { kind: 'memberAddress', ...member };
  }
  if (data[0] === PAYLOAD_SESSION_COMMAND && data.byteLength >= 5) {
    const headerBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
    if (5 + headerBytes <= data.byteLength) {
      const header = packr.unpack(data.subarray(5, 5 + headerBytes)) as unknown;
      if (Array.isArray(header) && typeof header[0] === 'string' && Number.isSafeInteger(header[1])) {
        return { kind: 'command', command: data.subarray(5 + headerBytes), session: { clientId: header[0], seq: header[1] as number } };
      }
    }
  }
  throw new CorruptionError(`entry ${index}`, `malformed or unknown payload (kind ${String(data[0])})`);
}
