/**
 * One compliance suite for every Transport: what RaftNode relies on, checked
 * the same way against LocalNetwork and TcpTransport.
 */
import { describe, expect, test } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import type { NodeMessage, Transport } from '../../src/transport/transport.js';
import { waitUntil } from './tcp-cluster.js';
import { heartbeat, RecordingHandler } from './tcp-raw-peer.js';

/** Transports for nodes `a`, `b`, `c` of one network; `close` releases whatever the network holds. */
export interface TransportFixture {
  readonly transports: ReadonlyMap<string, Transport>;
  /** Creates (not started) the transport of a newcomer `id` that knows every node of the fixture; resolves with it and its address. */
  newcomer(id: string): Promise<{ transport: Transport; address: string }>;
  close(): Promise<void>;
}

/** One message of every kind `a` may send `b`. */
export function everyKind(): NodeMessage[] {
  const meta = { index: 7, term: 2, membership: { voters: ['a', 'b', 'c'] } };
  return [
    { kind: 'raft', message: { type: 'appendEntries', from: 'a', to: 'b', term: 2, prevLogIndex: 3, prevLogTerm: 1, entries: [{ index: 4, term: 2, type: 'normal', data: new Uint8Array([1, 2, 3]) }], leaderCommit: 3 } },
    { kind: 'raft', message: { type: 'requestVote', from: 'a', to: 'b', term: 3, preVote: true, lastLogIndex: 4, lastLogTerm: 2, transfer: true } },
    { kind: 'raft', message: { type: 'installSnapshot', from: 'a', to: 'b', term: 2, snapshot: meta } },
    { kind: 'raft', message: { type: 'readIndexResponse', from: 'a', to: 'b', term: 2, requestId: 'r-1', index: 4 } },
    { kind: 'forward', from: 'a', to: 'b', requestId: 9, payload: new Uint8Array([9]) },
    { kind: 'forwardResult', from: 'a', to: 'b', requestId: 9, ok: true, index: 5, term: 2 },
    { kind: 'forwardResult', from: 'a', to: 'b', requestId: 10, ok: false, code: 'KEEL_NOT_LEADER', message: 'not the leader', leader: null },
    { kind: 'snapshotChunk', from: 'a', to: 'b', term: 2, meta, offset: 0, data: new Uint8Array(100).fill(5), last: true },
    { kind: 'snapshotAck', from: 'a', to: 'b', index: 7, offset: 100, accepted: true, done: true },
  ];
}

/** A deep copy with every byte array as a plain Uint8Array, so Buffers and Uint8Arrays compare equal. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]));
  return value;
}

export function transportConformance(name: string, create: () => Promise<TransportFixture>): void {
  describe(`Transport conformance: ${name}`, () => {
    async function started(): Promise<{ fixture: TransportFixture; handlers: Map<string, RecordingHandler> }> {
      const fixture = await create();
      const handlers = new Map<string, RecordingHandler>();
      for (const [id, transport] of fixture.transports) {
        const handler = new RecordingHandler();
        handlers.set(id, handler);
        await transport.start(handler);
      }
      return { fixture, handlers };
    }

    test('a message of every kind arrives intact, and messages to one peer arrive in the order sent', async () => {
      const { fixture, handlers } = await started();
      try {
        const messages = everyKind();
        for (const message of messages) fixture.transports.get('a')!.send('b', message);
        await waitUntil(() => handlers.get('b')!.received.length === messages.length, 10_000, 'every message at b');
        expect(plain(handlers.get('b')!.received)).toEqual(plain(messages));
        expect(handlers.get('c')!.received).toEqual([]);
      } finally {
        await fixture.close();
      }
    });

    test('sending to a node nobody serves does not throw and reports it unreachable', async () => {
      const { fixture, handlers } = await started();
      try {
        expect(() => fixture.transports.get('a')!.send('z', heartbeat('a', 'z'))).not.toThrow();
        await waitUntil(() => handlers.get('a')!.unreachablePeers.includes('z'), 10_000, 'z reported unreachable');
        expect(handlers.get('a')!.unreachablePeers).toEqual(['z']);
      } finally {
        await fixture.close();
      }
    });

    test('a peer added at runtime exchanges messages both ways; once removed, neither way', async () => {
      const { fixture, handlers } = await started();
      const { transport: d, address } = await fixture.newcomer('d');
      const atD = new RecordingHandler();
      try {
        await d.start(atD);
        const a = fixture.transports.get('a')!;
        a.addPeer('d', address);
        a.send('d', heartbeat('a', 'd'));
        await waitUntil(() => atD.received.length === 1, 10_000, 'd to receive from a');
        d.send('a', heartbeat('d', 'a'));
        await waitUntil(() => handlers.get('a')!.received.length === 1, 10_000, 'a to receive from d');

        a.removePeer('d');
        a.removePeer('d'); // idempotent
        a.send('d', heartbeat('a', 'd'));
        d.send('a', heartbeat('d', 'a'));
        a.send('b', heartbeat('a', 'b'));
        await waitUntil(() => handlers.get('b')!.received.length === 1 && handlers.get('a')!.unreachablePeers.includes('d'), 10_000, 'b to receive, d unreachable from a');
        expect(atD.received).toHaveLength(1);
        expect(handlers.get('a')!.received).toHaveLength(1);
      } finally {
        await d.close();
        await fixture.close();
      }
    });

    test('a second start() is refused with InvalidArgumentError', async () => {
      const { fixture } = await started();
      try {
        await expect(fixture.transports.get('a')!.start(new RecordingHandler())).rejects.toBeInstanceOf(InvalidArgumentError);
      } finally {
        await fixture.close();
      }
    });

    test('after close() the transport neither sends nor delivers, and close() is idempotent', async () => {
      const { fixture, handlers } = await started();
      try {
        const a = fixture.transports.get('a')!;
        const b = fixture.transports.get('b')!;
        await b.close();
        await b.close();
        expect(() => b.send('a', heartbeat('b', 'a'))).not.toThrow();
        a.send('c', heartbeat('a', 'c'));
        await waitUntil(() => handlers.get('c')!.received.length === 1, 10_000, 'c to receive (the network still works)');
        expect(handlers.get('a')!.received).toEqual([]);
        expect(handlers.get('b')!.received).toEqual([]);
      } finally {
        await fixture.close();
      }
    });
  });
}
