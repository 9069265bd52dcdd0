import { InvariantError } from '../errors.js';

/**
 * Asserts an invariant. Always on: a broken invariant is a bug and the node
 * must stop at once rather than continue with state it cannot trust.
 * The message should give the numbers (`commit 12 > lastIndex 9`).
 *
 * The one assertion idiom of the codebase, in its two spellings:
 * `assert(condition, message)` (a string, or a function that builds it only
 * on failure); and on paths that run per entry or per message, where even a
 * closure would be allocated on every call, `if (!condition) assert(false,
 * message)`, which builds nothing unless the invariant is broken. Nothing
 * else throws an `InvariantError`.
 */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === 'string' ? message : message());
  }
}

/** Marks a branch that the type system proves unreachable. */
export function assertNever(value: never, what: string): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
