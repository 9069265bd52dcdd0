/**
 * Membership changes (Raft dissertation §4): adding and removing voters one
 * at a time, joint consensus for larger changes (§4.3), and what a removed
 * leader or a removed node does. Every scenario runs under the cluster's
 * SafetyChecker, which also checks that each leader was elected, and each
 * commit made, by a majority of both halves of a joint configuration.
 */
import { describe, expect, test } from 'vitest';
import { ConfChangeInProgressError, InvalidConfChangeError, LeaderNotReadyError, NotLeaderError } from '../../../src/errors.js';
import type { CoreCluster } from '../../../src/testing/core-cluster.js';
import { CoreCluster as Cluster } from '../../../src/testing/core-cluster.js';
import { settle, tickUntil } from '../../support/scenario-cluster.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `size` machines n1..n<size>, of which `voters` form the initial configuration; n1 is elected and has committed its no-op. */
function clusterOf(size: number, voters: readonly string[], learners: readonly string[] = [], raft: { preVote?: boolean; checkQuorum?: boolean } = {}): CoreCluster {
  const cluster = new Cluster({
    ids: Array.from({ length: size }, (_, i) => `n${i + 1}`),
    voters,
    learners,
    raft: { electionTicks: 10, heartbeatTicks: 1, ...raft },
  });
  expect(cluster.elect('n1')).toBe('n1');
  return cluster;
}

function committed(cluster: CoreCluster, id: string, index: number): boolean {
  return cluster.raw(id).status().commitIndex >= index;
}

describe('§4.2 single-voter changes', () => {
  test('add one voter: the new node catches up, and from then on the quorum is 3 of 4', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);

    const receipt = cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n4' });
    cluster.stabilize();

    for (const id of cluster.ids) {
      expect(cluster.raw(id).status().membership).toEqual({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
      expect(committed(cluster, id, receipt.lastIndex)).toBe(true);
    }
    // n1 and n2 alone are no longer a quorum.
    cluster.isolate(['n3', 'n4']);
    const pending = cluster.propose('n1', bytes('x'));
    cluster.stabilize();
    expect(committed(cluster, 'n1', pending.lastIndex)).toBe(false);
    cluster.heal();
    cluster.tickAndStabilize(2);
    expect(committed(cluster, 'n1', pending.lastIndex)).toBe(true);
  });

  test('the new configuration is used as soon as it is appended, before it commits (§4.1)', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);

    cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n4' });

    const status = cluster.raw('n1').status();
    expect(status.voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(status.progress.has('n4')).toBe(true);
    expect(status.commitIndex).toBeLessThan(status.configIndex);
  });

  test('removing a node lets the smaller quorum commit pending entries', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3', 'n4']);
    cluster.crash('n3');
    cluster.crash('n4');
    const pending = cluster.propose('n1', bytes('stuck'));
    cluster.stabilize();
    expect(committed(cluster, 'n1', pending.lastIndex)).toBe(false); // 2 of 4 is not a quorum

    const removal = cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n4' });
    cluster.stabilize();

    // 2 of {n1, n2, n3} is.
    expect(committed(cluster, 'n1', pending.lastIndex)).toBe(true);
    expect(committed(cluster, 'n1', removal.lastIndex)).toBe(true);
    expect(cluster.raw('n2').status().voters).toEqual(['n1', 'n2', 'n3']);
  });

  test('a change is refused while another is uncommitted, and a change set that does not apply is refused', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);
    cluster.isolate(['n2', 'n3', 'n4']);
    cluster.proposeConfChange('n1', { type: 'addLearner', node: 'n4' });

    expect(() => cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n2' })).toThrow(ConfChangeInProgressError);
    cluster.heal();
    cluster.tickAndStabilize(2);
    expect(() => cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n9' })).toThrow(InvalidConfChangeError);
    expect(() => cluster.proposeConfChange('n1', { type: 'addLearner', node: 'n4' })).toThrow(InvalidConfChangeError);
    expect(() => cluster.proposeConfChange('n1', [{ type: 'addVoter', node: 'n4' }, { type: 'removeNode', node: 'n4' }])).toThrow(InvalidConfChangeError);
    expect(() => cluster.proposeConfChange('n1', [{ type: 'removeNode', node: 'n2' }, { type: 'removeNode', node: 'n3' }], { joint: false })).toThrow(
      expect.objectContaining({ code: 'KEEL_INVALID_CONF_CHANGE' }),
    );
    expect(() => cluster.proposeConfChange('n2', { type: 'removeNode', node: 'n3' })).toThrow(NotLeaderError);
  });
});

