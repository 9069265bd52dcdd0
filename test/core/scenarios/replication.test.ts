/**
 * Log replication (§5.3): the consistency check on (prevLogIndex, prevLogTerm),
 * conflict handling, and the leader's fast backtracking with conflict hints.
 * Wrong conflict handling shipped in real systems: truncating unconditionally
 * after prevLogIndex, or never truncating (camunda#5360, openraft#511).
 */
import { describe, expect, it, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import { CoreCluster } from '../../../src/testing/core-cluster.js';
import { electNode, logOf, scenarioCluster, settle, storedLogOf, tickUntil } from '../../support/scenario-cluster.js';
import { entries, repeat, storageWith, terms, termsOf } from '../../support/scenario-log-builder.js';
import type { StoredState } from '../../support/scenario-log-builder.js';
import { NodeHarness, appendEntries, ofType } from '../../support/scenario-node.js';

/** A follower n2 whose log holds `log` (terms from index 1), in term 3. */
function follower(log: readonly number[]): NodeHarness {
  return new NodeHarness({ id: 'n2', storage: storageWith({ log, term: 3 }) });
}

const followerLog = (node: NodeHarness): (number | undefined)[] => termsOf(node.raw, node.raw.status().lastIndex);

describe('§5.3: AppendEntries is rejected when the log has no entry matching (prevLogIndex, prevLogTerm)', () => {
  // The follower's log is 1, 1, 2, 2, 2. The hint names its last index whose term is ≤ prevLogTerm.
  it.each([
    { prevLogIndex: 6, prevLogTerm: 3, hintIndex: 5, hintTerm: 2, why: 'prevLogIndex past the end' },
    { prevLogIndex: 5, prevLogTerm: 3, hintIndex: 5, hintTerm: 2, why: 'a different term at prevLogIndex' },
    { prevLogIndex: 4, prevLogTerm: 1, hintIndex: 2, hintTerm: 1, why: 'a higher term there: skip back over term 2' },
    { prevLogIndex: 2, prevLogTerm: 2, hintIndex: 2, hintTerm: 1, why: 'a lower term there' },
    { prevLogIndex: 9, prevLogTerm: 1, hintIndex: 2, hintTerm: 1, why: 'far past the end, older term' },
  ])('($prevLogIndex, $prevLogTerm): rejected, hint ($hintIndex, $hintTerm): $why', ({ prevLogIndex, prevLogTerm, hintIndex, hintTerm }) => {
    const node = follower(terms(1, 1, 2, 2, 2));

    node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex, prevLogTerm, entries: entries(terms(3), prevLogIndex + 1) }));

    expect(ofType(node.flush(), 'appendEntriesResponse')).toEqual([
      expect.objectContaining({ to: 'n1', term: 3, success: false, index: prevLogIndex, hintIndex, hintTerm }),
    ]);
    expect(followerLog(node)).toEqual(terms(1, 1, 2, 2, 2));
  });

  it('accepts when the entry at prevLogIndex has prevLogTerm, and acknowledges the last index it verified', () => {
    const node = follower(terms(1, 1, 2, 2, 2));

    node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex: 5, prevLogTerm: 2, entries: entries(terms(3, 3), 6) }));

    expect(ofType(node.flush(), 'appendEntriesResponse')).toEqual([expect.objectContaining({ success: true, index: 7 })]);
    expect(followerLog(node)).toEqual(terms(1, 1, 2, 2, 2, 3, 3));
  });
});

test('§5.3: a conflicting suffix is deleted and replaced by the leader’s entries', () => {
  const node = follower(terms(1, 1, 2, 2, 2));

  node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex: 2, prevLogTerm: 1, entries: entries(terms(3), 3) }));
  node.flush();

  expect(followerLog(node)).toEqual(terms(1, 1, 3));
  expect(node.storage.lastIndex()).toBe(3);
});

test('§5.3: entries that match are kept even when the leader resends them with new entries after them', () => {
  const node = follower(terms(1, 1, 2, 2));

  node.step(appendEntries({ from: 'n1', to: 'n2', term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: entries(terms(1, 2, 2, 3), 2) }));
  const ready = node.raw.ready();

  expect(ready.entries.map((e) => e.index)).toEqual([5]);
  expect(followerLog(node)).toEqual(terms(1, 1, 2, 2, 3));
});

