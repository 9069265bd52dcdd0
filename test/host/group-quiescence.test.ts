/**
 * The quiescence bookkeeping of a host (src/host/group-quiescence.ts) on its
 * own, against a scripted replica: when a group asks to quiesce, what wakes
 * it and what does not, how a refusal is retried, and host-level liveness
 * counted in the host's own ticks. The whole-host behaviour is in
 * quiescence.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { GroupQuiescence } from '../../src/host/group-quiescence.js';
import type { Input } from '../../src/node/inbox.js';
import type { QuiesceNotice } from '../../src/node/quiescence.js';
import type { RaftNode } from '../../src/node/raft-node.js';

const AFTER_TICKS = 3;
const LIVENESS_TICKS = 4;
const TERM = 7;

/** A replica that answers quiesce requests as scripted and records what it was asked. */
class ScriptedReplica {
  mayQuiesce = true;
  /** Answers to the next quiesce requests, in order; true once they run out. */
  answers: boolean[] = [];
  ticks = 0;
  requests: (QuiesceNotice | null)[] = [];
  private pending: ((quiesced: boolean) => void) | null = null;

  hostMayQuiesce(): boolean {
    return this.mayQuiesce;
  }
  hostTick(): void {
    this.ticks++;
  }
  hostQuiesce(notice: QuiesceNotice | null, done: (quiesced: boolean) => void): void {
    this.requests.push(notice);
    this.pending = done;
  }
  hostQuiesceNotice(): { notice: QuiesceNotice; peers: string[] } {
    return { notice: { leader: 'h1', term: TERM, index: 12 }, peers: ['h2', 'h3'] };
  }
  /** The loop's turn: answers the pending request. */
  turn(): void {
    const done = this.pending;
    this.pending = null;
    done?.(this.answers.shift() ?? true);
  }
  asNode(): RaftNode<unknown> {
    return this as unknown as RaftNode<unknown>;
  }
}

function setUp(hostId = 'h1') {
  const heard = new Map<string, number>();
  const notices: { to: string; group: string; term: number; index: number }[] = [];
  const quiescence = new GroupQuiescence({
    hostId,
    afterTicks: AFTER_TICKS,
    livenessTicks: LIVENESS_TICKS,
    lastHeardFrom: (host) => heard.get(host) ?? 0,
    sendNotice: (to, group, term, index) => notices.push({ to, group, term, index }),
  });
  return { quiescence, heard, notices };
}

function raft(type: string, from: string, term: number): Input {
  return { kind: 'message', message: { kind: 'raft', message: { type, from, to: 'x', term } } } as unknown as Input;
}

/** Quiesces `group` as its leader on host h1. */
function quiesceLeader(quiescence: GroupQuiescence, replica: ScriptedReplica, group = 'g'): void {
  for (let i = 0; i < AFTER_TICKS; i++) quiescence.tick(group, replica.asNode());
  replica.turn();
  expect(quiescence.isQuiesced(group)).toBe(true);
}

