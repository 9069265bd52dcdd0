import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A usage error: the command prints the message and its help, and exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a subcommand's options strictly; unknown options and stray arguments are usage errors. */
export function parseOptions<T extends Options>(args: readonly string[], options: T): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const message = (error as Error).message;
    // parseArgs reads `--seed -1` as an option followed by another option.
    throw new UsageError(message.includes('is ambiguous') ? `${message.split('.')[0]}: negative numbers are not valid there` : message);
  }
}

/** Reads an integer option within [min, max]. */
export function integerOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return parsed;
}

/** Runs a subcommand body, turning usage errors into exit code 2 with the command's help. */
export async function withUsage(help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`keel: ${error.message}\n\n${help}`);
    return 2;
  }
}
