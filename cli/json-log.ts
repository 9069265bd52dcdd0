/**
 * Structured logs for the command line, through pino: one JSON object per
 * line on stderr, with `level` (a name: debug, info, warn, error), `time`
 * (ISO 8601), `msg`, the base fields (the node id) and the record's own.
 * Errors go under `err` with their type, message, stack and `code`.
 *
 * @packageDocumentation
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** True for a known level name. */
export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

/**
 * A logger writing records of at least `minimum` severity, each with the
 * `base` fields, to `destination` (default: stderr, written synchronously so
 * that nothing is lost when the process exits).
 */
export function jsonLogger(minimum: LogLevel, base: Readonly<Record<string, unknown>> = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: minimum,
      base: { ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A record of the TCP transport's logger, logged through `logger` at its own level. */
export function logRecord(logger: Logger, record: { readonly level: LogLevel; readonly message: string; readonly error?: unknown }): void {
  const { level, message, error, ...fields } = record;
  logger[level](error === undefined ? fields : { ...fields, err: error }, message);
}
