import { describe, expect, it } from 'vitest';
import { InvalidMessageError } from '../../../src/errors.js';
import { entries, entry } from '../../support/scenario-log-builder.js';
import { NodeHarness, appendEntries, heartbeat, voteRequest } from '../../support/scenario-node.js';

/** A leader of term 1 with its no-op committed and a proposal in flight: plenty of state a bad message could disturb. */
function busyLeader(): NodeHarness {
  const node = new NodeHarness({ id: 'n1', voters: ['n1', 'n2', 'n3'] });
  node.becomeLeader();
  node.raw.propose(new Uint8Array([1, 2, 3]));
  return node;
}

const valid = appendEntries({ from: 'n2', to: 'n1', term: 1 });

const malformed: { name: string; message: unknown }[] = [
  { name: 'null', message: null },
  { name: 'a number', message: 42 },
  { name: 'a string', message: 'appendEntries' },
  { name: 'undefined', message: undefined },
  { name: 'an array', message: [valid] },
  { name: 'an unknown type', message: { ...valid, type: 'installConfig' } },
  { name: 'no type', message: { from: 'n2', to: 'n1', term: 1 } },
  { name: 'a missing field (appendEntries without entries)', message: omit(valid, 'entries') },
  { name: 'a missing field (heartbeat without commit)', message: omit(heartbeat({ from: 'n2', to: 'n1', term: 1 }), 'commit') },
  { name: 'a missing envelope field (no term)', message: omit(valid, 'term') },
  { name: 'a term of the wrong type', message: { ...valid, term: '1' } },
  { name: 'a negative index', message: { ...valid, prevLogIndex: -1 } },
  { name: 'a fractional index', message: { ...valid, leaderCommit: 1.5 } },
  { name: 'an unsafe integer term', message: { ...valid, term: 2 ** 60 } },
  { name: 'a boolean of the wrong type', message: { ...voteRequest({ from: 'n2', to: 'n1', term: 1 }), preVote: 'no' } },
  { name: 'entries that are not an array', message: { ...valid, entries: {} } },
  { name: 'an entry whose data is not a Uint8Array', message: { ...valid, entries: [{ ...entry(1, 1), data: [1, 2] }] } },
  { name: 'an entry of an unknown type', message: { ...valid, entries: [{ ...entry(1, 1), type: 'snapshot' }] } },
  { name: 'a config entry whose data is not a configuration', message: { ...valid, entries: [{ ...entry(1, 1), type: 'config' }] } },
  {
    name: 'a config entry with no voter',
    message: { ...valid, entries: [{ ...entry(1, 1), type: 'config', data: new TextEncoder().encode('{"voters":[]}') }] },
  },
  { name: 'an empty sender id', message: { ...valid, from: '' } },
  { name: 'a sender that is this node', message: { ...valid, from: 'n1' } },
  { name: 'a message addressed to another node', message: { ...valid, to: 'n2' } },
  { name: 'non-contiguous entries', message: { ...valid, entries: [entry(1, 1), entry(3, 1)] } },
  { name: 'entries not following prevLogIndex', message: { ...valid, prevLogIndex: 0, entries: [entry(2, 1)] } },
  { name: 'an entry term above the message term', message: { ...valid, entries: [entry(1, 2)] } },
  { name: 'an entry term below prevLogTerm', message: { ...valid, term: 3, prevLogIndex: 1, prevLogTerm: 2, entries: [entry(2, 1)] } },
  { name: 'entry terms that decrease', message: { ...valid, term: 3, entries: [entry(1, 2), entry(2, 1)] } },
  { name: 'an entry of term 0', message: { ...valid, entries: [entry(1, 0)] } },
  {
    name: 'a snapshot with no voters',
    message: { type: 'installSnapshot', from: 'n2', to: 'n1', term: 1, snapshot: { index: 5, term: 1, membership: { voters: [] } } },
  },
  { name: 'a snapshot without membership', message: { type: 'installSnapshot', from: 'n2', to: 'n1', term: 1, snapshot: { index: 5, term: 1 } } },
  { name: 'a read request id that is not a string', message: { type: 'readIndex', from: 'n2', to: 'n1', term: 1, requestId: 7 } },
];

describe('RawNode.step validates every message before the core sees it', () => {
  it.each(malformed)('rejects $name with InvalidMessageError and changes nothing', ({ message }) => {
    const node = busyLeader();
    const statusBefore = node.raw.status();
    const hasReadyBefore = node.raw.hasReady();

    expect(() => node.raw.step(message)).toThrow(InvalidMessageError);

    expect(node.raw.status()).toEqual(statusBefore);
    expect(node.raw.hasReady()).toBe(hasReadyBefore);
  });

  it('the error carries the stable code KEEL_INVALID_MESSAGE', () => {
    const node = busyLeader();

    expect(() => node.raw.step({ ...valid, from: '' })).toThrow(expect.objectContaining({ code: 'KEEL_INVALID_MESSAGE' }));
  });

  it('accepts a message from a node outside the configuration: membership is the core\'s business, not validation\'s', () => {
    const node = busyLeader();

    expect(() => node.raw.step({ type: 'appendEntriesResponse', from: 'n9', to: 'n1', term: 1, success: true, index: 2, hintIndex: 0, hintTerm: 0 })).not.toThrow();

    expect(node.raw.status().progress.has('n9')).toBe(false);
  });

  it('a message of a higher term that is malformed does not raise the term', () => {
    const node = busyLeader();

    expect(() => node.raw.step({ ...valid, term: 9, entries: [entry(1, 10)] })).toThrow(InvalidMessageError);

    expect(node.raw.status()).toMatchObject({ term: 1, role: 'leader' });
  });

  it('accepts a well-formed message with contiguous entries of non-decreasing terms', () => {
    const follower = new NodeHarness({ id: 'n2' });

    follower.raw.step(appendEntries({ from: 'n1', to: 'n2', term: 3, entries: entries([1, 2, 3]) }));

    expect(follower.raw.status()).toMatchObject({ term: 3, lastIndex: 3, leader: 'n1' });
  });
});

function omit<T extends object>(value: T, key: keyof T): Partial<T> {
  const copy: Partial<T> = { ...value };
  delete copy[key];
  return copy;
}
