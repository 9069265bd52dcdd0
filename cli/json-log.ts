/**
 * Structured logs for the command line: one JSON object per line, with a
 * time, a level and a message, written to stderr.
 *
 * @packageDocumentation
 */

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const SEVERITY: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Writes one record. `fields` are merged into the line; `time`, `level` and `msg` come first. */
export type Log = (level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;

/** True for a known level name. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(SEVERITY, value);
}

/**
 * A logger writing records of at least `minimum` severity to `write`, each
 * with the `base` fields (for example the node id).
 */
export function jsonLog(write: (line: string) => void, minimum: LogLevel, base: Readonly<Record<string, unknown>> = {}): Log {
  return (level, message, fields = {}) => {
    if (SEVERITY[level] < SEVERITY[minimum]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }, replaceErrors)}\n`);
  };
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}
