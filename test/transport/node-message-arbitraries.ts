/**
 * fast-check arbitraries of wire traffic for the transport's fuzz tests:
 * valid node messages from `b` to `a`, and the same with one field replaced
 * by a value its type does not allow.
 */
import fc from 'fast-check';
import type { Entry } from '../../src/core/types.js';
import type { NodeMessage } from '../../src/transport/transport.js';

const index = fc.nat({ max: 1_000_000 });
const bytes = fc.uint8Array({ maxLength: 64 });
const meta = fc.record({ index, term: index, membership: fc.constant({ voters: ['a', 'b', 'c'] }) });

const appendEntries = fc.record({ prevLogIndex: fc.nat({ max: 1000 }), prevLogTerm: fc.nat({ max: 5 }), count: fc.nat({ max: 4 }), leaderCommit: index, data: bytes }).map(
  ({ prevLogIndex, prevLogTerm, count, leaderCommit, data }): NodeMessage => {
    const term = prevLogTerm + 1;
    const entries: Entry[] = Array.from({ length: count }, (_, i) => ({ index: prevLogIndex + 1 + i, term, type: 'normal', data }));
    return { kind: 'raft', message: { type: 'appendEntries', from: 'b', to: 'a', term, prevLogIndex, prevLogTerm, entries, leaderCommit } };
  },
);

/** A valid message that `b` may send `a`. */
export const validMessage: fc.Arbitrary<NodeMessage> = fc.oneof(
  appendEntries,
  fc.record({ term: index, commit: index, readRound: index }).map((f): NodeMessage => ({ kind: 'raft', message: { type: 'heartbeat', from: 'b', to: 'a', ...f } })),
  fc.record({ term: index, preVote: fc.boolean(), lastLogIndex: index, lastLogTerm: index }).map((f): NodeMessage => ({ kind: 'raft', message: { type: 'requestVote', from: 'b', to: 'a', ...f } })),
  fc.record({ term: index, success: fc.boolean(), index, hintIndex: index, hintTerm: index }).map((f): NodeMessage => ({ kind: 'raft', message: { type: 'appendEntriesResponse', from: 'b', to: 'a', ...f } })),
  fc.record({ requestId: index, payload: bytes }).map((f): NodeMessage => ({ kind: 'forward', from: 'b', to: 'a', ...f })),
  fc.record({ requestId: index, index, term: index }).map((f): NodeMessage => ({ kind: 'forwardResult', from: 'b', to: 'a', ok: true, ...f })),
  fc.record({ term: index, meta, offset: index, data: bytes, last: fc.boolean() }).map((f): NodeMessage => ({ kind: 'snapshotChunk', from: 'b', to: 'a', ...f })),
  fc.record({ index, offset: index, accepted: fc.boolean(), done: fc.boolean() }).map((f): NodeMessage => ({ kind: 'snapshotAck', from: 'b', to: 'a', ...f })),
);

type FieldKind = 'index' | 'bool' | 'id' | 'bytes';

/** Fields of each message shape with their kinds; `message.` marks a field of the inner Raft message. */
const FIELDS: Readonly<Record<string, Readonly<Record<string, FieldKind>>>> = {
  appendEntries: { 'message.term': 'index', 'message.prevLogIndex': 'index', 'message.leaderCommit': 'index', 'message.from': 'id', 'message.to': 'id' },
  heartbeat: { 'message.term': 'index', 'message.commit': 'index', 'message.readRound': 'index', 'message.from': 'id' },
  requestVote: { 'message.term': 'index', 'message.preVote': 'bool', 'message.lastLogIndex': 'index', 'message.lastLogTerm': 'index' },
  appendEntriesResponse: { 'message.success': 'bool', 'message.index': 'index', 'message.hintIndex': 'index', 'message.hintTerm': 'index' },
  forward: { requestId: 'index', payload: 'bytes', from: 'id', to: 'id' },
  forwardResult: { requestId: 'index', index: 'index', term: 'index', from: 'id' },
  snapshotChunk: { term: 'index', offset: 'index', data: 'bytes', last: 'bool', to: 'id' },
  snapshotAck: { index: 'index', offset: 'index', accepted: 'bool', done: 'bool' },
};

/** Values that no field of the kind accepts. */
const INVALID: Readonly<Record<FieldKind, fc.Arbitrary<unknown>>> = {
  index: fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.constant(Number.MAX_SAFE_INTEGER + 2), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.nat(), { maxLength: 3 })),
  bool: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.uint8Array({ maxLength: 2 })),
  id: fc.oneof(fc.constant(''), fc.integer(), fc.constant(null), fc.boolean(), fc.uint8Array({ maxLength: 4 })),
  bytes: fc.oneof(fc.string(), fc.array(fc.nat({ max: 255 }), { maxLength: 4 }), fc.integer(), fc.constant(null)),
};

function shapeOf(message: NodeMessage): string {
  return message.kind === 'raft' ? message.message.type : message.kind;
}

/**
 * A valid message with one field replaced by a value of a type that field
 * does not allow (as a plain object: it is not a NodeMessage any more).
 */
export const invalidFieldMessage: fc.Arbitrary<{ value: Record<string, unknown>; field: string }> = validMessage.chain((message) => {
  const fields = FIELDS[shapeOf(message)]!;
  return fc.constantFrom(...Object.keys(fields)).chain((field) =>
    INVALID[fields[field]!].map((bad) => {
      const value = structuredClone(message) as unknown as Record<string, unknown>;
      const path = field.split('.');
      const holder = path.length === 2 ? (value[path[0]!] as Record<string, unknown>) : value;
      holder[path[path.length - 1]!] = bad;
      return { value, field };
    }),
  );
});
