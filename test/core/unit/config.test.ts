import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/core/config.js';
import type { RaftConfig } from '../../../src/core/config.js';
import { RawNode } from '../../../src/core/raw-node.js';
import { InvalidConfigError } from '../../../src/errors.js';
import { MemoryStorage } from '../../../src/storage/memory.js';
import { SeededRandom } from '../../../src/util/random.js';
import { storageWith, terms } from '../../support/scenario-log-builder.js';

const base = (): RaftConfig => ({ id: 'n1', voters: ['n1', 'n2', 'n3'], storage: new MemoryStorage(), random: new SeededRandom(1) });

/** Builds a config from the base with `override` (which may hold values of the wrong type on purpose). */
function configWith(override: Record<string, unknown>): RaftConfig {
  return { ...base(), ...override } as unknown as RaftConfig;
}

function fieldOf(thrower: () => unknown): string | undefined {
  try {
    thrower();
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.field;
    throw error;
  }
  return undefined;
}

describe('resolveConfig', () => {
  it('fills in the documented defaults', () => {
    const resolved = resolveConfig(base());

    expect(resolved).toMatchObject({
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: 256,
      maxInflightBytes: 0,
      maxMsgBytes: 1024 * 1024,
      maxEntryBytes: 8 * 1024 * 1024,
      maxUncommittedBytes: 64 * 1024 * 1024,
      maxCommittedBytesPerReady: 16 * 1024 * 1024,
      applied: undefined,
    });
  });

  it('keeps explicit values', () => {
    const resolved = resolveConfig({ ...base(), electionTicks: 20, heartbeatTicks: 3, preVote: false, checkQuorum: false, maxInflightBytes: 1000 });

    expect(resolved).toMatchObject({ electionTicks: 20, heartbeatTicks: 3, preVote: false, checkQuorum: false, maxInflightBytes: 1000 });
  });

  it('keeps the voters in the order given', () => {
    expect(resolveConfig(base()).voters).toEqual(['n1', 'n2', 'n3']);
  });

  it.each<{ name: string; override: Record<string, unknown>; field: string }>([
    { name: 'learners without voters', override: { voters: [], learners: ['n1'] }, field: 'learners' },
    { name: 'a node both voter and learner', override: { learners: ['n2'] }, field: 'learners' },
    { name: 'voters not an array', override: { voters: 'n1' }, field: 'voters' },
    { name: 'duplicate voter ids', override: { voters: ['n1', 'n2', 'n2'] }, field: 'voters' },
    { name: 'an empty voter id', override: { voters: ['n1', ''] }, field: 'voters' },
    { name: 'this node not among the voters', override: { voters: ['n2', 'n3'] }, field: 'voters' },
    { name: 'an empty id', override: { id: '' }, field: 'id' },
    { name: 'an id that is not a string', override: { id: 7 }, field: 'id' },
    { name: 'no storage', override: { storage: undefined }, field: 'storage' },
    { name: 'no random', override: { random: {} }, field: 'random' },
    { name: 'heartbeatTicks equal to electionTicks', override: { electionTicks: 5, heartbeatTicks: 5 }, field: 'heartbeatTicks' },
    { name: 'heartbeatTicks above electionTicks', override: { electionTicks: 5, heartbeatTicks: 6 }, field: 'heartbeatTicks' },
    { name: 'electionTicks 1 with the default heartbeatTicks 1', override: { electionTicks: 1 }, field: 'heartbeatTicks' },
    { name: 'zero electionTicks', override: { electionTicks: 0 }, field: 'electionTicks' },
    { name: 'non-integer electionTicks', override: { electionTicks: 10.5 }, field: 'electionTicks' },
    { name: 'NaN electionTicks', override: { electionTicks: Number.NaN }, field: 'electionTicks' },
    { name: 'negative heartbeatTicks', override: { heartbeatTicks: -1 }, field: 'heartbeatTicks' },
    { name: 'zero maxInflightMsgs', override: { maxInflightMsgs: 0 }, field: 'maxInflightMsgs' },
    { name: 'non-integer maxInflightMsgs', override: { maxInflightMsgs: 2.5 }, field: 'maxInflightMsgs' },
    { name: 'negative maxInflightBytes', override: { maxInflightBytes: -1 }, field: 'maxInflightBytes' },
    { name: 'zero maxMsgBytes', override: { maxMsgBytes: 0 }, field: 'maxMsgBytes' },
    { name: 'negative maxEntryBytes', override: { maxEntryBytes: -5 }, field: 'maxEntryBytes' },
    { name: 'zero maxUncommittedBytes', override: { maxUncommittedBytes: 0 }, field: 'maxUncommittedBytes' },
    { name: 'infinite maxCommittedBytesPerReady', override: { maxCommittedBytesPerReady: Number.POSITIVE_INFINITY }, field: 'maxCommittedBytesPerReady' },
    { name: 'a string where a number belongs', override: { maxMsgBytes: '1024' }, field: 'maxMsgBytes' },
    { name: 'preVote not a boolean', override: { preVote: 'yes' }, field: 'preVote' },
    { name: 'checkQuorum not a boolean', override: { checkQuorum: 1 }, field: 'checkQuorum' },
    { name: 'negative applied', override: { applied: -1 }, field: 'applied' },
    { name: 'non-integer applied', override: { applied: 0.5 }, field: 'applied' },
  ])('rejects $name (field $field)', ({ override, field }) => {
    expect(fieldOf(() => resolveConfig(configWith(override)))).toBe(field);
  });

  it('rejects a config that is not an object', () => {
    expect(fieldOf(() => resolveConfig(null as unknown as RaftConfig))).toBe('config');
  });

  it('accepts maxInflightBytes 0 (no byte limit) and applied 0', () => {
    expect(() => resolveConfig({ ...base(), maxInflightBytes: 0, applied: 0 })).not.toThrow();
  });

  it('the RawNode constructor accepts an applied index above the stored commit index (a commit-only change is not synced)', () => {
    const storage = storageWith({ log: terms(1, 1, 1), term: 1, commit: 2 });

    const node = new RawNode({ ...base(), storage, applied: 3 });

    expect(node.status()).toMatchObject({ commitIndex: 3, appliedIndex: 3 });
  });

  it('the RawNode constructor rejects an applied index past the end of the stored log as a config error, not an internal bug', () => {
    const storage = storageWith({ log: terms(1, 1), term: 1, commit: 2 });

    expect(fieldOf(() => new RawNode({ ...base(), storage, applied: 5 }))).toBe('applied');
  });

  it('the RawNode constructor rejects an applied index below the stored snapshot as a config error', () => {
    const storage = new MemoryStorage();
    storage.saveSnapshotSync({ index: 5, term: 1, membership: { voters: ['n1', 'n2', 'n3'] } });
    storage.appendSync([], { term: 1, vote: null, commit: 5 });

    expect(fieldOf(() => new RawNode({ ...base(), storage, applied: 2 }))).toBe('applied');
  });

  it('the RawNode constructor throws the same typed error, with its stable code', () => {
    expect(() => new RawNode(configWith({ voters: ['n2'] }))).toThrow(InvalidConfigError);
    expect(() => new RawNode(configWith({ voters: ['n2'] }))).toThrow(expect.objectContaining({ code: 'KEEL_INVALID_CONFIG', field: 'voters' }));
  });
});
