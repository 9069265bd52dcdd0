import * as fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeKvCommand, encodeKvCommand } from '../../src/kv/commands.js';
import type { KvCommand } from '../../src/kv/commands.js';
import { kvCommand } from './arbitraries.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('key-value commands', () => {
  it('decode what they encode, for every operation and any strings', () => {
    fc.assert(fc.property(kvCommand, (command) => {
      expect(decodeKvCommand(encodeKvCommand(command))).toEqual(command);
    }));
  });

  it('refuse to decode anything that is not exactly a command', () => {
    const packr = new Packr({ useRecords: false });
    const notCommands: unknown[] = [
      [2, 'k'], // put without a value
      [2, 'k', 7], // non-string value
      [1, 'k', 'extra'],
      [5, 'k', 'x'], // cas without a value
      [5, 'k', 3, 'v'],
      [9, 'k'], // unknown opcode
      [1, 42],
      { op: 'get', key: 'k' },
      'get k',
    ];
    for (const fields of notCommands) expect(() => decodeKvCommand(packr.pack(fields))).toThrow(InvalidArgumentError);
    expect(() => decodeKvCommand(Uint8Array.of(0xc1))).toThrow(InvalidArgumentError);
  });

  it('refuse to encode a command of the wrong shape', () => {
    expect(() => encodeKvCommand({ op: 'toString', key: 'k' } as unknown as KvCommand)).toThrow(InvalidArgumentError);
    expect(() => encodeKvCommand({ op: 'put', key: 'k', value: 3 } as unknown as KvCommand)).toThrow(InvalidArgumentError);
    expect(() => encodeKvCommand({ op: 'get', key: undefined } as unknown as KvCommand)).toThrow(InvalidArgumentError);
  });
});
