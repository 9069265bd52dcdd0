/**
 * The contract between the linearizability search and a sequential model.
 * The search (`wgl-search.ts`) knows nothing about keys or values; it only
 * asks the model whether an operation can take effect in a given state.
 */

/** Returned by {@link SequentialModel.step} when the operation cannot take effect in that state. */
export const REJECTED: unique symbol = Symbol('rejected');

/** The type of {@link REJECTED}. */
export type Rejected = typeof REJECTED;

/**
 * A sequential specification: the states an object goes through when
 * operations take effect one at a time.
 *
 * @typeParam S - A state. States are compared with `===` (and used as `Map`
 *   keys) to recognise configurations already explored, so use primitives or
 *   interned values.
 * @typeParam O - An operation as recorded in the history.
 */
export interface SequentialModel<S, O> {
  /** The state before any operation. */
  readonly initialState: S;
  /**
   * The state after `operation` takes effect in `state`, or {@link REJECTED}
   * if the response the client observed is impossible in `state`. Must be
   * pure: the search calls it many times on the same arguments.
   */
  step(state: S, operation: O): S | Rejected;
}