describe('§5.3: duplicated or reordered AppendEntries never truncate matching entries', () => {
  const first = appendEntries({ from: 'n1', to: 'n2', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: entries(terms(1, 1)) });
  const second = appendEntries({ from: 'n1', to: 'n2', term: 1, prevLogIndex: 2, prevLogTerm: 1, entries: entries(terms(1, 1), 3) });

  it('a duplicate of an earlier append arriving after a later one', () => {
    const node = new NodeHarness({ id: 'n2' });
    node.step(first);
    node.step(second);

    node.step(first);
    const answers = ofType(node.flush(), 'appendEntriesResponse');

    expect(followerLog(node)).toEqual(terms(1, 1, 1, 1));
    expect(answers.map((a) => [a.success, a.index])).toEqual([
      [true, 2],
      [true, 4],
      [true, 2],
    ]);
  });

  it('a later append arriving first is rejected, then accepted once the earlier one arrives', () => {
    const node = new NodeHarness({ id: 'n2' });

    node.step(second);
    node.step(first);
    node.step(second);

    expect(ofType(node.flush(), 'appendEntriesResponse').map((a) => [a.success, a.index])).toEqual([
      [false, 2],
      [true, 2],
      [true, 4],
    ]);
    expect(followerLog(node)).toEqual(terms(1, 1, 1, 1));
  });

  it('an append below the commit index is answered with the commit index and changes nothing', () => {
    const node = new NodeHarness({ id: 'n2' });
    node.step({ ...second, prevLogIndex: 0, prevLogTerm: 0, entries: entries(terms(1, 1, 1, 1)), leaderCommit: 4 });
    node.flush();

    node.step(first);

    expect(ofType(node.flush(), 'appendEntriesResponse')).toEqual([expect.objectContaining({ success: true, index: 4 })]);
    expect(followerLog(node)).toEqual(terms(1, 1, 1, 1));
  });

  test('§5.3: in a cluster where every message is delivered twice and in reverse order, logs still converge', () => {
    const cluster = new CoreCluster({ raft: { maxMsgBytes: 1 } });
    electNode(cluster, 'n1');
    for (let i = 0; i < 5; i++) cluster.propose('n1', new Uint8Array([i]));

    for (let round = 0; round < 30 && (cluster.inFlight.length > 0 || cluster.ids.some((id) => cluster.raw(id).hasReady())); round++) {
      for (const id of cluster.ids) cluster.processReady(id);
      // Bounded: a bug that makes answers multiply must fail the test, not exhaust memory.
      const count = Math.min(cluster.inFlight.length, 64);
      for (let i = 0; i < count; i++) cluster.duplicate(i);
      while (cluster.inFlight.length > 0) cluster.deliver(cluster.inFlight.length - 1);
    }
    for (let tick = 0; tick < 3; tick++) {
      cluster.tickAll();
      settle(cluster, {}, 100);
    }

    for (const id of ['n2', 'n3']) expect(logOf(cluster, id)).toEqual(logOf(cluster, 'n1'));
    expect(cluster.ids.map((id) => cluster.raw(id).status().commitIndex)).toEqual([6, 6, 6]);
  });
});

test('§5.3: a new leader overwrites the uncommitted entries a deposed leader appended in its term', () => {
  const cluster = new CoreCluster();
  electNode(cluster, 'n1');
  cluster.isolate(['n1']);
  for (const byte of [0xa1, 0xa2, 0xa3]) cluster.propose('n1', new Uint8Array([byte]));
  settle(cluster);
  expect(logOf(cluster, 'n1')).toEqual(terms(1, 1, 1, 1));

  tickUntil(cluster, () => ['n2', 'n3'].includes(cluster.leader() ?? ''));
  const newLeader = cluster.leader()!;
  cluster.propose(newLeader, new Uint8Array([0xb1]));
  settle(cluster);
  cluster.heal();
  tickUntil(cluster, () => cluster.raw('n1').status().role === 'follower' && cluster.raw('n1').status().commitIndex === 3);

  const newTerm = cluster.raw(newLeader).status().term;
  expect(logOf(cluster, 'n1')).toEqual(terms(1, newTerm, newTerm));
  expect(storedLogOf(cluster, 'n1')).toEqual(terms(1, newTerm, newTerm));
  const applied = cluster.node('n1').state.map((e) => Array.from(e.data));
  expect(applied).toEqual([[], [], [0xb1]]);
});

describe('fast log backtracking with conflict hints', () => {
  /** n1 and n2 hold the leader's log; n3 holds `diverged`. Elects n1 and counts n3's rejections until it matches. */
  function rejectionsToRepair(leaderLog: readonly number[], diverged: StoredState): { rejections: number; cluster: CoreCluster } {
    const leaderTerm = leaderLog[leaderLog.length - 1]!;
    const cluster = scenarioCluster({
      stored: { n1: { log: leaderLog, term: leaderTerm }, n2: { log: leaderLog, term: leaderTerm }, n3: diverged },
    });
    cluster.campaign('n1');
    const delivered: Message[] = settle(cluster);
    const rejections = delivered.filter((m) => m.type === 'appendEntriesResponse' && m.from === 'n3' && !m.success).length;
    return { rejections, cluster };
  }

  test('§5.3: a follower 50 entries into a diverged term is repaired in one rejection, not one per entry', () => {
    const { rejections, cluster } = rejectionsToRepair([...terms(1, 1, 1), ...repeat(3, 50)], { log: [...terms(1, 1, 1), ...repeat(2, 50)] });

    expect(rejections).toBe(1);
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });

  test('§5.3: a follower with a longer diverged log than the leader’s is repaired in one rejection', () => {
    const { rejections, cluster } = rejectionsToRepair([...terms(1, 1, 1), ...repeat(3, 10)], { log: [...terms(1, 1, 1), ...repeat(2, 60)] });

    expect(rejections).toBe(1);
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
    expect(cluster.raw('n3').status().lastIndex).toBe(14);
  });

  test('§5.3: a follower far behind (a short log) is found in one rejection', () => {
    const { rejections, cluster } = rejectionsToRepair([...terms(1, 1, 1), ...repeat(3, 50)], { log: terms(1, 1), term: 1 });

    expect(rejections).toBe(1);
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });

  test('§5.3: a follower whose log diverges over three terms is repaired in two rejections (each skips a whole term)', () => {
    const diverged = [...terms(1), ...repeat(2, 20), ...repeat(4, 20), ...repeat(5, 20)];
    const { rejections, cluster } = rejectionsToRepair([...terms(1), ...repeat(3, 30), ...repeat(6, 30)], { log: diverged });

    expect(rejections).toBe(2);
    expect(logOf(cluster, 'n3')).toEqual(logOf(cluster, 'n1'));
  });
});
