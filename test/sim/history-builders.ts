/**
 * Small builders for hand-written histories, so a test reads like a timeline:
 *
 * ```ts
 * history(
 *   put('c1', 'x', '1', [0, 10]),
 *   get('c2', 'x', [12, 15], '1'),
 *   unknown(append('c3', 'x', 'a', [5, 9])),
 * );
 * ```
 *
 * Intervals are `[invokeTime, completeTime]`. Each builder makes an `ok`
 * operation; wrap it in {@link unknown}, {@link neverAnswered} or
 * {@link failed} for the other outcomes.
 */

import type { CasResult, Operation } from '../../sim/history.js';

/** An operation without its id: {@link history} numbers them. */
export type Draft = Operation extends infer Each ? (Each extends Operation ? Omit<Each, 'id'> : never) : never;

type Interval = readonly [invokeTime: number, completeTime: number];

/** An ok get that answered `result` (null: absent). */
export function get(client: string, key: string, [invokeTime, completeTime]: Interval, result: string | null): Draft {
  return { client, kind: 'get', key, invokeTime, completeTime, outcome: 'ok', result };
}

/** An ok put. */
export function put(client: string, key: string, value: string, [invokeTime, completeTime]: Interval): Draft {
  return { client, kind: 'put', key, value, invokeTime, completeTime, outcome: 'ok' };
}

/** An ok delete. */
export function del(client: string, key: string, [invokeTime, completeTime]: Interval): Draft {
  return { client, kind: 'delete', key, invokeTime, completeTime, outcome: 'ok' };
}

/** An ok append. */
export function append(client: string, key: string, value: string, [invokeTime, completeTime]: Interval): Draft {
  return { client, kind: 'append', key, value, invokeTime, completeTime, outcome: 'ok' };
}

/** An ok compare-and-set that answered `swapped`, or a mismatch with the given actual value. */
export function cas(
  client: string,
  key: string,
  expect: string | null,
  value: string,
  [invokeTime, completeTime]: Interval,
  answer: 'swapped' | { readonly actual: string | null },
): Draft {
  const result: CasResult = answer === 'swapped' ? { status: 'swapped' } : { status: 'mismatch', actual: answer.actual };
  return { client, kind: 'cas', key, expect, value, invokeTime, completeTime, outcome: 'ok', result };
}

/** The same call, but the client gave up at its complete time without an answer. */
export function unknown(draft: Draft): Draft {
  const { result: _ignored, ...call } = draft as Draft & { result?: unknown };
  return { ...call, outcome: 'unknown' } as Draft;
}

/** The same call, but no answer ever came and the history ended. */
export function neverAnswered(draft: Draft): Draft {
  return { ...unknown(draft), completeTime: null } as Draft;
}

/** The same call, but it was rejected: it certainly did not take effect. */
export function failed(draft: Draft): Draft {
  const { result: _ignored, ...call } = draft as Draft & { result?: unknown };
  return { ...call, outcome: 'fail' } as Draft;
}

/** Numbers the drafts 0, 1, 2, … in the order given. */
export function history(...drafts: readonly Draft[]): Operation[] {
  return drafts.map((draft, id) => ({ ...draft, id }) as Operation);
}
