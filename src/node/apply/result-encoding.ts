import { Packr } from 'msgpackr';

/**
 * The msgpack encoder of remembered results, and of the session table in
 * snapshots: the one place a result is encoded, so "encodes at apply time"
 * and "encodes in the snapshot" cannot disagree.
 */
export const resultPackr = new Packr({ useRecords: false, moreTypes: true });

/**
 * Deepest nesting of a remembered result. msgpackr encodes recursively, so a
 * cyclic value overflows the stack, and a very deep one may or may not,
 * depending on how deep the stack already is — which differs between nodes.
 * Refusing anything deeper than this, by an explicit walk, makes the decision
 * a function of the value alone.
 */
export const MAX_RESULT_DEPTH = 64;

/** A result encoded for the session table, or why it cannot be. */
export type EncodedResult = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string };

/**
 * Encodes a state machine's result for the session table. Deterministic: the
 * same value gives the same answer on every node (a Symbol, a cyclic or too
 * deeply nested value, an out-of-range BigInt are refused everywhere).
 */
export function encodeResult(result: unknown): EncodedResult {
  if (nestingExceeds(result, MAX_RESULT_DEPTH)) return { ok: false, reason: `it is cyclic or nested deeper than ${MAX_RESULT_DEPTH} levels` };
  try {
    return { ok: true, bytes: resultPackr.pack(result) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Decodes a result remembered by {@link encodeResult}. */
export function decodeResult(bytes: Uint8Array): unknown {
  return resultPackr.unpack(bytes);
}

/** True when `value` nests containers deeper than `maxDepth` (a cycle nests without end). Iterative: no recursion. */
function nestingExceeds(value: unknown, maxDepth: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const children = childrenOf(next.value);
    if (children.length === 0) continue;
    if (next.depth >= maxDepth) return true;
    for (const child of children) stack.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}

/** What msgpackr descends into: array items, map keys and values, set members, an object's own enumerable values. */
function childrenOf(value: unknown): readonly unknown[] {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date) return [];
  if (Array.isArray(value)) return value;
  if (value instanceof Map) return [...value].flat();
  if (value instanceof Set) return [...value];
  return Object.values(value);
}