describe('GroupQuiescence', () => {
  it('an idle leader asks after afterTicks ticks, without a tick queued behind the request, and tells its followers once quiesced', () => {
    const { quiescence, notices } = setUp();
    const leader = new ScriptedReplica();
    for (let i = 0; i < AFTER_TICKS - 1; i++) quiescence.tick('g', leader.asNode());
    expect(leader.requests).toEqual([]);
    expect(leader.ticks).toBe(AFTER_TICKS - 1);
    quiescence.tick('g', leader.asNode());
    expect(leader.requests).toEqual([null]);
    expect(leader.ticks).toBe(AFTER_TICKS - 1);
    // While the request is pending the group is not ticked either.
    quiescence.tick('g', leader.asNode());
    expect(leader.ticks).toBe(AFTER_TICKS - 1);
    leader.turn();
    expect(quiescence.isQuiesced('g')).toBe(true);
    expect(notices).toEqual([
      { to: 'h2', group: 'g', term: TERM, index: 12 },
      { to: 'h3', group: 'g', term: TERM, index: 12 },
    ]);
    quiescence.tick('g', leader.asNode());
    expect(leader.ticks).toBe(AFTER_TICKS - 1);
    expect(quiescence.stats()).toMatchObject({ quiesced: 1, quiesces: 1, wakes: 0 });
  });

  it('a refused leader asks again at its next idle tick, not after another afterTicks', () => {
    const { quiescence } = setUp();
    const leader = new ScriptedReplica();
    leader.answers = [false];
    for (let i = 0; i < AFTER_TICKS; i++) quiescence.tick('g', leader.asNode());
    leader.turn();
    expect(quiescence.isQuiesced('g')).toBe(false);
    quiescence.tick('g', leader.asNode());
    expect(leader.requests).toEqual([null, null]);
    leader.turn();
    expect(quiescence.isQuiesced('g')).toBe(true);
  });

  it('a quiesced leader stays quiet on heartbeat answers of its term, and wakes on anything else', () => {
    const { quiescence } = setUp();
    const leader = new ScriptedReplica();
    quiesceLeader(quiescence, leader);
    // An answer to a heartbeat sent before it quiesced, arriving late.
    quiescence.onInput('g', raft('heartbeatResponse', 'h2', TERM));
    quiescence.onInput('g', { kind: 'tick' });
    expect(quiescence.isQuiesced('g')).toBe(true);
    // A higher term's answer means another leader: the group must run.
    quiescence.onInput('g', raft('heartbeatResponse', 'h2', TERM + 1));
    expect(quiescence.isQuiesced('g')).toBe(false);

    quiesceLeader(quiescence, leader);
    quiescence.onInput('g', raft('appendEntriesResponse', 'h3', TERM));
    expect(quiescence.isQuiesced('g')).toBe(false);
    quiesceLeader(quiescence, leader);
    quiescence.onInput('g', { kind: 'propose' } as unknown as Input);
    expect(quiescence.isQuiesced('g')).toBe(false);
    expect(quiescence.stats().wakesBy).toEqual({ 'message:heartbeatResponse': 1, 'message:appendEntriesResponse': 1, propose: 1 });
  });

  it("a quiesced follower stays quiet on its leader's heartbeats of the term, and wakes on another node's or a campaign", () => {
    const { quiescence } = setUp('h2');
    const follower = new ScriptedReplica();
    quiescence.onNotice('g', follower.asNode(), 'h1', TERM, 12);
    follower.turn();
    expect(quiescence.isQuiesced('g')).toBe(true);
    quiescence.onInput('g', raft('heartbeat', 'h1', TERM));
    expect(quiescence.isQuiesced('g')).toBe(true);
    quiescence.onInput('g', raft('heartbeat', 'h3', TERM));
    expect(quiescence.isQuiesced('g')).toBe(false);

    quiescence.onNotice('g', follower.asNode(), 'h1', TERM, 12);
    follower.turn();
    quiescence.onInput('g', raft('preVote', 'h3', TERM + 1));
    expect(quiescence.isQuiesced('g')).toBe(false);
  });

  it('a follower that refuses a notice retries it at its next ticks, then ticks again: it never stops ticking for good while awake', () => {
    const { quiescence } = setUp('h2');
    const follower = new ScriptedReplica();
    follower.mayQuiesce = false;
    follower.answers = [false, false, false, false, false];
    quiescence.onNotice('g', follower.asNode(), 'h1', TERM, 12);
    follower.turn();
    for (let i = 0; i < 3; i++) {
      quiescence.tick('g', follower.asNode());
      follower.turn();
    }
    expect(follower.requests).toHaveLength(4);
    expect(follower.ticks).toBe(0);
    for (let i = 0; i < 5; i++) quiescence.tick('g', follower.asNode());
    expect(follower.requests).toHaveLength(4);
    expect(follower.ticks).toBe(5);
    expect(quiescence.isQuiesced('g')).toBe(false);
  });

  it('a retried notice that succeeds quiesces the follower under its leader', () => {
    const { quiescence } = setUp('h2');
    const follower = new ScriptedReplica();
    follower.mayQuiesce = false;
    follower.answers = [false, true];
    quiescence.onNotice('g', follower.asNode(), 'h1', TERM, 12);
    follower.turn();
    quiescence.tick('g', follower.asNode());
    follower.turn();
    expect(quiescence.isQuiesced('g')).toBe(true);
    expect(follower.requests).toEqual([
      { leader: 'h1', term: TERM, index: 12 },
      { leader: 'h1', term: TERM, index: 12 },
    ]);
  });

  it("wakes a quiesced follower after livenessTicks of this host's ticks without a word from its leader's host, however long the wall-clock gap", () => {
    const { quiescence, heard } = setUp('h2');
    const follower = new ScriptedReplica();
    quiescence.onNotice('g', follower.asNode(), 'h1', TERM, 12);
    follower.turn();
    heard.set('h1', 100);
    quiescence.checkLiveness(['h1', 'h3']);
    // A stall of this host is no tick at all: nothing counts until the host ticks again.
    for (let i = 0; i < LIVENESS_TICKS; i++) quiescence.checkLiveness(['h1', 'h3']);
    expect(quiescence.isQuiesced('g')).toBe(true);
    // Word from h1 starts the count again.
    heard.set('h1', 200);
    quiescence.checkLiveness(['h1', 'h3']);
    for (let i = 0; i < LIVENESS_TICKS; i++) quiescence.checkLiveness(['h1', 'h3']);
    expect(quiescence.isQuiesced('g')).toBe(true);
    quiescence.checkLiveness(['h1', 'h3']);
    expect(quiescence.isQuiesced('g')).toBe(false);
    expect(quiescence.stats()).toMatchObject({ livenessWakes: 1, wakesBy: { liveness: 1 } });
  });

  it('a host tick visits only awake groups, and a silent peer wakes only the groups quiesced under its leaders', () => {
    const { quiescence, heard } = setUp('h2');
    const replicas = new Map(['g1', 'g2', 'g3'].map((group) => [group, new ScriptedReplica()]));
    for (const [group, replica] of replicas) quiescence.add(group, replica.asNode());
    // g1 and g2 quiesce as followers, of a leader on h1 and one on h3; g3 stays awake.
    for (const [group, leader] of [['g1', 'h1'], ['g2', 'h3']] as const) {
      quiescence.onNotice(group, replicas.get(group)!.asNode(), leader, TERM, 12);
      replicas.get(group)!.turn();
    }
    replicas.get('g3')!.mayQuiesce = false;
    quiescence.tickAll();
    expect(['g1', 'g2', 'g3'].map((group) => replicas.get(group)!.ticks)).toEqual([0, 0, 1]);

    heard.set('h3', 1);
    for (let i = 0; i <= LIVENESS_TICKS + 1; i++) {
      heard.set('h3', i + 2);
      quiescence.checkLiveness(['h1', 'h3']);
    }
    expect([quiescence.isQuiesced('g1'), quiescence.isQuiesced('g2')]).toEqual([false, true]);
    // Woken, g1 is ticked again.
    quiescence.tickAll();
    expect(['g1', 'g2', 'g3'].map((group) => replicas.get(group)!.ticks)).toEqual([1, 0, 2]);
    quiescence.forget('g3');
    quiescence.tickAll();
    expect(replicas.get('g3')!.ticks).toBe(2);
  });
});