describe('§4.3 joint consensus', () => {
  test('add two voters at once: the leader enters the joint configuration, then leaves it by itself', () => {
    const cluster = clusterOf(5, ['n1', 'n2', 'n3']);

    cluster.proposeConfChange('n1', [
      { type: 'addVoter', node: 'n4' },
      { type: 'addVoter', node: 'n5' },
    ]);
    const joint = cluster.raw('n1').status();
    expect(joint.joint).toBe(true);
    expect(joint.membership).toEqual({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'], learners: [], outgoingVoters: ['n1', 'n2', 'n3'], autoLeave: true });
    cluster.stabilize();

    for (const id of cluster.ids) {
      const status = cluster.raw(id).status();
      expect(status.joint).toBe(false);
      expect(status.membership).toEqual({ voters: ['n1', 'n2', 'n3', 'n4', 'n5'], learners: [] });
      expect(cluster.raw(id).configIndexes()).toHaveLength(2); // enter and leave
    }
  });

  test('while joint, a commit needs a majority of the old voters too, not only of the new ones', () => {
    const cluster = clusterOf(5, ['n1', 'n2', 'n3']);
    cluster.isolate(['n2', 'n3']);

    const enter = cluster.proposeConfChange('n1', [
      { type: 'addVoter', node: 'n4' },
      { type: 'addVoter', node: 'n5' },
    ]);
    cluster.stabilize();

    // {n1, n4, n5} is a majority of the new voters but only n1 of the old ones holds the entry.
    expect(cluster.raw('n4').status().lastIndex).toBeGreaterThanOrEqual(enter.lastIndex);
    expect(committed(cluster, 'n1', enter.lastIndex)).toBe(false);
    cluster.heal();
    cluster.tickAndStabilize(2);
    expect(committed(cluster, 'n1', enter.lastIndex)).toBe(true);
    expect(cluster.raw('n1').status().joint).toBe(false);
  });

  test('while joint, a ReadIndex read is confirmed only by a majority of both halves, and a change voids the read lease', () => {
    const cluster = clusterOf(5, ['n1', 'n2', 'n3']);
    cluster.tickAndStabilize(2);
    cluster.readIndex('n1', 'before', { lease: true });
    cluster.processReady('n1');
    expect(cluster.node('n1').readStates.map((read) => read.requestId)).toEqual(['before']); // the lease answers at once
    cluster.proposeConfChange('n1', [{ type: 'addVoter', node: 'n4' }, { type: 'addVoter', node: 'n5' }], { autoLeave: false });
    cluster.stabilize();
    expect(cluster.raw('n1').status().joint).toBe(true);
    cluster.isolate(['n2', 'n3']);

    cluster.readIndex('n1', 'joint', { lease: true });
    cluster.tickAndStabilize(3);

    // n4 and n5 answer the heartbeats (a majority of the new voters with n1), but only n1 of the old ones does.
    expect(cluster.node('n1').readStates.map((read) => read.requestId)).toEqual(['before']);
    cluster.heal();
    cluster.tickAndStabilize(1);
    expect(cluster.node('n1').readStates.map((read) => read.requestId)).toEqual(['before', 'joint']);
  });

  test('with autoLeave off the configuration stays joint until asked, and no other change starts meanwhile', () => {
    const cluster = clusterOf(5, ['n1', 'n2', 'n3']);

    cluster.proposeConfChange('n1', [{ type: 'addVoter', node: 'n4' }], { joint: true, autoLeave: false });
    cluster.stabilize();

    expect(cluster.raw('n4').status().joint).toBe(true);
    expect(() => cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n5' })).toThrow(ConfChangeInProgressError);
    cluster.leaveJoint('n1');
    cluster.stabilize();
    expect(cluster.raw('n4').status().membership).toEqual({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
    expect(() => cluster.leaveJoint('n1')).toThrow(InvalidConfChangeError);
  });

  test('replace the leader: a joint configuration, leadership handed to the new node, which leaves the joint configuration', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);

    const enter = cluster.proposeConfChange('n1', [
      { type: 'addVoter', node: 'n4' },
      { type: 'removeNode', node: 'n1' },
    ], { autoLeave: false });
    cluster.stabilize();
    expect(committed(cluster, 'n4', enter.lastIndex)).toBe(true);
    // n1 is only an outgoing voter now; it may not hand leadership to itself or a non-voter, but to n4 it may.
    cluster.transferLeadership('n1', 'n4');
    cluster.stabilize();
    expect(cluster.leader()).toBe('n4');
    tickUntil(cluster, () => cluster.raw('n4').status().commitIndex === cluster.raw('n4').status().lastIndex);

    cluster.leaveJoint('n4');
    cluster.stabilize();

    for (const id of ['n2', 'n3', 'n4']) expect(cluster.raw(id).status().membership).toEqual({ voters: ['n2', 'n3', 'n4'], learners: [] });
    expect(cluster.raw('n1').status().role).toBe('follower');
    // The cluster commits without n1.
    cluster.crash('n1');
    const entry = cluster.propose('n4', bytes('after'));
    cluster.stabilize();
    expect(committed(cluster, 'n2', entry.lastIndex)).toBe(true);
  });
});

describe('removed leaders and removed nodes', () => {
  test('a removed leader keeps leading until the change commits, then steps down and never campaigns', () => {
    const cluster = clusterOf(3, ['n1', 'n2', 'n3']);
    const term = cluster.raw('n1').status().term;

    const removal = cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n1' });
    expect(cluster.raw('n1').status().role).toBe('leader'); // still manages the cluster (§4.2.2)
    cluster.stabilize();

    expect(committed(cluster, 'n2', removal.lastIndex)).toBe(true);
    expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', term });
    for (let i = 0; i < 50; i++) cluster.tick('n1');
    cluster.stabilize();
    expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', term });
    // The others elect a leader among themselves.
    tickUntil(cluster, () => cluster.leader() !== null && cluster.leader() !== 'n1');
    expect(['n2', 'n3']).toContain(cluster.leader());
  });

  test('a leader that removed itself and lost leadership before the change committed still campaigns, so the change can commit (§4.2.2)', () => {
    // n1 leads {n1, n2}, removes itself, and fails before n2 receives the entry: n2 cannot win without n1's vote,
    // which n1 refuses (its log is longer), so only n1 can finish the change it started.
    const cluster = clusterOf(2, ['n1', 'n2']);
    const removal = cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n1' });
    settle(cluster, { drop: (message) => message.to === 'n2' && message.type === 'appendEntries' && message.entries.length > 0 });
    cluster.crash('n1');
    cluster.restart('n1');
    expect(cluster.raw('n1').status()).toMatchObject({ role: 'follower', voters: ['n2'] });
    expect(committed(cluster, 'n1', removal.lastIndex)).toBe(false);

    tickUntil(cluster, () => cluster.leader() === 'n2' && committed(cluster, 'n2', removal.lastIndex), 300);

    expect(cluster.raw('n2').status().voters).toEqual(['n2']);
    expect(cluster.raw('n1').status().role).toBe('follower');
  });

  test.each([
    { preVote: true, checkQuorum: true },
    { preVote: false, checkQuorum: true },
    { preVote: true, checkQuorum: false },
    { preVote: false, checkQuorum: false },
  ])('a removed node that never learned of its removal cannot win or disrupt (preVote $preVote, checkQuorum $checkQuorum)', (options) => {
    const cluster = new Cluster({ raft: { electionTicks: 10, heartbeatTicks: 1, ...options } });
    expect(cluster.elect('n1')).toBe('n1');
    cluster.isolate(['n3']);
    const removal = cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n3' });
    cluster.stabilize();
    expect(committed(cluster, 'n1', removal.lastIndex)).toBe(true);
    expect(cluster.raw('n3').status().voters).toContain('n3'); // it does not know
    cluster.heal();
    const term = cluster.raw('n1').status().term;

    for (let i = 0; i < 100; i++) {
      cluster.tickAll();
      cluster.stabilize();
      expect(cluster.raw('n3').status().role).not.toBe('leader');
    }

    expect(cluster.leader()).toBe('n1');
    expect(cluster.raw('n1').status().term).toBe(term);
  });

  test('a removed node that learned of its removal stops campaigning', () => {
    const cluster = clusterOf(3, ['n1', 'n2', 'n3']);
    cluster.proposeConfChange('n1', { type: 'removeNode', node: 'n3' });
    cluster.stabilize();
    expect(cluster.raw('n3').status().voters).toEqual(['n1', 'n2']);
    const term = cluster.raw('n3').status().term;
    cluster.isolate(['n3']);

    for (let i = 0; i < 100; i++) cluster.tick('n3');
    cluster.campaign('n3');
    cluster.stabilize();

    expect(cluster.raw('n3').status()).toMatchObject({ role: 'follower', term });
  });
});

describe('learners', () => {
  test('a learner receives the log but is not counted in the quorum', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3'], ['n4']);
    cluster.isolate(['n2', 'n3']);

    const entry = cluster.propose('n1', bytes('x'));
    cluster.stabilize();

    expect(cluster.raw('n4').status().lastIndex).toBe(entry.lastIndex);
    expect(committed(cluster, 'n1', entry.lastIndex)).toBe(false);
    for (let i = 0; i < 100; i++) cluster.tick('n4');
    expect(cluster.raw('n4').status().role).toBe('follower'); // a learner never campaigns
  });

  test('a learner promoted while it does not know yet still votes when asked (etcd campaign_learner_must_vote)', () => {
    const cluster = clusterOf(3, ['n1', 'n2'], ['n3']);
    // Promote n3; the config entry reaches n2 but not n3.
    const promotion = cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n3' });
    settle(cluster, { drop: (message) => message.to === 'n3' && message.type === 'appendEntries' && message.entries.length > 0 });
    tickUntil(cluster, () => committed(cluster, 'n1', promotion.lastIndex), 20, { drop: (message) => message.to === 'n3' && message.type === 'appendEntries' });
    expect(cluster.raw('n2').status().voters).toEqual(['n1', 'n2', 'n3']);
    expect(cluster.raw('n3').status().membership.learners).toEqual(['n3']);

    // n1 goes away: n2 needs n3's vote, and n3 still believes it is a learner.
    cluster.crash('n1');
    tickUntil(cluster, () => cluster.leader() === 'n2', 200);

    const term = cluster.raw('n2').status().term;
    expect(cluster.node('n3').storage.initialState().hardState).toMatchObject({ term, vote: 'n2' });
    tickUntil(cluster, () => cluster.raw('n3').status().voters.includes('n3'));
  });
});

describe('the single-server change bug (Ongaro, raft-dev 2015) is prevented', () => {
  test('a new leader refuses a change until it has committed an entry of its term; then the deposed leader\'s change is gone', () => {
    // n1 leads {n1..n4} and starts adding n5, but only n5 gets the entry before n1 fails.
    // (Without PreVote and CheckQuorum, so that n2 can campaign at once.)
    const cluster = clusterOf(5, ['n1', 'n2', 'n3', 'n4'], [], { preVote: false, checkQuorum: false });
    cluster.isolate(['n1', 'n5']);
    const stale = cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n5' });
    cluster.stabilize();
    cluster.crash('n1');
    cluster.heal();

    // n2 wins among {n2, n3, n4}; before its no-op commits it must not change the configuration.
    cluster.campaign('n2');
    settle(cluster, { hold: (message) => message.type === 'appendEntries' });
    expect(cluster.raw('n2').status().role).toBe('leader');
    expect(() => cluster.proposeConfChange('n2', { type: 'removeNode', node: 'n4' })).toThrow(LeaderNotReadyError);
    expect(() => cluster.proposeConfChange('n2', { type: 'removeNode', node: 'n4' })).toThrow(expect.objectContaining({ code: 'KEEL_LEADER_NOT_READY' }));

    cluster.stabilize();
    cluster.proposeConfChange('n2', { type: 'removeNode', node: 'n4' });
    cluster.stabilize();
    cluster.restart('n1');
    tickUntil(cluster, () => cluster.raw('n1').status().commitIndex === cluster.raw('n2').status().commitIndex);

    // n1's uncommitted change was overwritten, and its configuration went back with it.
    expect(cluster.raw('n1').term(stale.lastIndex)).not.toBe(stale.term);
    for (const id of ['n1', 'n2', 'n3']) expect(cluster.raw(id).status().voters).toEqual(['n1', 'n2', 'n3']);
  });
});

describe('configuration in snapshots and across restarts', () => {
  test('a config change compacted into a snapshot reaches a new node, which keeps it across a restart', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);
    cluster.isolate(['n4']);
    cluster.proposeConfChange('n1', { type: 'addLearner', node: 'n4' });
    cluster.stabilize();
    for (let i = 0; i < 5; i++) cluster.propose('n1', bytes(`e${i}`));
    cluster.stabilize();
    expect(cluster.compact('n1')).toBe(true);
    const snapshot = cluster.node('n1').storage.snapshotMeta();
    expect(snapshot.membership).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });

    cluster.heal();
    tickUntil(cluster, () => cluster.raw('n4').status().appliedIndex === cluster.raw('n1').status().commitIndex);

    expect(cluster.node('n4').storage.snapshotMeta().index).toBe(snapshot.index);
    expect(cluster.raw('n4').status().membership).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
    cluster.crash('n4');
    cluster.restart('n4');
    expect(cluster.raw('n4').status().membership).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
    // And it can be promoted from there.
    cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n4' });
    cluster.stabilize();
    expect(cluster.raw('n4').status().voters).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  test('a restarted node recomputes its configuration from its log, joint or not', () => {
    const cluster = clusterOf(5, ['n1', 'n2', 'n3']);
    cluster.isolate(['n3', 'n4', 'n5']);
    cluster.proposeConfChange('n1', [
      { type: 'addVoter', node: 'n4' },
      { type: 'addVoter', node: 'n5' },
    ]);
    cluster.stabilize(); // joint, and stuck there: the new majority is cut off
    const before = cluster.raw('n2').status();
    expect(before.joint).toBe(true);

    cluster.crash('n2');
    cluster.restart('n2');

    expect(cluster.raw('n2').status().membership).toEqual(before.membership);
    expect(cluster.raw('n2').status().configIndex).toBe(before.configIndex);
  });

  test('the snapshot carries the configuration of its own index, not a newer uncommitted one', () => {
    const cluster = clusterOf(4, ['n1', 'n2', 'n3']);
    const applied = cluster.raw('n1').status().appliedIndex;
    cluster.isolate(['n2', 'n3', 'n4']);
    cluster.proposeConfChange('n1', { type: 'addVoter', node: 'n4' });
    cluster.processReady('n1');

    expect(cluster.raw('n1').membershipAt(applied)).toEqual({ voters: ['n1', 'n2', 'n3'], learners: [] });
    expect(cluster.raw('n1').status().voters).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(cluster.compact('n1')).toBe(true);
    expect(cluster.node('n1').storage.snapshotMeta()).toMatchObject({ index: applied, membership: { voters: ['n1', 'n2', 'n3'] } });
  });
});
