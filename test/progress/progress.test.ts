import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import { InvariantError } from '../../src/errors.js';
import { Progress } from '../../src/progress/progress.js';

/** A follower's progress as a new leader with `lastIndex` entries creates it, moved to `state` with `match`. */
function progress(options: { match?: number; next?: number; state?: 'probe' | 'replicate' | 'snapshot'; maxInflight?: number; maxBytes?: number } = {}): Progress {
  const { match = 0, state = 'probe', maxInflight = 4, maxBytes = 0 } = options;
  const p = new Progress(options.next ?? match + 1, maxInflight, maxBytes);
  p.maybeUpdate(match);
  if (state === 'replicate') p.becomeReplicate();
  if (state === 'snapshot') p.becomeSnapshot(match + 10);
  if (options.next !== undefined) p.next = options.next;
  return p;
}

describe('Progress state transitions', () => {
  it('starts probing with match 0 and the given next', () => {
    const p = new Progress(8, 4, 0);

    expect(p).toMatchObject({ state: 'probe', match: 0, next: 8, probeSent: false, recentActive: false });
  });

  it('becomeReplicate streams from just after match and empties the window', () => {
    const p = progress({ match: 5, next: 9 });
    p.probeSent = true;

    p.becomeReplicate();

    expect(p).toMatchObject({ state: 'replicate', match: 5, next: 6, probeSent: false });
    expect(p.inflights.count()).toBe(0);
  });

  it('becomeProbe from replicate restarts after match and forgets the inflight window', () => {
    const p = progress({ match: 5, state: 'replicate' });
    p.sentEntries(3, 8, 30);

    p.becomeProbe();

    expect(p).toMatchObject({ state: 'probe', match: 5, next: 6 });
    expect(p.inflights.count()).toBe(0);
  });

  it('becomeSnapshot records the pending snapshot and moves next past it', () => {
    const p = progress({ match: 3 });

    p.becomeSnapshot(20);

    expect(p).toMatchObject({ state: 'snapshot', pendingSnapshot: 20, next: 21, match: 3 });
  });

  it('becomeProbe after a snapshot continues after the snapshot, not after match', () => {
    const p = progress({ match: 3 });
    p.becomeSnapshot(20);

    p.becomeProbe();

    expect(p).toMatchObject({ state: 'probe', next: 21, pendingSnapshot: 0 });
  });
});

describe('Progress.maybeUpdate', () => {
  it('raises match and next on a newer acknowledgement', () => {
    const p = progress({ match: 2, next: 3 });
    p.probeSent = true;

    expect(p.maybeUpdate(7)).toBe(true);

    expect(p).toMatchObject({ match: 7, next: 8, probeSent: false });
  });

  it.each([1, 4])('ignores a stale acknowledgement of %i (match 4 never decreases)', (index) => {
    const p = progress({ match: 4, state: 'replicate' });

    expect(p.maybeUpdate(index)).toBe(false);

    expect(p.match).toBe(4);
  });

  it('keeps an optimistic next that is already beyond the acknowledgement', () => {
    const p = progress({ match: 2, state: 'replicate' });
    p.sentEntries(8, 10, 80);

    p.maybeUpdate(5);

    expect(p).toMatchObject({ match: 5, next: 11 });
  });
});

describe('Progress.maybeDecreaseTo', () => {
  describe('in replicate', () => {
    it('ignores a rejection at or below match (a duplicate or reordered answer)', () => {
      const p = progress({ match: 5, state: 'replicate' });
      p.sentEntries(3, 8, 30);

      expect(p.maybeDecreaseTo(5, 0)).toBe(false);
      expect(p.maybeDecreaseTo(3, 0)).toBe(false);

      expect(p).toMatchObject({ match: 5, next: 9 });
    });

    it('falls back to match + 1 on a rejection above match', () => {
      const p = progress({ match: 5, state: 'replicate' });
      p.sentEntries(3, 8, 30);

      expect(p.maybeDecreaseTo(7, 2)).toBe(true);

      expect(p.next).toBe(6);
    });
  });

  describe('in probe', () => {
    it('only the answer to the outstanding probe (prevLogIndex = next - 1) counts', () => {
      const p = progress({ match: 0, next: 10 });

      expect(p.maybeDecreaseTo(8, 3)).toBe(false);
      expect(p.maybeDecreaseTo(10, 3)).toBe(false);

      expect(p.next).toBe(10);
    });

    it('moves next to just after the hint, never above the rejected index', () => {
      const p = progress({ match: 0, next: 10 });
      p.probeSent = true;

      expect(p.maybeDecreaseTo(9, 3)).toBe(true);

      expect(p).toMatchObject({ next: 4, probeSent: false });
    });

    it('never moves next below match + 1', () => {
      const p = progress({ match: 5, next: 10 });

      p.maybeDecreaseTo(9, 1);

      expect(p.next).toBe(6);
    });

    it('a hint beyond the rejected index backs off by one only', () => {
      const p = progress({ match: 0, next: 10 });

      p.maybeDecreaseTo(9, 50);

      expect(p.next).toBe(9);
    });
  });
});

