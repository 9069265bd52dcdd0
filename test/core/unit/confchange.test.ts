import { describe, expect, it } from 'vitest';
import { enterConfiguration, isJoint, leaveConfiguration, membersOf } from '../../../src/confchange/confchange.js';
import { decodeMembership, encodeMembership } from '../../../src/confchange/encoding.js';
import { ConfigHistory } from '../../../src/core/config-history.js';
import type { Entry, Membership } from '../../../src/core/types.js';
import { MemoryStorage } from '../../../src/storage/memory.js';

const three: Membership = { voters: ['n1', 'n2', 'n3'], learners: [] };

function configEntry(index: number, term: number, membership: Membership): Entry {
  return { index, term, type: 'config', data: encodeMembership(membership) };
}

function normal(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array() };
}

describe('enterConfiguration', () => {
  it('changes one voter in one step', () => {
    expect(enterConfiguration(three, [{ type: 'addVoter', node: 'n4' }])).toEqual({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
    expect(enterConfiguration(three, [{ type: 'removeNode', node: 'n2' }])).toEqual({ voters: ['n1', 'n3'], learners: [] });
  });

  it('adds and removes learners in one step, whatever their number', () => {
    const next = enterConfiguration(three, [
      { type: 'addLearner', node: 'n4' },
      { type: 'addLearner', node: 'n5' },
    ]);

    expect(next).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4', 'n5'] });
  });

  it('goes through a joint configuration when more than one voter changes', () => {
    const next = enterConfiguration(three, [
      { type: 'addVoter', node: 'n4' },
      { type: 'removeNode', node: 'n1' },
    ]);

    expect(next).toEqual({ voters: ['n2', 'n3', 'n4'], learners: [], outgoingVoters: ['n1', 'n2', 'n3'], autoLeave: true });
    expect(isJoint(next as Membership)).toBe(true);
    expect(membersOf(next as Membership)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(leaveConfiguration(next as Membership)).toEqual({ voters: ['n2', 'n3', 'n4'], learners: [] });
  });

  it('promotes a learner', () => {
    expect(enterConfiguration({ voters: ['n1'], learners: ['n2'] }, [{ type: 'addVoter', node: 'n2' }])).toEqual({ voters: ['n1', 'n2'], learners: [] });
  });

  it.each([
    { name: 'a joint configuration', current: { voters: ['n1'], outgoingVoters: ['n2'] }, changes: [{ type: 'addVoter', node: 'n3' }] },
    { name: 'no change', current: three, changes: [] },
    { name: 'the same node twice', current: three, changes: [{ type: 'addLearner', node: 'n4' }, { type: 'removeNode', node: 'n4' }] },
    { name: 'removing a non-member', current: three, changes: [{ type: 'removeNode', node: 'n9' }] },
    { name: 'adding an existing voter', current: three, changes: [{ type: 'addVoter', node: 'n1' }] },
    { name: 'demoting a voter', current: three, changes: [{ type: 'addLearner', node: 'n1' }] },
    { name: 'removing every voter', current: { voters: ['n1'] }, changes: [{ type: 'removeNode', node: 'n1' }] },
    { name: 'an empty id', current: three, changes: [{ type: 'addVoter', node: '' }] },
  ] as const)('refuses $name', ({ current, changes }) => {
    expect(typeof enterConfiguration(current as Membership, changes)).toBe('string');
  });

  it('refuses several voters without a joint configuration when asked for one step', () => {
    const result = enterConfiguration(three, [{ type: 'removeNode', node: 'n1' }, { type: 'removeNode', node: 'n2' }], { joint: false });

    expect(result).toMatch(/only one voter/);
  });

  it('refuses to leave a configuration that is not joint', () => {
    expect(typeof leaveConfiguration(three)).toBe('string');
  });
});

describe('config entry encoding', () => {
  it('round-trips a joint configuration', () => {
    const joint: Membership = { voters: ['b', 'a'], learners: ['c'], outgoingVoters: ['a', 'd'], autoLeave: false };

    expect(decodeMembership(encodeMembership(joint))).toEqual({ voters: ['a', 'b'], learners: ['c'], outgoingVoters: ['a', 'd'], autoLeave: false });
  });

  it.each(['', 'null', '{"voters":"a"}', '{"voters":[]}', '{"voters":["a"],"learners":["a"]}', '{"voters":["a"],"autoLeave":1}'])('rejects %j', (text) => {
    expect(typeof decodeMembership(new TextEncoder().encode(text))).toBe('string');
  });
});

describe('ConfigHistory', () => {
  it('follows the log: the newest config entry is in force, and truncating it falls back to the one before', () => {
    const history = new ConfigHistory({ index: 0, membership: three });
    const four: Membership = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] };

    expect(history.append([normal(1, 1), configEntry(2, 1, four), normal(3, 1)])).toBe(true);
    expect(history.current()).toEqual({ index: 2, membership: four });
    expect(history.append([normal(4, 1)])).toBe(false);
    // A new leader's entries replace index 2 on: the configuration goes back.
    expect(history.append([normal(2, 2)])).toBe(true);
    expect(history.current()).toEqual({ index: 0, membership: three });
  });

  it('answers the configuration at an index, and forgets what compaction makes unreachable', () => {
    const history = new ConfigHistory({ index: 0, membership: three });
    const two: Membership = { voters: ['n1', 'n2'], learners: [] };
    history.append([configEntry(1, 1, two), normal(2, 1), configEntry(3, 1, three), normal(4, 1)]);

    expect(history.at(0)).toEqual(three);
    expect(history.at(2)).toEqual(two);
    expect(history.at(4)).toEqual(three);
    history.compactTo(2);
    expect(history.all().map((point) => point.index)).toEqual([1, 3]);
    expect(() => history.at(0)).toThrow(/below the base/);
  });

  it('is recomputed from storage: the snapshot\'s configuration, then the config entries after it', () => {
    const storage = new MemoryStorage();
    const two: Membership = { voters: ['n1', 'n2'], learners: [] };
    storage.appendSync([normal(1, 1), configEntry(2, 1, two), normal(3, 1), normal(4, 1)]);
    storage.saveSnapshotSync({ index: 3, term: 1, membership: two });
    storage.appendSync([configEntry(5, 1, three)]);

    const history = ConfigHistory.fromStorage(storage, { index: 3, membership: two });

    expect(history.all()).toEqual([
      { index: 3, membership: two },
      { index: 5, membership: three },
    ]);
  });

  it('reads only the config entries that storage lists, never the rest of the log (ready at open)', () => {
    const storage = new MemoryStorage();
    const two: Membership = { voters: ['n1', 'n2'], learners: [] };
    storage.appendSync([configEntry(1, 1, two), normal(2, 1), normal(3, 2), configEntry(4, 2, three)]);
    const unloaded = Object.assign(Object.create(storage) as MemoryStorage, {
      entries: () => {
        throw new Error('entries() called at construction');
      },
    });

    const history = ConfigHistory.fromStorage(unloaded, { index: 0, membership: three });

    expect(history.all().map((point) => point.index)).toEqual([0, 1, 4]);
    expect(history.current().membership).toEqual(three);
  });

  it('asserts that storage lists config entries in order and inside the log', () => {
    const storage = new MemoryStorage();
    storage.appendSync([configEntry(1, 1, three), normal(2, 1)]);
    const outside = Object.assign(Object.create(storage) as MemoryStorage, { configEntries: () => [configEntry(3, 1, three)] });
    const notConfig = Object.assign(Object.create(storage) as MemoryStorage, { configEntries: () => [normal(2, 1)] });

    expect(() => ConfigHistory.fromStorage(outside, { index: 0, membership: three })).toThrow(/outside the log 1\.\.2/);
    expect(() => ConfigHistory.fromStorage(notConfig, { index: 0, membership: three })).toThrow(/entry 2 of type normal/);
  });
});
