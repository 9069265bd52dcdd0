import * as fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { checkKvLimits, decodeKvCommand, encodeKvCommand } from '../../src/kv/commands.js';
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

  it('check key and value sizes in UTF-8 bytes', () => {
    const limits = { maxKeyBytes: 4, maxValueBytes: 6 };
    expect(() => checkKvLimits({ op: 'put', key: 'abcd', value: 'éééé'.slice(0, 3) }, limits)).not.toThrow();
    expect(() => checkKvLimits({ op: 'get', key: 'ééé' }, limits)).toThrow(/key is 6 bytes/);
    expect(() => checkKvLimits({ op: 'append', key: 'k', value: 'éééé' }, limits)).toThrow(/value is 8 bytes/);
    expect(() => checkKvLimits({ op: 'cas', key: 'k', expect: '1234567', value: '' }, limits)).toThrow(/value is 7 bytes/);
  });
});
