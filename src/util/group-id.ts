/**
 * Raft group ids: the name of one replicated log among the many a host runs
 * (docs/multi-raft.md). Shared by the storage engine (key prefixes), the
 * transport (message tags) and the host.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Identifies one Raft group on every host that holds a replica of it. */
export type GroupId = string;

/** The longest group id accepted, in characters. */
export const MAX_GROUP_ID_LENGTH = 128;

/**
 * Letters, digits and `_ . : -`. Excludes `!`, LevelDB sublevels' separator,
 * so a group's key prefix can never be a prefix of another group's.
 */
const GROUP_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** True when `value` is a well-formed group id. */
export function isGroupId(value: unknown): value is GroupId {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_GROUP_ID_LENGTH && GROUP_ID_PATTERN.test(value);
}

/** Returns `value` as a group id, or throws `InvalidArgumentError` saying what `where` was given. */
export function checkGroupId(value: unknown, where: string): GroupId {
  if (isGroupId(value)) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new InvalidArgumentError(`${where}: group id must be 1 to ${MAX_GROUP_ID_LENGTH} characters of letters, digits and _ . : - (got ${shown})`);
}
