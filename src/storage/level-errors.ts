/**
 * Translation of abstract-level / classic-level errors into Keel's typed
 * errors. Level reports failures by stable `code` strings, often wrapped: an
 * `open()` that fails because of the lock rejects with
 * `LEVEL_DATABASE_NOT_OPEN` whose `cause` carries `LEVEL_LOCKED`. So the whole
 * cause chain is searched, by code, never by message.
 *
 * @packageDocumentation
 */
import { CorruptionError, KeelError, StorageIOError, StorageLockedError } from '../errors.js';

/** How deep a cause chain is followed; Level nests at most two or three levels. */
const MAX_CAUSE_DEPTH = 8;

/** True when `error` or any error in its cause chain has the Level code `code`. */
export function hasLevelCode(error: unknown, code: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object' && (current as { code?: unknown }).code === code) return true;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return false;
}

/** Maps a failed `open()` of the database at `location`. */
export function openError(error: unknown, location: string): KeelError {
  if (hasLevelCode(error, 'LEVEL_LOCKED')) return new StorageLockedError(location, { cause: error });
  if (hasLevelCode(error, 'LEVEL_CORRUPTION')) {
    return new CorruptionError('leveldb', `LevelDB reports corruption when opening ${location}: ${describe(error)}`, { cause: error });
  }
  return new StorageIOError(`cannot open storage at ${location}: ${describe(error)}`, { cause: error });
}

/**
 * Maps a failed read of `what` (a key name or a range). Keel errors pass
 * through unchanged, LevelDB corruption becomes {@link CorruptionError}, and
 * anything else is an I/O failure.
 */
export function readError(error: unknown, what: string): KeelError {
  if (error instanceof KeelError) return error;
  if (hasLevelCode(error, 'LEVEL_CORRUPTION')) {
    return new CorruptionError(what, `LevelDB reports corruption: ${describe(error)}`, { cause: error });
  }
  return new StorageIOError(`cannot read ${what}: ${describe(error)}`, { cause: error });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
