/**
 * Reading errors that come out of the simulated world: Keel errors carry a
 * stable `code` and a `cause` chain, and findings print the whole chain.
 */

/** True when `error` or one of its causes carries the Keel error `code`. */
export function hasCode(error: unknown, code: string): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if ((current as { code?: unknown }).code === code) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** An error with its causes, on one line. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- ');
}
