import { describe, expect, test } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { decodeRuntimeHeader, encodeMemberAddress, encodeRuntimeHeader, MemberAddresses } from '../../src/node/membership/member-addresses.js';
import { decodePayload } from '../../src/node/apply/payload.js';
import { SessionTable } from '../../src/node/apply/sessions.js';

const COMMAND = new TextEncoder().encode('command');

describe('member addresses: the replicated side table of runtime members', () => {
  test('an address entry decodes to its node and address', () => {
    expect(decodePayload(9, encodeMemberAddress('n4', '10.0.0.4:7000'))).toEqual({ kind: 'memberAddress', id: 'n4', address: '10.0.0.4:7000' });
  });

  test('a malformed address entry is corruption', () => {
    expect(() => decodePayload(9, new Uint8Array([0x03, 0xc1]))).toThrow(CorruptionError);
  });

  test('without addresses the snapshot header is the session table alone, as before runtime membership', () => {
    const sessions = new SessionTable(10);
    sessions.register(1);
    sessions.record({ kind: 'registered', id: 1, seq: 1 }, COMMAND, 2, 'ok');
    const bytes = sessions.encode();
    expect(encodeRuntimeHeader(bytes, new MemberAddresses())).toBe(bytes);
    expect(decodeRuntimeHeader(bytes)).toEqual({ sessions: bytes, addresses: [] });
  });

  test('with addresses the header carries both, and the sessions restore unchanged', () => {
    const sessions = new SessionTable(10);
    sessions.register(1);
    sessions.record({ kind: 'registered', id: 1, seq: 3 }, COMMAND, 2, 42);
    const addresses = new MemberAddresses();
    addresses.set('n4', 'h4:1');
    addresses.set('n5', 'h5:2');
    const header = decodeRuntimeHeader(encodeRuntimeHeader(sessions.encode(), addresses));
    expect(header.addresses).toEqual([['n4', 'h4:1'], ['n5', 'h5:2']]);
    const restored = new SessionTable(10);
    restored.restore(header.sessions);
    expect(restored.check({ kind: 'registered', id: 1, seq: 3 }, COMMAND)).toEqual({ kind: 'duplicate', outcome: { ok: true, result: 42 } });
  });
});
