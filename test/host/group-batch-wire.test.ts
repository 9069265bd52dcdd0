/**
 * A host's batch of many groups' messages on the wire: what a peer host sends
 * decodes to exactly what was sent, and anything malformed is refused as a
 * whole before a single item reaches a group.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameInvalidError } from '../../src/errors.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/tcp-frame.js';
import { decodeMessageBody, encodeMessageFrame } from '../../src/transport/tcp-codec.js';
import type { GroupBatch, NodeMessage, ReplicaMessage } from '../../src/transport/transport.js';
import { plain } from '../transport/conformance.js';
import { validMessage } from '../transport/node-message-arbitraries.js';

const groupId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/);
const batch: fc.Arbitrary<GroupBatch> = fc
  .array(fc.record({ group: groupId, message: validMessage }), { maxLength: 8 })
  .map((items) => ({ kind: 'groups', from: 'b', to: 'a', items: items.map(({ group, message }) => ({ group, message: message as ReplicaMessage })) }));

function roundTrip(message: unknown): NodeMessage {
  const frame = encodeMessageFrame(message as NodeMessage);
  return decodeMessageBody(frame.subarray(FRAME_HEADER_BYTES), 'a', 'b');
}

const heartbeat: ReplicaMessage = { kind: 'raft', message: { type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, readRound: 0 } };

describe('a group batch on the wire', () => {
  it('decodes to what was sent, item for item', () => {
    fc.assert(fc.property(batch, (sent) => {
      expect(plain(roundTrip(sent))).toEqual(plain(sent));
    }));
  });

  it('carries a not-a-member notice beside messages and quiesce notices, and only its fields', () => {
    const sent = { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', notMember: { configIndex: 12, extra: 1 } }, { group: 'h', message: heartbeat }, { group: 'g', quiesce: { term: 2, index: 9 } }] };
    expect(plain(roundTrip(sent))).toEqual(plain({ ...sent, items: [{ group: 'g', notMember: { configIndex: 12 } }, sent.items[1], sent.items[2]] }));
  });

  it('carries a member query beside messages, and only the group', () => {
    const sent = { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', memberQuery: { extra: 1 } }, { group: 'h', message: heartbeat }] };
    expect(plain(roundTrip(sent))).toEqual(plain({ ...sent, items: [{ group: 'g', memberQuery: {} }, sent.items[1]] }));
  });

  it.each([
    ['a member query that is not an object', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', memberQuery: true }] }],
    ['a malformed group id', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'bad id!', message: heartbeat }] }],
    ['an empty group id', { kind: 'groups', from: 'b', to: 'a', items: [{ group: '', message: heartbeat }] }],
    ['a batch inside a batch', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', message: { kind: 'groups', from: 'b', to: 'a', items: [] } }] }],
    ['an item speaking for another host', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', message: { ...heartbeat, message: { ...heartbeat.message, from: 'c' } } }] }],
    ['a batch from another host than the connection', { kind: 'groups', from: 'c', to: 'a', items: [] }],
    ['a batch addressed elsewhere', { kind: 'groups', from: 'b', to: 'c', items: [] }],
    ['items that are not a list', { kind: 'groups', from: 'b', to: 'a', items: { 0: heartbeat } }],
    ['a not-a-member notice with a configuration index of 0', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', notMember: { configIndex: 0 } }] }],
    ['a not-a-member notice with a negative configuration index', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', notMember: { configIndex: -3 } }] }],
    ['a not-a-member notice with no configuration index', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', notMember: {} }] }],
    ['a not-a-member notice that is not an object', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', notMember: 7 }] }],
    ['a malformed item message', { kind: 'groups', from: 'b', to: 'a', items: [{ group: 'g', message: { kind: 'raft', message: { type: 'heartbeat', from: 'b', to: 'a', term: -1, commit: 0, readRound: 0 } } }] }],
  ])('refuses %s', (_what, value) => {
    expect(() => roundTrip(value)).toThrow(FrameInvalidError);
  });
});
