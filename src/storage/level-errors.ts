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

/**
 * LevelDB reports two kinds of damage to its files as I/O errors, not as
 * corruption: a table file shorter than the manifest records (reading past
 * its end fails with EINVAL, since tables are memory-mapped) and a file that
 * CURRENT or the manifest names but that does not exist (ENOENT). Neither
 * heals on retry, so Keel reports them as corruption. LevelDB gives no code
 * for these, only the `strerror` text at the end of the message
 * (`IO error: <path>: Invalid argument`; the path may hold any byte, so the
 * pattern matches across lines), which env_posix.cc has produced the
 * same way for over a decade. Failures of the disk itself (EIO, ENOSPC,
 * EACCES) stay I/O errors.
 */
const DAMAGED_FILE_MESSAGE = /^IO error: .*: (?:No such file or directory|Invalid argument)$/s;

/** True when `error` or any error in its cause chain has the Level code `code`. */
export function hasLevelCode(error: unknown, code: string): boolean {
  return findInCauseChain(error, (candidate) => candidate.code === code);
}

/** True when LevelDB reports a damaged or missing database file as an I/O error (see {@link DAMAGED_FILE_MESSAGE}). */
export function isDamagedFileError(error: unknown): boolean {
  return findInCauseChain(error, (candidate) =>
    candidate.code === 'LEVEL_IO_ERROR' && typeof candidate.message === 'string' && DAMAGED_FILE_MESSAGE.test(candidate.message));
}

function findInCauseChain(error: unknown, predicate: (candidate: { code?: unknown; message?: unknown }) => boolean): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === 'object' && current !== null; depth++) {
    if (predicate(current as { code?: unknown; message?: unknown })) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Maps a failed `open()` of the database at `location`. */
export function openError(error: unknown, location: string): KeelError {
  if (hasLevelCode(error, 'LEVEL_LOCKED')) return new StorageLockedError(location, { cause: error });
  if (hasLevelCode(error, 'LEVEL_CORRUPTION') || isDamagedFileError(error)) {
    return new CorruptionError('leveldb', `LevelDB reports damaged files when opening ${location}: ${describe(error)}`, { cause: error });
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
  if (hasLevelCode(error, 'LEVEL_CORRUPTION') || isDamagedFileError(error)) {
    return new CorruptionError(what, `LevelDB reports damaged files: ${describe(error)}`, { cause: error });
  }
  return new StorageIOError(`cannot read ${what}: ${describe(error)}`, { cause: error });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
