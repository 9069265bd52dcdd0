import { describe, expect, it } from 'vitest';
import { encodeMembership } from '../../../src/confchange/encoding.js';
import { InvalidArgumentError, NotLeaderError } from '../../../src/errors.js';
import { NodeHarness, appendEntries } from '../../support/scenario-node.js';

describe('RawNode membership API', () => {
  it('checks its arguments before anything else', () => {
    const node = new NodeHarness({ id: 'n1', voters: ['n1', 'n2', 'n3'] });

    expect(() => node.raw.proposeConfChange(null as never)).toThrow(InvalidArgumentError);
    expect(() => node.raw.proposeConfChange([{ type: 'addVoter' } as never])).toThrow(InvalidArgumentError);
    expect(() => node.raw.proposeConfChange({ type: 'addVoter', node: 'n4' }, null as never)).toThrow(InvalidArgumentError);
    expect(() => node.raw.proposeConfChange({ type: 'addVoter', node: 'n4' })).toThrow(NotLeaderError);
    expect(() => node.raw.leaveJoint()).toThrow(NotLeaderError);
    expect(() => node.raw.membershipAt(5)).toThrow(InvalidArgumentError);
  });

  it('reports the configuration in its status, from the initial voters and learners', () => {
    const node = new NodeHarness({ id: 'n1', voters: ['n1', 'n2'], learners: ['n3'] });

    expect(node.raw.status()).toMatchObject({
      voters: ['n1', 'n2'],
      membership: { voters: ['n1', 'n2'], learners: ['n3'] },
      joint: false,
      configIndex: 0,
    });
  });

  it('a joining node starts with no configuration, never campaigns, and takes the one its leader\'s log installs', () => {
    const node = new NodeHarness({ id: 'n4', voters: [] });
    for (let i = 0; i < 100; i++) node.raw.tick();
    expect(node.raw.status()).toMatchObject({ role: 'follower', term: 0, voters: [] });

    const membership = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] };
    node.raw.step(appendEntries({ from: 'n1', to: 'n4', term: 2, entries: [{ index: 1, term: 2, type: 'config', data: encodeMembership(membership) }], leaderCommit: 1 }));

    expect(node.raw.status()).toMatchObject({ term: 2, leader: 'n1', membership, configIndex: 1 });
    expect(node.raw.configIndexes()).toEqual([1]);
  });
});
