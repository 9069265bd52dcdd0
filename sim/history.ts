/**
 * Client histories of a replicated key-value store, as recorded by the
 * simulator and the real-process fault tests, and checked by
 * {@link https://cs.brown.edu/~mph/HerlihyW90/p463-herlihy.pdf | linearizability}
 * checkers in `sim/checker/`.
 *
 * A history is a list of {@link Operation}s. Each one is a single call by one
 * client on one key, with the time it was invoked, the time its response came
 * back (if it did) and what the response said. Times are plain numbers in any
 * unit (virtual ticks or wall-clock milliseconds): only their order matters.
 *
 * @packageDocumentation
 */

import { InvalidArgumentError } from '../src/errors.js';

/** The five key-value operations. */
export type OperationKind = 'get' | 'put' | 'delete' | 'append' | 'cas';

/**
 * What the client learnt about an operation.
 *
 * - `ok`: the store answered; the operation took effect exactly once, between
 *   its invoke and complete times, and `result` (where the kind has one) is
 *   what it answered.
 * - `fail`: the operation certainly did not take effect (for example it was
 *   rejected before it was proposed). A checker ignores it.
 * - `unknown`: the client gave up (timeout, lost leader). The operation may
 *   have taken effect at any time after it was invoked, even after the client
 *   gave up, or never. Its `completeTime` is only when the client stopped
 *   waiting and bounds nothing.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

/** Reads the key: answers its value, or null when the key is absent. */
export interface GetInvocation {
  /** The operation. */
  readonly kind: 'get';
  /** The key it acts on. */
  readonly key: string;
}

/** Sets the key to `value`. */
export interface PutInvocation {
  /** The operation. */
  readonly kind: 'put';
  /** The key it acts on. */
  readonly key: string;
  /** The value to store. */
  readonly value: string;
}

/** Removes the key. Removing an absent key is allowed and changes nothing. */
export interface DeleteInvocation {
  /** The operation. */
  readonly kind: 'delete';
  /** The key it acts on. */
  readonly key: string;
}

/** Appends `value` to the key's value; an absent key counts as the empty string. */
export interface AppendInvocation {
  /** The operation. */
  readonly kind: 'append';
  /** The key it acts on. */
  readonly key: string;
  /** The text to append. */
  readonly value: string;
}

/**
 * Compare-and-set: sets the key to `value` if and only if its current value
 * is `expect` (`expect: null` requires the key to be absent).
 */
export interface CasInvocation {
  /** The operation. */
  readonly kind: 'cas';
  /** The key it acts on. */
  readonly key: string;
  /** The value the key must hold for the swap (null: the key must be absent). */
  readonly expect: string | null;
  /** The value to store if it does. */
  readonly value: string;
}

/** What a client asks the store to do: one of the five operations on one key. */
export type Invocation = GetInvocation | PutInvocation | DeleteInvocation | AppendInvocation | CasInvocation;

/** The answer of a completed compare-and-set: it swapped, or the value was `actual` (null: absent). */
export type CasResult =
  | {
      /** The value was swapped. */
      readonly status: 'swapped';
    }
  | {
      /** The value was not the expected one; nothing changed. */
      readonly status: 'mismatch';
      /** The value found (null: absent). */
      readonly actual: string | null;
    };

/**
 * The `result` an `ok` response carries, per kind. Put, delete and append
 * answer nothing beyond `ok`, so they have no `result`.
 */
export interface ResultByKind {
  /** A get answers the value read (null: absent). */
  readonly get: string | null;
  /** A put answers nothing. */
  readonly put: undefined;
  /** A delete answers nothing. */
  readonly delete: undefined;
  /** An append answers nothing. */
  readonly append: undefined;
  /** A compare-and-set answers whether it swapped. */
  readonly cas: CasResult;
}

/** The fields every recorded operation has, whatever its kind and outcome. */
export interface OperationHeader {
  /** Unique within the history. */
  readonly id: number;
  /** The client that issued the operation; used in explanations only. */
  readonly client: string;
  /** When the client sent the request. */
  readonly invokeTime: number;
}

/**
 * How an operation ended. `R` is the extra field an `ok` response carries
 * (`{ result }`, or nothing for kinds without a result).
 */
export type Completion<R> =
  | ({
      /** The store answered. */
      readonly outcome: 'ok';
      /** When the answer came back. */
      readonly completeTime: number;
    } & R)
  | {
      /** The operation certainly did not take effect. */
      readonly outcome: 'fail';
      /** When the refusal came back. */
      readonly completeTime: number;
    }
  | {
      /** The client gave up: the operation may have taken effect, or not. */
      readonly outcome: 'unknown';
      /** When the client gave up waiting, or null if the history ended first. It bounds nothing. */
      readonly completeTime: number | null;
    };

/** A recorded get. When `ok`, `result` is the value read (null: absent). */
export type GetOperation = OperationHeader &
  GetInvocation &
  Completion<{
    /** The value read (null: absent). */
    readonly result: string | null;
  }>;
