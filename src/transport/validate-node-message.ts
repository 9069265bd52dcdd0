import { copyMessage, copySnapshotMeta, describeValue as describe, invalidMessage as fail, isSnapshotMeta, validateMessage } from '../core/validate-message.js';
import type { NodeId, SnapshotMeta } from '../core/types.js';
import { isGroupId } from '../util/group-id.js';
import type { ForwardProposal, ForwardResult, GroupBatch, GroupItem, NodeMessage, ReplicaMessage, SnapshotAck, SnapshotChunk } from './transport.js';

type Fields = Readonly<Record<string, unknown>>;

/**
 * Checks that `value`, decoded from the wire, is a well-formed
 * {@link NodeMessage} sent by `peer` (the node the connection authenticated)
 * to `self`, and returns a fresh copy holding only the fields its kind
 * defines. Throws {@link InvalidMessageError} naming the first problem.
 *
 * A Raft message is checked by the core's own {@link validateMessage}, with
 * `peer` as the only acceptable sender: an authenticated peer cannot speak
 * for another node.
 */
export function validateNodeMessage(value: unknown, self: NodeId, peer: NodeId): NodeMessage {
  const record = asRecord(value, 'node message');
  if (record['kind'] === 'groups') return validateGroupBatch(record, self, peer);
  return validateReplicaMessage(record, self, peer);
}

/**
 * A host's batch: every item names a well-formed group id and holds a replica
 * message from `peer` to `self` (replica ids are host ids); a batch never nests.
 * Whether this host holds each group is the host's to decide, not the wire's.
 */
function validateGroupBatch(record: Fields, self: NodeId, peer: NodeId): GroupBatch {
  checkAddress(record, self, peer);
  const items = record['items'];
  if (!Array.isArray(items)) return fail(`groups.items must be an array, got ${describe(items)}`);
  const copied: GroupItem[] = [];
  for (const item of items) {
    const fields = asRecord(item, 'groups item');
    const group = fields['group'];
    if (!isGroupId(group)) fail(`groups item's group must be a group id, got ${describe(group)}`);
    if (fields['message'] === undefined && fields['notMember'] !== undefined) {
      const notice = asRecord(fields['notMember'], 'groups item not-a-member notice');
      const configIndex = index(notice, 'configIndex');
      // A configuration that leaves a node out was installed by a config entry: index 0 is the empty initial configuration.
      if (configIndex === 0) fail('groups item not-a-member notice: configIndex must be positive');
      copied.push({ group, notMember: { configIndex } });
      continue;
    }
    if (fields['message'] === undefined && fields['memberQuery'] !== undefined) {
      asRecord(fields['memberQuery'], 'groups item member query');
      copied.push({ group, memberQuery: {} });
      continue;
    }
    if (fields['message'] === undefined) {
      const quiesce = asRecord(fields['quiesce'], 'groups item quiesce notice');
      copied.push({ group, quiesce: { term: index(quiesce, 'term'), index: index(quiesce, 'index') } });
      continue;
    }
    const message = asRecord(fields['message'], 'groups item message');
    if (message['kind'] === 'groups') fail('a groups batch inside a groups batch');
    copied.push({ group, message: validateReplicaMessage(message, self, peer) });
  }
  return { kind: 'groups', from: peer, to: self, items: copied };
}

function validateReplicaMessage(record: Fields, self: NodeId, peer: NodeId): ReplicaMessage {
  switch (record['kind']) {
    case 'raft':
      validateMessage(record['message'], self);
      // The core accepts messages from non-members (a joining node must hear its leader); the transport
      // still insists that a Raft message comes from the peer this connection authenticated.
      if (record['message'].from !== peer) fail(`raft message from ${describe(record['message'].from)} on the connection of ${peer}`);
      return { kind: 'raft', message: copyMessage(record['message']) };
    case 'forward':
      return validateForward(record, self, peer);
    case 'forwardResult':
      return validateForwardResult(record, self, peer);
    case 'snapshotChunk':
      return validateSnapshotChunk(record, self, peer);
    case 'snapshotAck':
      return validateSnapshotAck(record, self, peer);
    default:
      return fail(`unknown kind ${describe(record['kind'])}`);
  }
}

function validateForward(record: Fields, self: NodeId, peer: NodeId): ForwardProposal {
  checkAddress(record, self, peer);
  return { kind: 'forward', from: peer, to: self, requestId: index(record, 'requestId'), payload: bytes(record, 'payload') };
}

function validateForwardResult(record: Fields, self: NodeId, peer: NodeId): ForwardResult {
  checkAddress(record, self, peer);
  const base = { kind: 'forwardResult', from: peer, to: self, requestId: index(record, 'requestId') } as const;
  const ok = record['ok'];
  if (ok === true) return { ...base, ok: true, index: index(record, 'index'), term: index(record, 'term') };
  if (ok !== false) return fail(`forwardResult.ok must be a boolean, got ${describe(ok)}`);
  const leader = record['leader'];
  if (leader !== null && !(typeof leader === 'string' && leader.length > 0)) fail(`forwardResult.leader must be a node id or null, got ${describe(leader)}`);
  return { ...base, ok: false, code: string(record, 'code'), message: string(record, 'message'), leader };
}

function validateSnapshotChunk(record: Fields, self: NodeId, peer: NodeId): SnapshotChunk {
  checkAddress(record, self, peer);
  return {
    kind: 'snapshotChunk',
    from: peer,
    to: self,
    term: index(record, 'term'),
    meta: snapshotMeta(record, 'meta'),
    offset: index(record, 'offset'),
    data: bytes(record, 'data'),
    last: boolean(record, 'last'),
  };
}

function validateSnapshotAck(record: Fields, self: NodeId, peer: NodeId): SnapshotAck {
  checkAddress(record, self, peer);
  return {
    kind: 'snapshotAck',
    from: peer,
    to: self,
    index: index(record, 'index'),
    offset: index(record, 'offset'),
    accepted: boolean(record, 'accepted'),
    done: boolean(record, 'done'),
  };
}

function checkAddress(record: Fields, self: NodeId, peer: NodeId): void {
  if (record['from'] !== peer) fail(`${String(record['kind'])} from ${describe(record['from'])} on the connection of ${peer}`);
  if (record['to'] !== self) fail(`${String(record['kind'])} addressed to ${describe(record['to'])}, not to ${self}`);
}

function asRecord(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object, got ${describe(value)}`);
  return value as Fields;
}

function index(record: Fields, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${String(record['kind'])}.${field} must be a non-negative safe integer, got ${describe(value)}`);
  return value;
}

function boolean(record: Fields, field: string): boolean {
  const value = record[field];
  if (typeof value !== 'boolean') fail(`${String(record['kind'])}.${field} must be a boolean, got ${describe(value)}`);
  return value;
}

function string(record: Fields, field: string): string {
  const value = record[field];
  if (typeof value !== 'string') fail(`${String(record['kind'])}.${field} must be a string, got ${describe(value)}`);
  return value;
}

function bytes(record: Fields, field: string): Uint8Array {
  const value = record[field];
  if (!(value instanceof Uint8Array)) fail(`${String(record['kind'])}.${field} must be bytes, got ${describe(value)}`);
  return value;
}

function snapshotMeta(record: Fields, field: string): SnapshotMeta {
  const value = record[field];
  if (!isSnapshotMeta(value)) fail(`${String(record['kind'])}.${field} must be snapshot metadata {index, term, membership: {voters}}, got ${describe(value)}`);
  return copySnapshotMeta(value);
}
