import { InvalidMessageError } from '../errors.js';
import type { Message, MessageType } from './message.js';
import { describeInvalidMembership } from '../confchange/confchange.js';
import { decodeMembership } from '../confchange/encoding.js';
import type { Entry, Membership, NodeId, SnapshotMeta } from './types.js';

type FieldKind = 'index' | 'bool' | 'optionalBool' | 'id' | 'string' | 'entries' | 'snapshot';

/** Field shapes per message type, beyond the envelope (type, from, to, term). */
const FIELDS: { readonly [T in MessageType]: Readonly<Record<string, FieldKind>> } = {
  appendEntries: { prevLogIndex: 'index', prevLogTerm: 'index', entries: 'entries', leaderCommit: 'index' },
  appendEntriesResponse: { success: 'bool', index: 'index', hintIndex: 'index', hintTerm: 'index' },
  heartbeat: { commit: 'index', readRound: 'index' },
  heartbeatResponse: { readRound: 'index' },
  requestVote: { preVote: 'bool', lastLogIndex: 'index', lastLogTerm: 'index', transfer: 'optionalBool' },
  requestVoteResponse: { preVote: 'bool', granted: 'bool' },
  installSnapshot: { snapshot: 'snapshot' },
  readIndex: { requestId: 'string' },
  readIndexResponse: { requestId: 'string', index: 'index' },
  timeoutNow: {},
};

/** {@link FIELDS} as lists, built once: validation runs on every message. */
const FIELD_LISTS = Object.fromEntries(Object.entries(FIELDS).map(([type, fields]) => [type, Object.entries(fields)])) as unknown as {
  readonly [T in MessageType]: readonly (readonly [string, FieldKind])[];
};

/**
 * Checks that `value` is a well-formed message for node `self`, before the
 * core looks at it. The sender may be outside this node's configuration (a
 * leader of a configuration not learned yet, a removed node): the core
 * decides what such a message means. Throws {@link InvalidMessageError}
 * naming the first problem; never changes anything.
 */
export function validateMessage(value: unknown, self: NodeId): asserts value is Message {
  if (typeof value !== 'object' || value === null) invalidMessage(`expected an object, got ${describeValue(value)}`);
  const record = value as Record<string, unknown>;
  const type = record['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) invalidMessage(`unknown type ${describeValue(type)}`);
  checkField(record, 'from', 'id', type);
  checkField(record, 'to', 'id', type);
  checkField(record, 'term', 'index', type);
  if (record['to'] !== self) invalidMessage(`${type} addressed to ${String(record['to'])}, not to ${self}`);
  if (record['from'] === self) invalidMessage(`${type} from this node itself`);
  for (const [field, kind] of FIELD_LISTS[type as MessageType]) checkField(record, field, kind, type);
  if (type === 'appendEntries') checkAppendShape(record);
}

/**
 * A copy of a message that passed {@link validateMessage}, holding only the
 * fields its type defines, as own data properties. A transport hands the core
 * this copy rather than what a decoder built, so nothing else a peer put
 * into the object (extra keys, accessors) travels further.
 */
export function copyMessage(message: Message): Message {
  const source = message as unknown as Record<string, unknown>;
  const copy: Record<string, unknown> = { type: message.type, from: message.from, to: message.to, term: message.term };
  for (const [field, kind] of FIELD_LISTS[message.type]) {
    const value = source[field];
    if (value === undefined) continue;
    if (kind === 'entries') copy[field] = (value as readonly Entry[]).map(copyEntry);
    else if (kind === 'snapshot') copy[field] = copySnapshotMeta(value as SnapshotMeta);
    else copy[field] = value;
  }
  return copy as unknown as Message;
}

/** A copy of snapshot metadata that passed {@link isSnapshotMeta}, with only its defined fields. */
export function copySnapshotMeta(meta: SnapshotMeta): SnapshotMeta {
  return { index: meta.index, term: meta.term, membership: { voters: [...meta.membership.voters] } };
}

function copyEntry(entry: Entry): Entry {
  return { index: entry.index, term: entry.term, type: entry.type, data: entry.data };
}

function checkField(record: Record<string, unknown>, field: string, kind: FieldKind, type: string): void {
  const value = record[field];
  if (!fieldHasKind(value, kind)) invalidMessage(`${type}.${field} must be ${KIND_NAMES[kind]}, got ${describeValue(value)}`);
}

/** A plain function, not a closure per call: this runs for every field of every message. */
function fieldHasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'index':
      return isIndex(value);
    case 'bool':
      return typeof value === 'boolean';
    case 'optionalBool':
      return value === undefined || typeof value === 'boolean';
    case 'id':
      return typeof value === 'string' && value.length > 0;
    case 'string':
      return typeof value === 'string';
    case 'entries':
      return Array.isArray(value) && value.every(isEntry);
    case 'snapshot':
      return isSnapshotMeta(value);
  }
}

const KIND_NAMES: Readonly<Record<FieldKind, string>> = {
  index: 'a non-negative safe integer',
  bool: 'a boolean',
  optionalBool: 'a boolean or absent',
  id: 'a non-empty string',
  string: 'a string',
  entries: 'an array of entries {index, term, type: "normal" | "config", data: Uint8Array} (config data a valid configuration)',
  snapshot: 'snapshot metadata {index, term, membership: {voters: string[], learners?, outgoingVoters?}}',
};

/** Entries must follow prevLogIndex contiguously, with terms that never decrease and never exceed the message's term. */
function checkAppendShape(record: Record<string, unknown>): void {
  const entries = record['entries'] as { index: number; term: number }[];
  let expectedIndex = (record['prevLogIndex'] as number) + 1;
  let previousTerm = record['prevLogTerm'] as number;
  const term = record['term'] as number;
  for (const entry of entries) {
    if (entry.index !== expectedIndex) invalidMessage(`appendEntries entries not contiguous: expected index ${expectedIndex}, got ${entry.index}`);
    if (entry.term < previousTerm || entry.term > term || entry.term === 0) {
      invalidMessage(`appendEntries entry ${entry.index} has term ${entry.term} outside [${previousTerm}, ${term}]`);
    }
    previousTerm = entry.term;
    expectedIndex++;
  }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  if (!(isIndex(entry['index']) && isIndex(entry['term']) && entry['data'] instanceof Uint8Array)) return false;
  if (entry['type'] === 'normal') return true;
  return entry['type'] === 'config' && typeof decodeMembership(entry['data']) !== 'string';
}

/** True when `value` is snapshot metadata: index, term and a non-empty list of voter ids. */
export function isSnapshotMeta(value: unknown): value is SnapshotMeta {
  if (typeof value !== 'object' || value === null) return false;
  const meta = value as Record<string, unknown>;
  const membership = meta['membership'] as Record<string, unknown> | null | undefined;
  if (!(isIndex(meta['index']) && isIndex(meta['term']) && typeof membership === 'object' && membership !== null)) return false;
  for (const field of ['voters', 'learners', 'outgoingVoters']) {
    const list = membership[field];
    if (field !== 'voters' && list === undefined) continue;
    if (!Array.isArray(list) || !list.every((id) => typeof id === 'string' && id.length > 0)) return false;
  }
  return describeInvalidMembership(membership as unknown as Membership) === null;
}

/** A short description of a field's value for an error message: its kind and size, never a whole payload. */
export function describeValue(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === null ? 'null' : typeof value === 'object' ? 'object' : String(value);
}

/** Throws the {@link InvalidMessageError} for `reason`. */
export function invalidMessage(reason: string): never {
  throw new InvalidMessageError(reason);
}