/** A recorded put. */
export type PutOperation = OperationHeader & PutInvocation & Completion<unknown>;
/** A recorded delete. */
export type DeleteOperation = OperationHeader & DeleteInvocation & Completion<unknown>;
/** A recorded append. */
export type AppendOperation = OperationHeader & AppendInvocation & Completion<unknown>;
/** A recorded compare-and-set. When `ok`, `result` says whether it swapped. */
export type CasOperation = OperationHeader &
  CasInvocation &
  Completion<{
    /** Whether it swapped, or the value it found. */
    readonly result: CasResult;
  }>;

/**
 * One recorded client operation. Discriminated by `kind` (what was asked)
 * and `outcome` (what the client learnt).
 */
export type Operation = GetOperation | PutOperation | DeleteOperation | AppendOperation | CasOperation;

/** A client history: operations in any order, with unique ids. */
export type History = readonly Operation[];

/** An operation that was invoked and has not completed yet; hand it back to {@link HistoryRecorder.ok} and friends. */
export interface PendingOperation<K extends OperationKind = OperationKind> {
  /** The operation's id in the history. */
  readonly id: number;
  /** The operation's kind. */
  readonly kind: K;
}

/** The arguments after `time` that {@link HistoryRecorder.ok} takes for kind `K`: the result, if the kind has one. */
export type ResultArguments<K extends OperationKind> = ResultByKind[K] extends undefined ? [] : [result: ResultByKind[K]];

/** A recorder's bookkeeping for one operation. */
interface RecordedCall {
  readonly client: string;
  readonly invocation: Invocation;
  readonly invokeTime: number;
  completion: Completion<{ readonly result?: unknown }> | null;
}

/**
 * Records a client history while a test runs. It assigns ids and stamps the
 * times the caller passes in; it never reads a clock itself, so the same
 * recorder serves virtual time in the simulator and wall time in real-process
 * tests.
 *
 * @example
 * ```ts
 * const recorder = new HistoryRecorder();
 * const read = recorder.invoke('client-1', { kind: 'get', key: 'x' }, now());
 * recorder.ok(read, now(), 'hello');
 * checkLinearizability(recorder.history());
 * ```
 *
 * @remarks
 * A client may have several operations in flight; the recorder does not
 * enforce one at a time. Operations still pending when {@link history} is
 * called are reported as `unknown` with `completeTime: null`, which is what a
 * checker must assume about them.
 */
export class HistoryRecorder {
  // Indexed by id: ids are assigned densely from 0.
  private readonly calls: RecordedCall[] = [];

  /** Operations recorded so far, in flight or complete. */
  get length(): number {
    return this.calls.length;
  }

  /** Records that `client` sent `invocation` at `invokeTime`, and returns the handle to complete it with. */
  invoke<I extends Invocation>(client: string, invocation: I, invokeTime: number): PendingOperation<I['kind']> {
    if (!Number.isFinite(invokeTime)) {
      throw new InvalidArgumentError(`HistoryRecorder.invoke: invokeTime must be a finite number, got ${invokeTime}`);
    }
    const id = this.calls.length;
    this.calls.push({ client, invocation, invokeTime, completion: null });
    return { id, kind: invocation.kind };
  }

  /** Records an `ok` response at `completeTime`, with the result when the kind has one. */
  ok<K extends OperationKind>(pending: PendingOperation<K>, completeTime: number, ...result: ResultArguments<K>): void {
    const completion = result.length === 0 ? { outcome: 'ok' as const, completeTime } : { outcome: 'ok' as const, completeTime, result: result[0] };
    this.complete(pending, completeTime, completion);
  }

  /** Records that the operation certainly did not take effect (rejected before it was proposed). */
  fail(pending: PendingOperation, completeTime: number): void {
    this.complete(pending, completeTime, { outcome: 'fail', completeTime });
  }

  /** Records that the client gave up at `completeTime` without learning whether the operation took effect. */
  unknown(pending: PendingOperation, completeTime: number | null): void {
    this.complete(pending, completeTime, { outcome: 'unknown', completeTime });
  }

  /** The history so far. Operations still in flight are reported as `unknown` with `completeTime: null`. */
  history(): Operation[] {
    return this.calls.map((call, id) => {
      const completion = call.completion ?? { outcome: 'unknown', completeTime: null };
      // The recorder's typed entry points guarantee that the invocation and
      // completion match in kind; the cast only joins the two halves.
      return { id, client: call.client, invokeTime: call.invokeTime, ...call.invocation, ...completion } as Operation;
    });
  }

  private complete(pending: PendingOperation, completeTime: number | null, completion: Completion<{ readonly result?: unknown }>): void {
    const call = this.calls[pending.id];
    if (call === undefined || call.invocation.kind !== pending.kind) {
      throw new InvalidArgumentError(`HistoryRecorder: no ${pending.kind} operation with id ${pending.id} was invoked on this recorder`);
    }
    if (call.completion !== null) {
      throw new InvalidArgumentError(`HistoryRecorder: operation ${pending.id} already completed as ${call.completion.outcome}`);
    }
    if (completeTime !== null && !(Number.isFinite(completeTime) && completeTime >= call.invokeTime)) {
      throw new InvalidArgumentError(
        `HistoryRecorder: operation ${pending.id} completes at ${completeTime}, before its invoke time ${call.invokeTime} or not finite`,
      );
    }
    call.completion = completion;
  }
}
