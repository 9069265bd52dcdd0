/**
 * Figure 7 of the Raft paper (§5.3): "When the leader at the top comes to
 * power, it is possible that any of scenarios (a–f) could occur in follower
 * logs." Some followers miss entries (a, b), some hold extra uncommitted
 * entries (c, d), some both (e, f). The leader forces every follower's log to
 * duplicate its own: it finds the last index where they agree, deletes what
 * follows on the follower and sends its own entries after it.
 *
 * Logs are written as the terms of their entries from index 1, exactly as in
 * the figure; the leader comes to power in term 8 and appends its no-op at 11.
 */
import { describe, expect, it, test } from 'vitest';
import type { Message } from '../../../src/core/message.js';
import type { NodeId } from '../../../src/core/types.js';
import { logOf, scenarioCluster, settle, storedLogOf } from '../../support/scenario-cluster.js';
import { terms } from '../../support/scenario-log-builder.js';
import type { StoredState } from '../../support/scenario-log-builder.js';

const FIGURE_7 = {
  leader: terms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6),
  a: terms(1, 1, 1, 4, 4, 5, 5, 6, 6),
  b: terms(1, 1, 1, 4),
  c: terms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
  d: terms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
  e: terms(1, 1, 1, 4, 4, 4, 4),
  f: terms(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
} as const;

type Follower = Exclude<keyof typeof FIGURE_7, 'leader'>;

/** Each node's current term: at least its last entry's term; the leader was in term 7 (it saw (d)'s leader) and campaigns into 8. */
const CURRENT_TERM: Record<keyof typeof FIGURE_7, number> = { leader: 7, a: 6, b: 4, c: 6, d: 7, e: 4, f: 3 };

/** The first three entries (term 1) are on every log: they may be committed everywhere. */
const COMMITTED = 3;

function stored(id: keyof typeof FIGURE_7): StoredState {
  return { log: FIGURE_7[id], term: CURRENT_TERM[id], commit: COMMITTED };
}

const LEADER_AFTER_ELECTION = [...FIGURE_7.leader, 8];

test('§5.3 Figure 7: a new leader in term 8 brings followers (a)–(f) to its log, truncating the extra entries of (c), (d), (e) and (f)', () => {
  const ids: NodeId[] = ['leader', 'a', 'b', 'c', 'd', 'e', 'f'];
  const cluster = scenarioCluster({ ids, stored: Object.fromEntries(ids.map((id) => [id, stored(id as keyof typeof FIGURE_7)])) });

  cluster.campaign('leader');
  settle(cluster);

  // (c) and (d) refused their votes (their logs are more up to date); (a), (b), (e), (f) and the leader make 5 of 7.
  expect(cluster.raw('leader').status()).toMatchObject({ role: 'leader', term: 8 });
  for (const id of ids) {
    expect(logOf(cluster, id), `log of ${id}`).toEqual(LEADER_AFTER_ELECTION);
    expect(storedLogOf(cluster, id), `stored log of ${id}`).toEqual(LEADER_AFTER_ELECTION);
    expect(cluster.raw(id).status(), `status of ${id}`).toMatchObject({ term: 8, commitIndex: 11 });
  }
});

describe('§5.3 Figure 7: each follower on its own, with the number of rejected AppendEntries it takes', () => {
  // A third node holding the leader's log lets the leader win even when the follower refuses its vote.
  it.each<{ follower: Follower; rejections: number; why: string }>([
    { follower: 'a', rejections: 1, why: 'missing entry 10: one step back' },
    { follower: 'b', rejections: 1, why: 'missing 5..10: the hint jumps to its last entry' },
    { follower: 'c', rejections: 0, why: 'prevLog (10, 6) matches; its extra entry 11 is overwritten' },
    { follower: 'd', rejections: 0, why: 'prevLog (10, 6) matches; its term-7 entries 11 and 12 are truncated' },
    { follower: 'e', rejections: 1, why: 'its term-4 entries 6 and 7 are skipped in one step' },
    { follower: 'f', rejections: 1, why: 'its terms 2 and 3 are skipped in one step to index 3' },
  ])('($follower) $why', ({ follower, rejections }) => {
    const cluster = scenarioCluster({
      ids: ['leader', follower, 'witness'],
      stored: { leader: stored('leader'), [follower]: stored(follower), witness: { ...stored('leader'), term: 6 } },
    });

    cluster.campaign('leader');
    const delivered: Message[] = settle(cluster);

    expect(cluster.raw('leader').status()).toMatchObject({ role: 'leader', term: 8, commitIndex: 11 });
    expect(logOf(cluster, follower)).toEqual(LEADER_AFTER_ELECTION);
    expect(storedLogOf(cluster, follower)).toEqual(LEADER_AFTER_ELECTION);
    expect(delivered.filter((m) => m.type === 'appendEntriesResponse' && m.from === follower && !m.success)).toHaveLength(rejections);
  });
});
