/**
 * fast-check arbitraries for the checker's property tests. Plans (see
 * `sim/checker/generate-history.ts`) are plain numbers, so fast-check
 * shrinks a failing history to a small one by shrinking its plan.
 */

import fc from 'fast-check';
import type { HistoryPlan, PlannedFate, PlannedOperation } from '../../sim/checker/generate-history.js';
import type { CasResult, Operation, OperationKind } from '../../sim/history.js';

const KINDS: readonly OperationKind[] = ['get', 'put', 'delete', 'append', 'cas'];

/** Mostly ok, with every other fate common enough to matter in a short history. */
const fate: fc.Arbitrary<PlannedFate> = fc.oneof(
  { arbitrary: fc.constant<PlannedFate>('ok'), weight: 12 },
  { arbitrary: fc.constant<PlannedFate>('fail'), weight: 1 },
  { arbitrary: fc.constant<PlannedFate>('unknown-applied'), weight: 2 },
  { arbitrary: fc.constant<PlannedFate>('unknown-lost'), weight: 2 },
);

/** One planned operation for up to `clients` clients and `keys` keys. */
export function plannedOperation(clients: number, keys: number): fc.Arbitrary<PlannedOperation> {
  return fc.record({
    client: fc.nat({ max: clients - 1 }),
    key: fc.nat({ max: keys - 1 }),
    kind: fc.constantFrom(...KINDS),
    fate,
    valueChoice: fc.nat({ max: 20 }),
    casExpectsCurrent: fc.boolean(),
    gapBefore: fc.nat({ max: 5 }),
    toEffect: fc.nat({ max: 10 }),
    toResponse: fc.nat({ max: 10 }),
    lateBy: fc.nat({ max: 40 }),
    gaveUpRecorded: fc.boolean(),
  });
}

/** A plan of up to `maxOperations` operations by 1–5 clients on 1–3 keys, with unique or colliding values. */
export function historyPlan(maxOperations: number): fc.Arbitrary<HistoryPlan> {
  return fc
    .record({ clients: fc.integer({ min: 1, max: 5 }), keys: fc.integer({ min: 1, max: 3 }), values: fc.constantFrom<HistoryPlan['values'][]>('unique', 'small') })
    .chain(({ clients, keys, values }) =>
      fc.record({ operations: fc.array(plannedOperation(clients, keys), { maxLength: maxOperations }), values: fc.constant(values) }),
    );
}

const smallValue = fc.constantFrom('a', 'b', '');
const smallObservation = fc.constantFrom<string | null>(null, 'a', 'b', 'aa', 'ab', 'ba', '');

/**
 * An arbitrary history of up to `maxOperations` operations on keys x and y
 * with tiny values, times and random responses: most are not linearizable,
 * and the interesting ones are close calls.
 */
export function arbitraryHistory(maxOperations: number): fc.Arbitrary<Operation[]> {
  const operation = fc.record({
    client: fc.constantFrom('c0', 'c1', 'c2'),
    kind: fc.constantFrom(...KINDS),
    key: fc.constantFrom('x', 'x', 'y'),
    value: smallValue,
    expect: fc.constantFrom<string | null>(null, 'a', 'b'),
    invokeTime: fc.nat({ max: 10 }),
    duration: fc.nat({ max: 6 }),
    outcome: fc.constantFrom<Operation['outcome']>('ok', 'ok', 'ok', 'unknown', 'fail'),
    gaveUpRecorded: fc.boolean(),
    read: smallObservation,
    casResult: fc.oneof(
      fc.constant<CasResult>({ status: 'swapped' }),
      fc.constantFrom<string | null>(null, 'a', 'b').map((actual): CasResult => ({ status: 'mismatch', actual })),
    ),
  });
  return fc.array(operation, { maxLength: maxOperations }).map((drafts) =>
    drafts.map((draft, id): Operation => {
      const completeTime = draft.outcome === 'unknown' && !draft.gaveUpRecorded ? null : draft.invokeTime + draft.duration;
      const header = { id, client: draft.client, key: draft.key, invokeTime: draft.invokeTime };
      const completion = draft.outcome === 'ok' ? { outcome: 'ok' as const, completeTime: draft.invokeTime + draft.duration } : { outcome: draft.outcome, completeTime };
      switch (draft.kind) {
        case 'get':
          return { ...header, kind: 'get', ...completion, ...(draft.outcome === 'ok' ? { result: draft.read } : {}) } as Operation;
        case 'put':
        case 'append':
          return { ...header, kind: draft.kind, value: draft.value, ...completion } as Operation;
        case 'delete':
          return { ...header, kind: 'delete', ...completion } as Operation;
        case 'cas':
          return { ...header, kind: 'cas', expect: draft.expect, value: draft.value, ...completion, ...(draft.outcome === 'ok' ? { result: draft.casResult } : {}) } as Operation;
      }
    }),
  );
}

/** Replaces the response of the `choice`-th (modulo) ok get or cas with a random small one. */
export function perturbResponse(history: readonly Operation[], choice: number, read: string | null, casResult: CasResult): Operation[] {
  const answered = history.filter((operation) => operation.outcome === 'ok' && (operation.kind === 'get' || operation.kind === 'cas'));
  const victim = answered[choice % Math.max(1, answered.length)];
  return history.map((operation) => {
    if (operation !== victim) return operation;
    return { ...operation, result: operation.kind === 'get' ? read : casResult } as Operation;
  });
}
