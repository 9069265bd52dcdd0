/**
 * The playground's state: which run is shown (its spec and the person's
 * actions), whether it plays, and how it gets to a moment. Going forward
 * releases more of the current run; going back replays the same spec and
 * actions from the seed to the earlier moment.
 */
import { useTurnScheduler } from '../../sim/world/turns.js';
import { PacedTurns } from './paced-turns.js';
import { checkSpec } from './run-spec.js';
import type { RunSpec } from './run-spec.js';
import { Session } from './session.js';
import type { Goal } from './session.js';
import type { TimedAction, UserAction } from './user-actions.js';

/** World milliseconds a frame may advance at most, whatever the speed (keeps the page responsive). */
const FRAME_MS_MAX = 250;

/** Drives sessions for the page. */
export class Controller {
  /** The run shown. */
  session: Session | null = null;
  /** True while the run plays at {@link speed}. */
  playing = false;
  /** World milliseconds per real millisecond while playing. */
  speed = 1;
  /** The furthest world time seen in a run of the current spec, for the scrub bar. */
  furthestMs = 0;
  private readonly turns = new PacedTurns();

  constructor(private readonly changed: () => void) {
    useTurnScheduler(this.turns);
  }

  /**
   * Shows a new run of `spec` with `actions`, run to `goal`. Checks the spec
   * first: if the simulator refuses it, throws `InvalidArgumentError` and the
   * current run stays.
   */
  load(spec: RunSpec, actions: readonly TimedAction[] = [], goal: Goal = { kind: 'turns', turns: 0 }): void {
    checkSpec(spec);
    const sameSpec = this.session !== null && JSON.stringify(this.session.spec) === JSON.stringify(spec);
    if (!sameSpec) this.furthestMs = 0;
    this.session?.abandon();
    const session = new Session(spec, actions, this.turns, () => this.stopped());
    this.session = session;
    session.start();
    session.runUntil(goal);
    this.changed();
  }

  /** Goes to world time `timeMs`: forward in this run, or back by a replay. */
  seek(timeMs: number): void {
    const session = this.session;
    if (session === null) return;
    this.playing = false;
    if (timeMs < session.nowMs) this.load(session.spec, session.actions, { kind: 'time', timeMs });
    else if (!session.ended) session.runUntil({ kind: 'time', timeMs });
    this.changed();
  }

  /** One more world turn. */
  step(): void {
    this.playing = false;
    this.session?.step();
    this.changed();
  }

  /** Plays to the end of the run at full speed. */
  runToEnd(): void {
    this.playing = false;
    this.session?.runUntil({ kind: 'end' });
    this.changed();
  }

  /** Plays, or pauses where the run stands. */
  togglePlay(): void {
    this.playing = !this.playing;
    if (!this.playing) this.session?.hold();
    this.changed();
  }

  /** Called every animation frame: moves a playing run on by `elapsedMs` of real time. */
  frame(elapsedMs: number): void {
    const session = this.session;
    if (session === null) return;
    this.furthestMs = Math.max(this.furthestMs, session.nowMs);
    if (!this.playing) return;
    if (session.ended) {
      this.playing = false;
      return;
    }
    session.runUntil({ kind: 'time', timeMs: session.nowMs + Math.min(FRAME_MS_MAX, elapsedMs * this.speed) });
  }

  /** Takes a person's action on the current run. */
  act(action: UserAction): void {
    this.session?.act(action);
    this.changed();
  }

  /** Replays the current run without its last action, back to where it was. */
  undo(): void {
    const session = this.session;
    if (session === null || session.actions.length === 0) return;
    this.load(session.spec, session.actions.slice(0, -1), { kind: 'time', timeMs: session.nowMs });
  }

  private stopped(): void {
    this.changed();
  }
}
