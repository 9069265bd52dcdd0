/**
 * The payload of a `config` log entry: the whole configuration it installs,
 * as UTF-8 JSON. Carrying the resulting configuration (not the change that
 * produced it) makes a node's configuration a function of its log alone: the
 * last config entry wins, whatever came before it.
 */
import type { Membership } from '../core/types.js';
import { describeInvalidMembership, normalizeMembership } from './confchange.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a configuration as a config entry's data. */
export function encodeMembership(membership: Membership): Uint8Array {
  const normal = normalizeMembership(membership);
  return encoder.encode(JSON.stringify(normal));
}

/**
 * Decodes a config entry's data, or returns a problem description when it is
 * not a well-formed configuration (the caller picks the error).
 */
export function decodeMembership(data: Uint8Array): Membership | string {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return 'config entry data is not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'config entry data is not an object';
  const record = value as Record<string, unknown>;
  for (const field of ['voters', 'learners', 'outgoingVoters'] as const) {
    const list = record[field];
    if (field !== 'voters' && list === undefined) continue;
    if (!Array.isArray(list) || !list.every((id) => typeof id === 'string')) return `config entry ${field} is not a list of node ids`;
  }
  if (record['autoLeave'] !== undefined && typeof record['autoLeave'] !== 'boolean') return 'config entry autoLeave is not a boolean';
  const membership: Membership = {
    voters: record['voters'] as string[],
    ...(record['learners'] === undefined ? {} : { learners: record['learners'] as string[] }),
    ...(record['outgoingVoters'] === undefined ? {} : { outgoingVoters: record['outgoingVoters'] as string[] }),
    ...(record['autoLeave'] === undefined ? {} : { autoLeave: record['autoLeave'] as boolean }),
  };
  const problem = describeInvalidMembership(membership);
  return problem ?? normalizeMembership(membership);
}

/**
 * A plain copy of `membership` holding only the fields that carry
 * information (no empty learner or outgoing lists), for storage formats.
 */
export function plainMembership(membership: Membership): Membership {
  const learners = membership.learners ?? [];
  const outgoing = membership.outgoingVoters ?? [];
  return {
    voters: [...membership.voters],
    ...(learners.length > 0 ? { learners: [...learners] } : {}),
    ...(outgoing.length > 0 ? { outgoingVoters: [...outgoing], autoLeave: membership.autoLeave ?? true } : {}),
  };
}