describe('Progress.isPaused', () => {
  it('probe: paused while a probe is outstanding', () => {
    const p = progress({ match: 3 });
    expect(p.isPaused()).toBe(false);

    p.sentEntries(2, 5, 20);

    expect(p.isPaused()).toBe(true);
    expect(p.next).toBe(4);
  });

  it('replicate: paused only when the inflight window is full', () => {
    const p = progress({ match: 3, state: 'replicate', maxInflight: 2 });

    p.sentEntries(1, 4, 10);
    expect(p.isPaused()).toBe(false);
    p.sentEntries(1, 5, 10);

    expect(p.isPaused()).toBe(true);
    p.inflights.freeLE(4);
    expect(p.isPaused()).toBe(false);
  });

  it('replicate: an empty append takes no room in the window', () => {
    const p = progress({ match: 3, state: 'replicate', maxInflight: 1 });

    p.sentEntries(0, 3, 0);

    expect(p.isPaused()).toBe(false);
    expect(p.next).toBe(4);
  });

  it('snapshot: always paused', () => {
    expect(progress({ match: 1, state: 'snapshot' }).isPaused()).toBe(true);
  });
});

describe('Progress invariant 0 ≤ match < next', () => {
  it('rejects a next that is not above match', () => {
    expect(() => new Progress(0, 4, 0)).toThrow(InvariantError);
  });

  test('property: holds across any sequence of acknowledgements, rejections and state changes', () => {
    type Op =
      | { kind: 'update'; index: number }
      | { kind: 'decrease'; rejected: number; hint: number }
      | { kind: 'send'; count: number }
      | { kind: 'probe' }
      | { kind: 'replicate' }
      | { kind: 'snapshot'; index: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('update' as const), index: fc.nat({ max: 30 }) }),
      fc.record({ kind: fc.constant('decrease' as const), rejected: fc.nat({ max: 30 }), hint: fc.nat({ max: 30 }) }),
      fc.record({ kind: fc.constant('send' as const), count: fc.nat({ max: 3 }) }),
      fc.constant({ kind: 'probe' as const }),
      fc.constant({ kind: 'replicate' as const }),
      fc.record({ kind: fc.constant('snapshot' as const), index: fc.nat({ max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const p = new Progress(1, 3, 0);
        let previousMatch = 0;
        for (const o of ops) {
          if (o.kind === 'update') p.maybeUpdate(o.index);
          // As the leader does (replication.ts): a rejection that moves a replicating follower back sends it to probe,
          // which empties its inflight window. Without that, a resend would reuse an index still in the window.
          else if (o.kind === 'decrease' && p.maybeDecreaseTo(o.rejected, o.hint) && p.state === 'replicate') p.becomeProbe();
          else if (o.kind === 'send' && !p.isPaused()) p.sentEntries(o.count, p.next - 1 + o.count, o.count * 10);
          else if (o.kind === 'probe') p.becomeProbe();
          else if (o.kind === 'replicate') p.becomeReplicate();
          else if (o.kind === 'snapshot' && o.index >= p.match) p.becomeSnapshot(o.index);
          expect(p.match).toBeGreaterThanOrEqual(0);
          expect(p.match).toBeLessThan(p.next);
          expect(p.match).toBeGreaterThanOrEqual(previousMatch);
          previousMatch = p.match;
        }
      }),
    );
  });
});
