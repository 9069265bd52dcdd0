/**
 * One run of the simulator in the page: `runSeedWithTap` over the unchanged
 * runtime, the same call `keel sim` makes, with the world's waits paced by
 * the page. The page moves a session forward by releasing the world's turns
 * ({@link Session.runUntil}); between two turns the world is frozen and can
 * be drawn or acted upon. Scrubbing backwards is a new session of the same
 * spec and actions, run to the earlier moment: runs are deterministic.
 */
import { runSeedWithTap } from '../../sim/runtime/run.js';
import type { RunReport } from '../../sim/runtime/report.js';
import type { WorldTap } from '../../sim/world/tap.js';
import type { World } from '../../sim/world/world.js';
import { FlightLog } from './flight-log.js';
import { postTask } from './paced-turns.js';
import type { PacedTurns, TurnSink } from './paced-turns.js';
import { runOptions } from './run-spec.js';
import type { RunSpec } from './run-spec.js';
import { ActionApplier } from './user-actions.js';
import type { TimedAction, UserAction } from './user-actions.js';

/** When a session stops releasing turns. */
export type Goal =
  | { readonly kind: 'hold' }
  /** Until world time reaches `timeMs`. */
  | { readonly kind: 'time'; readonly timeMs: number }
  /** Until `turns` turns ran in all. */
  | { readonly kind: 'turns'; readonly turns: number }
  | { readonly kind: 'end' };

/** The most trace lines a session keeps for the page. */
const TRACE_LINES_MAX = 400;

/** A run being shown. */
export class Session implements TurnSink {
  /** The run's world, once built (the tap's `attach`). */
  world: World | null = null;
  /** The run's report, once it has ended: the same report `keel sim` prints. */
  report: RunReport | null = null;
  /** Set when the run itself threw (bad options): the run did not happen. */
  error: Error | null = null;
  /** Turns released so far: the clock of user actions. */
  turns = 0;
  /** Messages in flight, from the tap. */
  readonly flights = new FlightLog();
  /** The newest trace lines, oldest first. */
  readonly trace: string[] = [];
  /** Takes the person's actions on this run's world. */
  applier: ActionApplier | null = null;
  private readonly held: (() => void)[] = [];
  private goal: Goal = { kind: 'hold' };
  private posted = false;
  private nextAction = 0;
  private abandoned = false;

  /** The person's actions on this run, in turn order: replayed when the run reaches them. */
  readonly actions: TimedAction[];

  constructor(
    readonly spec: RunSpec,
    actions: readonly TimedAction[],
    private readonly scheduler: PacedTurns,
    /** Called whenever the session stops at its goal, ends, or fails. */
    private readonly onStop: (session: Session) => void,
  ) {
    this.actions = [...actions];
  }

  /** Starts the run; it holds before its first turn until {@link runUntil}. */
  start(): void {
    this.scheduler.attach(this);
    const tap: WorldTap = {
      attach: (world) => {
        this.world = world;
        this.applier = new ActionApplier(world);
      },
      event: (timeMs, event) => this.noteEvent(timeMs, event),
      sent: (timeMs, from, to, message) => this.flights.sent(timeMs, from, to, message),
      delivered: (timeMs, from, to, message) => this.flights.delivered(timeMs, from, to, message),
    };
    runSeedWithTap(this.spec.seed, runOptions(this.spec), tap).then(
      (report) => {
        this.report = report;
        this.stopped();
      },
      (error: unknown) => {
        this.error = error instanceof Error ? error : new Error(String(error));
        this.stopped();
      },
    );
  }

  /** True once the run has ended (or failed to run). */
  get ended(): boolean {
    return this.report !== null || this.error !== null;
  }

  /** True when the run stands still: it ended, or it is held at its goal (what tests wait for). */
  get settled(): boolean {
    return this.ended || (!this.posted && this.held.length > 0 && this.goalMet());
  }

  /** World time in milliseconds. */
  get nowMs(): number {
    return this.world?.now() ?? 0;
  }

  /** Releases turns until `goal` is met, then calls `onStop`. */
  runUntil(goal: Goal): void {
    this.goal = goal;
    this.pump();
  }

  /** Stops releasing turns; the world stays frozen where it is. */
  hold(): void {
    this.goal = { kind: 'hold' };
  }

  /** Releases exactly one more turn. */
  step(): void {
    this.runUntil({ kind: 'turns', turns: this.turns + 1 });
  }

  /** Never releases a turn again (the page moved on to another session). */
  abandon(): void {
    this.abandoned = true;
    this.held.length = 0;
  }

  /**
   * Takes a person's action now, between two turns, and records it. Actions
   * recorded for later turns (the page was scrubbed back before them) are
   * dropped: the run takes a new course from here.
   */
  act(action: UserAction): void {
    if (this.applier === null || this.ended) throw new Error('the run is not under way');
    // Actions of this very turn first, in one task, exactly as a replay takes them.
    while (this.actionDue()) this.applier.apply(this.actions[this.nextAction++]!.action);
    this.actions.splice(this.nextAction);
    this.applier.apply(action);
    this.actions.push({ atTurn: this.turns, action });
    this.nextAction = this.actions.length;
  }

  /** The world asks to go on (see {@link PacedTurns}). */
  enqueue(callback: () => void): void {
    if (this.abandoned) return;
    this.held.push(callback);
    this.pump();
  }

  private pump(): void {
    if (this.posted || this.held.length === 0 || this.abandoned) return;
    if (this.goalMet()) {
      this.stopped();
      return;
    }
    this.posted = true;
    // Actions due before this turn run in a task of their own, so their promise chains settle first, as they did live.
    if (this.actionDue()) postTask(() => this.runDueActions());
    else postTask(() => this.release());
  }

  private actionDue(): boolean {
    return this.nextAction < this.actions.length && this.actions[this.nextAction]!.atTurn <= this.turns && this.applier !== null;
  }

  private runDueActions(): void {
    // An abandoned world must stay frozen: anything it ran now would wait on the next session's scheduler.
    if (this.abandoned) return;
    while (this.actionDue()) this.applier!.apply(this.actions[this.nextAction++]!.action);
    postTask(() => this.release());
  }

  private release(): void {
    this.posted = false;
    if (this.abandoned) return;
    const callback = this.held.shift();
    if (callback === undefined) return;
    this.turns++;
    callback();
  }

  private goalMet(): boolean {
    const goal = this.goal;
    switch (goal.kind) {
      case 'hold':
        return true;
      case 'time':
        return this.nowMs >= goal.timeMs;
      case 'turns':
        return this.turns >= goal.turns;
      case 'end':
        return false;
    }
  }

  private stopped(): void {
    if (!this.abandoned) this.onStop(this);
  }

  private noteEvent(timeMs: number, event: string): void {
    this.trace.push(`${timeMs.toFixed(3)} ${event}`);
    if (this.trace.length > TRACE_LINES_MAX) this.trace.splice(0, this.trace.length - TRACE_LINES_MAX);
    if (event.startsWith('drop ')) this.flights.dropped(timeMs, event);
  }
}
