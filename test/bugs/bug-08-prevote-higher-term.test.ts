/**
 * Known Raft bug 8 (Raft notes §4): the PreVote deadlock. A pre-candidate
 * that ignores an answer carrying a higher term (etcd#8243, raft-rs PR #42,
 * openraft#1796) stays at its old term for ever. When that node holds the
 * longest log, nobody else can win its vote, and its own pre-votes (for a
 * term the others have passed) are refused as stale: no leader is ever
 * elected. The fix (dissertation §9.6 read with Figure 2's "every reply
 * carries currentTerm"): a stale pre-vote is answered with the responder's
 * term, and the pre-candidate adopts it, so its next pre-vote asks for a term
 * the others can grant.
 *
 * Both tests drive the exact interleaving on the core cluster, bounded in
 * ticks: a deadlock fails them with a message, never a timeout.
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../src/core/message.js';
import type { CoreCluster } from '../../src/testing/core-cluster.js';
import { deliverWhere, logOf, scenarioCluster, settle } from '../support/scenario-cluster.js';
import { terms } from '../support/scenario-log-builder.js';

/**
 * etcd#8243's shape: n1 moved on to term 3 (its log is short), n3 holds the
 * longest log but only term 1, and n2 (which saw the term-3 leader) is down.
 * n1 cannot win (n3 refuses its shorter log); only n3 can, once it learns term 3.
 */
function deadlockProneCluster(): CoreCluster {
  const cluster = scenarioCluster({
    raft: { preVote: true, checkQuorum: true },
    stored: { n1: { log: terms(1), term: 3 }, n2: { log: terms(1), term: 3 }, n3: { log: terms(1, 1), term: 1 } },
  });
  cluster.crash('n2');
  return cluster;
}

const preVoteAnswerTo = (id: string) => (m: Message): boolean => m.type === 'requestVoteResponse' && m.preVote && m.to === id;

describe('bug 8, PreVote deadlock (etcd#8243, raft-rs PR #42, openraft#1796)', () => {
  test('§9.6 etcd#8243: a pre-candidate refused by a node of a higher term adopts that term', () => {
    const cluster = deadlockProneCluster();

    cluster.campaign('n3');
    settle(cluster, { hold: (m) => m.to === 'n3' });
    const answers = deliverWhere(cluster, preVoteAnswerTo('n3'));

    // n1 refused n3's pre-vote for term 2 as stale, and said so with its own term.
    expect(answers).toEqual([expect.objectContaining({ from: 'n1', term: 3, granted: false })]);
    expect(cluster.raw('n3').status(), 'the pre-candidate ignored an answer of a higher term').toMatchObject({ term: 3, role: 'follower' });
  });

  test('§9.6 etcd#8243: with PreVote, the node with the longest log but a lower term is elected; the cluster does not deadlock', () => {
    const cluster = deadlockProneCluster();
    const maxTicks = 30 * 10; // thirty election timeouts at the default of 10 ticks

    let ticks = 0;
    for (; ticks < maxTicks && cluster.leader() === null; ticks++) {
      cluster.tickAll();
      settle(cluster);
    }

    const status = (id: string) => cluster.raw(id).status();
    expect(cluster.leader(), `no leader after ${ticks} ticks: n1 at term ${status('n1').term} (${status('n1').role}), n3 at term ${status('n3').term} (${status('n3').role})`).toBe('n3');
    expect(status('n1').term).toBe(status('n3').term);
    // n1 now follows n3 and holds its whole log, the new leader's no-op included.
    settle(cluster);
    expect(logOf(cluster, 'n1')).toEqual(logOf(cluster, 'n3'));
  });
});
