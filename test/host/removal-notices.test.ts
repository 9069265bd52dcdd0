/**
 * The host's not-a-member notices (src/host/removal-notices.ts): a notice
 * answers a vote request (or a learner's member query) only when the
 * replica's committed configuration leaves the asker out, at most once per
 * (group, peer) per election timeout.
 */
import { describe, expect, it } from 'vitest';
import { RemovalNotices } from '../../src/host/removal-notices.js';
import { VirtualClock } from '../../src/util/clock.js';

function setUp(configWithout: (group: string, peer: string) => number | null) {
  const clock = new VirtualClock();
  const sent: string[] = [];
  const notices = new RemovalNotices({ clock, intervalMs: 100, configWithout, send: (peer, group, configIndex) => void sent.push(`${group}→${peer}@${configIndex}`) });
  return { clock, sent, notices };
}

describe('RemovalNotices', () => {
  it('answers a vote request from a peer the committed configuration leaves out, with its index', () => {
    const { sent, notices } = setUp((group, peer) => (group === 'g0' && peer === 'h3' ? 7 : null));

    notices.onVoteRequest('g0', 'h3');
    notices.onVoteRequest('g0', 'h2');
    notices.onVoteRequest('g1', 'h3');

    expect(sent).toEqual(['g0→h3@7']);
    expect(notices.stats()).toEqual({ checked: 3, queried: 0, sent: 1, rateLimited: 0 });
  });

  it('sends at most one notice per group and peer per election timeout, however often the peer campaigns', async () => {
    const { clock, sent, notices } = setUp(() => 4);

    notices.onVoteRequest('g0', 'h3');
    notices.onVoteRequest('g0', 'h3');
    notices.onVoteRequest('g1', 'h3');
    notices.onVoteRequest('g0', 'h4');
    await clock.advance(99);
    notices.onVoteRequest('g0', 'h3');
    await clock.advance(1);
    notices.prune();
    notices.onVoteRequest('g0', 'h3');

    expect(sent).toEqual(['g0→h3@4', 'g1→h3@4', 'g0→h4@4', 'g0→h3@4']);
    expect(notices.stats().rateLimited).toBe(2);
  });

  it('answers a learner\'s member query as a vote request, under the same limit', () => {
    const { sent, notices } = setUp((group, peer) => (group === 'g0' && peer === 'h3' ? 7 : null));

    notices.onMemberQuery('g0', 'h3');
    notices.onMemberQuery('g0', 'h2');
    notices.onVoteRequest('g0', 'h3');

    expect(sent).toEqual(['g0→h3@7']);
    expect(notices.stats()).toEqual({ checked: 1, queried: 2, sent: 1, rateLimited: 1 });
  });
});
