import { Packr } from 'msgpackr';
import type { NodeId } from '../../core/types.js';
import { CorruptionError } from '../../errors.js';

/**
 * Where each member added at runtime can be reached: a replicated side table
 * of the runtime, not of the core.
 *
 * Before proposing a configuration change that adds a node, the leader
 * appends an ordinary entry (payload kind {@link PAYLOAD_MEMBER_ADDRESS})
 * naming the node and its address. Every node applies it in log order, so by
 * the time the config entry after it is applied (and before any node could
 * lead with that configuration having committed), every member's transport
 * knows the address. The table is part of the runtime's snapshot header, so a
 * node that catches up by snapshot, or restarts, learns it too. Entries of
 * nodes that leave the configuration are dropped.
 */
export class MemberAddresses {
  private readonly byId = new Map<NodeId, string>();

  set(id: NodeId, address: string): void {
    this.byId.set(id, address);
  }

  delete(id: NodeId): void {
    this.byId.delete(id);
  }

  get(id: NodeId): string | undefined {
    return this.byId.get(id);
  }

  entries(): [NodeId, string][] {
    return [...this.byId];
  }

  /** Replaces the table (from a snapshot). */
  replace(rows: readonly (readonly [NodeId, string])[]): void {
    this.byId.clear();
    for (const [id, address] of rows) this.byId.set(id, address);
  }
}

/** Payload kind of a member-address entry: msgpack `[id, address]` after the kind byte. */
export const PAYLOAD_MEMBER_ADDRESS = 0x03;

const packr = new Packr({ useRecords: false });

/** The log payload announcing that `id` is reachable at `address`. */
export function encodeMemberAddress(id: NodeId, address: string): Uint8Array {
  const body = packr.pack([id, address]);
  const payload = new Uint8Array(1 + body.byteLength);
  payload[0] = PAYLOAD_MEMBER_ADDRESS;
  payload.set(body, 1);
  return payload;
}

/** Decodes the body of a member-address payload (after the kind byte); null when malformed. */
export function decodeMemberAddress(body: Uint8Array): { readonly id: NodeId; readonly address: string } | null {
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string' || value[0].length === 0) return null;
  return { id: value[0], address: value[1] };
}

/**
 * The runtime's snapshot header: the session table, plus the address table
 * when it is not empty. Without addresses the header is the session table's
 * bytes alone, exactly as before runtime membership existed, so older
 * snapshots and newer ones without runtime members read the same.
 */
export function encodeRuntimeHeader(sessions: Uint8Array, addresses: MemberAddresses): Uint8Array {
  const rows = addresses.entries();
  if (rows.length === 0) return sessions;
  return packr.pack({ keelRuntime: 1, sessions, addresses: rows });
}

/** Splits a header written by {@link encodeRuntimeHeader}. */
export function decodeRuntimeHeader(bytes: Uint8Array): { readonly sessions: Uint8Array; readonly addresses: [NodeId, string][] } {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (error) {
    throw new CorruptionError('snapshot header', 'cannot decode the runtime header', { cause: error });
  }
  // The session table alone is a msgpack list (implicit-session format) or a map without `keelRuntime`; the extended header has it.
  if (Array.isArray(value) || typeof value !== 'object' || value === null || !('keelRuntime' in value)) return { sessions: bytes, addresses: [] };
  const header = value as { sessions?: unknown; addresses?: unknown };
  if (!(header.sessions instanceof Uint8Array) || !Array.isArray(header.addresses)) throw new CorruptionError('snapshot header', 'malformed runtime header');
  const addresses: [NodeId, string][] = [];
  for (const row of header.addresses as unknown[]) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || typeof row[1] !== 'string') throw new CorruptionError('snapshot header', 'malformed member address row');
    addresses.push([row[0], row[1]]);
  }
  return { sessions: header.sessions, addresses };
}
