/**
 * Known Raft bug 4 (Raft notes §4): a vote (or term) not made durable before
 * the reply (redpanda PR #14). A node that grants a vote and crashes before
 * the vote reaches its disk restarts with no memory of it and may grant a
 * second vote in the same term: two leaders in one term. The window is a
 * write's latency, so end-to-end checks (Election Safety after a crash) see
 * the bug only on the rare seed where a crash lands inside it, and then as
 * a changed trace rather than a broken assertion.
 *
 * These tests assert the durability itself: every message is checked, as it
 * leaves its node, against what that node's simulated disk holds (the world's
 * "Durable before reply" check, sim/world/reply-durability.ts). It catches a
 * runtime that sends a Ready's messages before its write completes (the
 * follower side of bug 7 too: an acknowledgement before fsync) on the first
 * election, whatever the loop that sends them looks like.
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../src/core/message.js';
import type { HardState } from '../../src/core/types.js';
import { formatRunReport, runSeed } from '../../sim/runtime/run.js';
import { undurableReply } from '../../sim/world/reply-durability.js';
import type { DurableView } from '../../sim/world/reply-durability.js';

/** A disk whose platter holds `hardState` and entries up to `lastIndex`. */
function platter(hardState: HardState, lastIndex: number): DurableView {
  return { durableHardState: () => hardState, durableLastIndex: () => lastIndex };
}

const raft = (message: Message) => ({ kind: 'raft', message }) as const;
const grant = (term: number, preVote = false): Message => ({ type: 'requestVoteResponse', from: 'n2', to: 'n1', term, preVote, granted: true });
const ack = (term: number, index: number): Message => ({ type: 'appendEntriesResponse', from: 'n2', to: 'n1', term, success: true, index, hintIndex: 0, hintTerm: 0 });

describe('bug 4, a vote not durable before the reply (redpanda PR #14)', () => {
  test('Figure 2: a granted vote may leave only once that vote is on the platter', () => {
    expect(undurableReply(raft(grant(3)), platter({ term: 3, vote: 'n1', commit: 0 }, 0))).toBeNull();
    // A later durable term supersedes the vote; the reply is stale, not undurable.
    expect(undurableReply(raft(grant(3)), platter({ term: 4, vote: null, commit: 0 }, 0))).toBeNull();
    expect(undurableReply(raft(grant(3)), platter({ term: 3, vote: null, commit: 0 }, 0))).toMatch(/granted its vote in term 3 to n1 while its durable term was 3 and vote null/);
    expect(undurableReply(raft(grant(3)), platter({ term: 2, vote: 'n1', commit: 0 }, 0))).toMatch(/durable term was 2/);
  });

  test('Figure 2: a message may not carry a term the disk has not recorded, except a pre-vote’s future term', () => {
    const durable = platter({ term: 2, vote: null, commit: 0 }, 5);
    expect(undurableReply(raft({ type: 'heartbeatResponse', from: 'n2', to: 'n1', term: 3, readRound: 0 }), durable)).toMatch(/of term 3 .* durable term was 2/);
    expect(undurableReply(raft({ type: 'requestVote', from: 'n2', to: 'n1', term: 3, preVote: true, lastLogIndex: 5, lastLogTerm: 2 }), durable)).toBeNull();
    expect(undurableReply(raft(grant(3, true)), durable)).toBeNull();
  });

  test('etcd#14370 (follower side of bug 7): an acknowledgement may cover only entries on the platter', () => {
    expect(undurableReply(raft(ack(2, 5)), platter({ term: 2, vote: null, commit: 0 }, 5))).toBeNull();
    expect(undurableReply(raft(ack(2, 6)), platter({ term: 2, vote: null, commit: 0 }, 5))).toMatch(/acknowledged entries up to 6 to n1 while only 5 were durable/);
  });

  test.each([1, 2, 3])('seed %i: no vote, term or acknowledgement leaves a node of the simulated cluster before it is durable', async (seed) => {
    const report = await runSeed(seed, { durationMs: 2000, faults: ['crash'] });
    if (report.violation !== null) console.log(formatRunReport(report));
    expect(report.violation?.detail ?? null).toBeNull();
    // The check had elections and crashes to look at.
    expect(report.coverage.leaderElected).toBeGreaterThan(0);
  });
});
