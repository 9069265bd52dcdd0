import { Packr } from 'msgpackr';
import { CorruptionError } from '../../errors.js';
import { decodeMemberAddress, PAYLOAD_MEMBER_ADDRESS } from '../membership/member-addresses.js';
import type { SessionId, SessionRequest } from './session.js';
import { MAX_CLIENT_ID_LENGTH } from './session.js';

/**
 * How the runtime wraps a user's command in a log entry. An empty entry is a
 * leader's no-op. Otherwise the first byte is the payload kind, so the format
 * can grow (configuration changes) without ambiguity.
 */
export const PAYLOAD_COMMAND = 0x01;
/** A command with a deprecated implicit session: a 4-byte length, the msgpack `[clientId, seq]` header, then the command. */
export const PAYLOAD_SESSION_COMMAND = 0x02;
/** Registers a session (dissertation §6.3): the kind byte alone; the session's id is the entry's index. */
export const PAYLOAD_OPEN_SESSION = 0x04;
/** Closes a session: the kind byte, then the session id as a big-endian 64-bit integer. */
export const PAYLOAD_CLOSE_SESSION = 0x05;
/** A command of a registered session: the kind byte, session id and seq as big-endian 64-bit integers, then the command. */
export const PAYLOAD_REGISTERED_COMMAND = 0x06;
const REGISTERED_HEADER_BYTES = 1 + 8 + 8;

const packr = new Packr({ useRecords: false });

/**
 * The most bytes a payload adds to the user's command: the kind byte, and with
 * a session the 4-byte header length and the msgpack `[clientId, seq]` header
 * at its largest (a fixarray byte; a str32 header of 5 bytes — msgpackr may
 * reserve one for any string of more than a few characters — and a
 * {@link MAX_CLIENT_ID_LENGTH}-unit id of at most 3 UTF-8 bytes per unit; a
 * seq of at most 9 bytes); a registered session's 17-byte header is smaller. The core's entry limit adds this to
 * `maxCommandBytes`, so that every command `propose` accepts fits.
 */
export const MAX_COMMAND_OVERHEAD_BYTES = 1 + 4 + 1 + 5 + 3 * MAX_CLIENT_ID_LENGTH + 9;

/** Payloads up to this size are carved out of a shared slab; larger ones get their own buffer. */
const SLAB_PAYLOAD_MAX_BYTES = 1024;
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * A payload buffer of `bytes`. Each `new Uint8Array` of a small command
 * allocated its own ArrayBuffer, and the profile of the in-memory cluster
 * showed those allocations as the largest single cost of a proposal; small
 * payloads now share 64 KiB slabs (as Node's `Buffer.allocUnsafe` pool does).
 * A slab lives as long as any payload in it: at most 64 KiB per payload
 * still held, which the log's own bounds cap. Every byte is written by the
 * caller, so the slab needs no zeroing.
 */
function allocatePayload(bytes: number): Uint8Array {
  if (bytes > SLAB_PAYLOAD_MAX_BYTES) return new Uint8Array(bytes);
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const payload = slab.subarray(slabUsed, slabUsed + bytes);
  // Keep every payload 8-byte aligned, so a DataView over it reads aligned words.
  slabUsed += (bytes + 7) & ~7;
  return payload;
}

/** Wraps a command (and its session, if any) for the log. */
export function encodeCommand(command: Uint8Array, session?: SessionRequest): Uint8Array {
  if (session === undefined) {
    const payload = allocatePayload(command.byteLength + 1);
    payload[0] = PAYLOAD_COMMAND;
    payload.set(command, 1);
    return payload;
  }
  if (session.kind === 'registered') {
    const payload = allocatePayload(REGISTERED_HEADER_BYTES + command.byteLength);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    payload[0] = PAYLOAD_REGISTERED_COMMAND;
    view.setBigUint64(1, BigInt(session.id));
    view.setBigUint64(9, BigInt(session.seq));
    payload.set(command, REGISTERED_HEADER_BYTES);
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

/** The payload that registers a session. */
export function encodeOpenSession(): Uint8Array {
  return Uint8Array.of(PAYLOAD_OPEN_SESSION);
}

/** The payload that closes session `id`. */
export function encodeCloseSession(id: SessionId): Uint8Array {
  const payload = new Uint8Array(9);
  payload[0] = PAYLOAD_CLOSE_SESSION;
  new DataView(payload.buffer).setBigUint64(1, BigInt(id));
  return payload;
}

/** What an applied entry carries. */
export type DecodedPayload =
  | { readonly kind: 'noop' }
  | { readonly kind: 'command'; readonly command: Uint8Array; readonly session: SessionRequest | null }
  | { readonly kind: 'openSession' }
  | { readonly kind: 'closeSession'; readonly id: SessionId }
  | { readonly kind: 'memberAddress'; readonly id: string; readonly address: string };

/** Unwraps a log entry's payload; an unknown kind or a malformed header is corruption. */
export function decodePayload(index: number, data: Uint8Array): DecodedPayload {
  if (data.byteLength === 0) return { kind: 'noop' };
  if (data[0] === PAYLOAD_COMMAND) return { kind: 'command', command: data.subarray(1), session: null };
  if (data[0] === PAYLOAD_MEMBER_ADDRESS) {
    const member = decodeMemberAddress(data.subarray(1));
    if (member !== null) return { kind: 'memberAddress', ...member };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data[0] === PAYLOAD_REGISTERED_COMMAND && data.byteLength >= REGISTERED_HEADER_BYTES) {
    const id = safeInteger(view.getBigUint64(1));
    const seq = safeInteger(view.getBigUint64(9));
    if (id !== null && seq !== null) return { kind: 'command', command: data.subarray(REGISTERED_HEADER_BYTES), session: { kind: 'registered', id, seq } };
  }
  if (data[0] === PAYLOAD_OPEN_SESSION && data.byteLength === 1) return { kind: 'openSession' };
  if (data[0] === PAYLOAD_CLOSE_SESSION && data.byteLength === 9) {
    const id = safeInteger(view.getBigUint64(1));
    if (id !== null) return { kind: 'closeSession', id };
  }
  if (data[0] === PAYLOAD_SESSION_COMMAND && data.byteLength >= 5) {
    const headerBytes = view.getUint32(1);
    if (5 + headerBytes <= data.byteLength) {
      const header = packr.unpack(data.subarray(5, 5 + headerBytes)) as unknown;
      if (Array.isArray(header) && typeof header[0] === 'string' && Number.isSafeInteger(header[1])) {
        return { kind: 'command', command: data.subarray(5 + headerBytes), session: { kind: 'implicit', clientId: header[0], seq: header[1] as number } };
      }
    }
  }
  throw new CorruptionError(`entry ${index}`, `malformed or unknown payload (kind ${String(data[0])})`);
}

function safeInteger(value: bigint): number | null {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}
