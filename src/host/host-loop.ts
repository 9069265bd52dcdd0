import type { ScheduledLoop, TurnScheduler } from '../node/owner-loop.js';
import { assert } from '../util/assert.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/** Counters of a host loop. */
export interface HostLoopStats {
  /** Rounds run. */
  readonly rounds: number;
  /** Group turns run, over all rounds. */
  readonly turns: number;
  /** The most group turns one round ran. */
  readonly maxTurnsPerRound: number;
}

/** What the host does around a round: the transport holds messages during it and sends them after. */
export interface RoundHooks {
  beginRound(): void;
  endRound(): void;
}

/**
 * The host's one loop over many Raft groups: every group's owner loop asks
 * it for turns ({@link TurnScheduler}) instead of setting timers of its own.
 * A round runs one turn of each group that asked, in the order they asked,
 * then ends: the transport sends everything the round's turns sent, one
 * batch per peer host.
 *
 * Fairness: a turn is bounded (`limits.maxInputsPerTurn`,
 * `limits.maxAppliesPerTurn`), and a group with work left asks again during
 * its turn, which puts it in the next round, behind every group that asked
 * before. So a busy group gets one bounded turn per round, like every other
 * group with work, and cannot starve them.
 */
export class HostLoop implements TurnScheduler {
  private ready: ScheduledLoop[] = [];
  private timer: TimerHandle | null = null;
  private inRound = false;
  private stopped = false;
  private counters = { rounds: 0, turns: 0, maxTurnsPerRound: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly hooks: RoundHooks,
  ) {}

  schedule(loop: ScheduledLoop): void {
    if (this.stopped) return;
    this.ready.push(loop);
    if (this.timer === null && !this.inRound) this.timer = this.clock.setTimeout(this.runRound, 0);
  }

  /** Counters since start. */
  stats(): HostLoopStats {
    return { ...this.counters };
  }

  /** No more rounds. */
  stop(): void {
    this.stopped = true;
    this.ready = [];
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly runRound = (): void => {
    this.timer = null;
    if (this.stopped) return;
    assert(!this.inRound, 'host loop: a round started inside another');
    const loops = this.ready;
    this.ready = [];
    this.inRound = true;
    this.hooks.beginRound();
    try {
      // Each owner loop catches its own turn's errors and fails only its own node.
      for (const loop of loops) loop.runScheduledTurn();
    } finally {
      this.inRound = false;
      this.hooks.endRound();
    }
    this.counters.rounds++;
    this.counters.turns += loops.length;
    this.counters.maxTurnsPerRound = Math.max(this.counters.maxTurnsPerRound, loops.length);
    if (this.ready.length > 0 && !this.stopped) this.timer = this.clock.setTimeout(this.runRound, 0);
  };
}
