import * as fc from 'fast-check';
import type { KvCommand } from '../../src/kv/commands.js';

/** Any key-value command, with any strings. */
export const kvCommand: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: fc.string() }),
  fc.record({ op: fc.constant('put' as const), key: fc.string(), value: fc.string() }),
  fc.record({ op: fc.constant('delete' as const), key: fc.string() }),
  fc.record({ op: fc.constant('append' as const), key: fc.string(), value: fc.string() }),
  fc.record({ op: fc.constant('cas' as const), key: fc.string(), expect: fc.option(fc.string(), { nil: null }), value: fc.string() }),
);
