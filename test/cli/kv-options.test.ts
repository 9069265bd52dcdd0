import { describe, expect, test } from 'vitest';
import { parseKvOptions } from '../../cli/kv-options.js';

const base = ['--id', 'n4', '--peers', 'n1=127.0.0.1:7001,n4=127.0.0.1:7004', '--http', '127.0.0.1:8004', '--data', '/tmp/keel-n4', '--insecure'];

describe('keel kv options', () => {
  test('--join starts a node that waits to be added; without it, --peers are the voters of a new cluster', () => {
    expect(parseKvOptions([...base, '--join'])).toMatchObject({ id: 'n4', join: true });
    expect(parseKvOptions(base)).toMatchObject({ id: 'n4', join: false });
  });
});
