/**
 * The commands of Keel's replicated key-value store and their encoding in
 * the log: `[opcode, key, …arguments]` in msgpack, with UTF-8 string keys and
 * values. Decoding checks the shape exactly: a command that is not one of
 * these stops the node that would apply it, rather than being guessed at.
 *
 * @packageDocumentation
 */
import { Packr } from 'msgpackr';
import { InvalidArgumentError } from '../errors.js';

/** A command of the store, as proposed through `RaftNode.propose`. */
export type KvCommand =
  | {
      /** Read the key's value (a linearizable read through the log). */
      readonly op: 'get';
      /** The key. */
      readonly key: string;
    }
  | {
      /** Set the key's value. */
      readonly op: 'put';
      /** The key. */
      readonly key: string;
      /** The new value. */
      readonly value: string;
    }
  | {
      /** Remove the key; removing an absent key changes nothing. */
      readonly op: 'delete';
      /** The key. */
      readonly key: string;
    }
  | {
      /** Append to the key's value (an absent key counts as empty). */
      readonly op: 'append';
      /** The key. */
      readonly key: string;
      /** The text to append. */
      readonly value: string;
    }
  /** Sets `value` only if the current value is `expect` (null: the key must be absent). */
  | {
      /** Compare-and-set. */
      readonly op: 'cas';
      /** The key. */
      readonly key: string;
      /** The value the key must hold (null: it must be absent). */
      readonly expect: string | null;
      /** The value to set if it does. */
      readonly value: string;
    };

/** What a compare-and-set answers. */
export type CasResult =
  | {
      /** The value was set. */
      readonly status: 'swapped';
    }
  | {
      /** The current value was not the expected one; nothing changed. */
      readonly status: 'mismatch';
      /** The current value (null: absent). */
      readonly actual: string | null;
    };

/** What `apply` answers: a get's value (null: absent), a cas's {@link CasResult}, null for the other writes. */
export type KvResult = string | null | CasResult;

/** Limits on what the store accepts. */
export interface KvLimits {
  /** Longest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Longest value, in UTF-8 bytes. */
  readonly maxValueBytes: number;
}

/** The service's limits: keys up to 1,024 bytes, values up to 1 MiB. */
export const DEFAULT_KV_LIMITS: KvLimits = { maxKeyBytes: 1024, maxValueBytes: 1024 * 1024 };

const OPCODES = { get: 1, put: 2, delete: 3, append: 4, cas: 5 } as const;

const packr = new Packr({ useRecords: false });

/** Encodes a command for `propose`. Throws `InvalidArgumentError` for a malformed one. */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  checkCommand(command);
  switch (command.op) {
    case 'get':
    case 'delete':
      return packr.pack([OPCODES[command.op], command.key]);
    case 'put':
    case 'append':
      return packr.pack([OPCODES[command.op], command.key, command.value]);
    case 'cas':
      return packr.pack([OPCODES.cas, command.key, command.expect, command.value]);
  }
}

/** Decodes a command from the log. Throws `InvalidArgumentError` for anything that is not exactly one. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  let fields: unknown;
  try {
    fields = packr.unpack(bytes);
  } catch (error) {
    throw new InvalidArgumentError(`key-value command is not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(fields) || typeof fields[1] !== 'string') throw malformed(fields);
  const [opcode, key, first, second] = fields as [unknown, string, unknown, unknown];
  const arity = fields.length;
  if (opcode === OPCODES.get && arity === 2) return { op: 'get', key };
  if (opcode === OPCODES.delete && arity === 2) return { op: 'delete', key };
  if (opcode === OPCODES.put && arity === 3 && typeof first === 'string') return { op: 'put', key, value: first };
  if (opcode === OPCODES.append && arity === 3 && typeof first === 'string') return { op: 'append', key, value: first };
  if (opcode === OPCODES.cas && arity === 4 && (first === null || typeof first === 'string') && typeof second === 'string') {
    return { op: 'cas', key, expect: first, value: second };
  }
  throw malformed(fields);
}

function valuesOf(command: KvCommand): string[] {
  switch (command.op) {
    case 'get':
    case 'delete':
      return [];
    case 'put':
    case 'append':
      return [command.value];
    case 'cas':
      return command.expect === null ? [command.value] : [command.expect, command.value];
  }
}

function checkCommand(command: KvCommand): void {
  const fields = command as unknown as Record<string, unknown>;
  if (typeof fields['op'] !== 'string' || !Object.hasOwn(OPCODES, fields['op'])) throw new InvalidArgumentError(`unknown key-value operation ${String(fields['op'])}`);
  if (typeof fields['key'] !== 'string') throw new InvalidArgumentError('key-value command: key must be a string');
  for (const value of valuesOf(command)) {
    if (typeof value !== 'string') throw new InvalidArgumentError(`key-value command ${command.op}: values must be strings`);
  }
  if (command.op === 'cas' && command.expect !== null && typeof command.expect !== 'string') {
    throw new InvalidArgumentError('key-value command cas: expect must be a string or null');
  }
}

function malformed(fields: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`not a key-value command: ${JSON.stringify(fields)?.slice(0, 80) ?? String(fields)}`);
}
