import { describe, expect, test } from 'vitest';
import { parseKvOptions } from '../../cli/kv-options.js';

const base = ['--id', 'n4', '--peers', 'n1=127.0.0.1:7001,n4=127.0.0.1:7004', '--http', '127.0.0.1:8004', '--data', '/tmp/keel-n4', '--insecure'];

describe('keel kv options', () => {
  test('--join starts a node that waits to be added; without it, --peers are the voters of a new cluster', () => {
    expect(parseKvOptions([...base, '--join'])).toMatchObject({ id: 'n4', join: true });
    expect(parseKvOptions(base)).toMatchObject({ id: 'n4', join: false });
  });
});

describe('keel kv --shards', () => {
  const three = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003', '--http', '127.0.0.1:8001', '--data', '/tmp/keel-n1', '--insecure'];
  const httpPeers = ['--http-peers', 'n1=127.0.0.1:8001,n2=127.0.0.1:8002,n3=127.0.0.1:8003'];

  test('makes the node a host of a sharded cluster, with replicas defaulting to three', () => {
    const options = parseKvOptions([...three, '--shards', '16', ...httpPeers]);
    expect(options).not.toBe('help');
    if (options === 'help') return;
    expect(options.sharding?.shards).toBe(16);
    expect(options.sharding?.replicas).toBe(3);
    expect([...options.sharding!.httpPeers.keys()]).toEqual(['n1', 'n2', 'n3']);
    expect((parseKvOptions(three) as { sharding: unknown }).sharding).toBeNull();
  });

  test.each([
    [['--shards', '0'], /--shards/],
    [['--shards', '4', '--replicas', '4'], /--replicas/],
    [['--replicas', '2'], /need --shards/],
    [['--shards', '4', '--join'], /--join cannot be combined/],
    [['--shards', '4', '--replicas', '2', '--http-peers', 'n1=127.0.0.1:8001'], /--http-peers has no entry for 'n2'/],
    [['--shards', '4', '--http-peers', 'n9=127.0.0.1:8009'], /not in --peers/],
  ])('refuses %j', (extra, message) => {
    expect(() => parseKvOptions([...three, ...extra])).toThrow(message);
  });
});
