/**
 * Consistent hashing for the sharded key-value service: the ring is
 * deterministic, spreads names evenly, and moves close to the ideal share of
 * replicas when a host joins or leaves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { HashRing } from '../../src/kv/hash-ring.js';
import { ShardMap } from '../../src/kv/shard-map.js';

const hostNames = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { minLength: 1, maxLength: 12 });

describe('HashRing', () => {
  it('gives every name the same owner whatever order the members came in', () => {
    fc.assert(fc.property(hostNames, fc.array(fc.string(), { maxLength: 50 }), (members, names) => {
      const forward = new HashRing(members);
      const backward = new HashRing([...members].reverse());
      for (const name of names) expect(backward.owner(name)).toBe(forward.owner(name));
    }));
  });

  it('moves names only onto an added member, and only off a removed one', () => {
    fc.assert(fc.property(hostNames, fc.stringMatching(/^[A-Z]{1,6}$/), fc.array(fc.string(), { minLength: 1, maxLength: 100 }), (members, extra, names) => {
      const ring = new HashRing(members);
      const before = names.map((name) => ring.owner(name));
      ring.add(extra);
      names.forEach((name, i) => {
        const owner = ring.owner(name);
        if (owner !== before[i]) expect(owner).toBe(extra);
      });
      ring.remove(extra);
      expect(names.map((name) => ring.owner(name))).toEqual(before);
    }));
  });

  it('lists distinct owners, the first being the owner', () => {
    fc.assert(fc.property(hostNames, fc.string(), fc.integer({ min: 1, max: 15 }), (members, name, count) => {
      const ring = new HashRing(members);
      const owners = ring.owners(name, count);
      expect(owners.length).toBe(Math.min(count, members.length));
      expect(new Set(owners).size).toBe(owners.length);
      expect(owners[0]).toBe(ring.owner(name));
    }));
  });

  it('spreads 100,000 names over 8 members within 15% of even', () => {
    const ring = new HashRing(Array.from({ length: 8 }, (_, i) => `h${i}`));
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const owner = ring.owner(`key-${i}`);
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const count of counts.values()) expect(Math.abs(count - 12_500) / 12_500).toBeLessThan(0.15);
  });

  it('refuses an empty ring and bad members', () => {
    expect(() => new HashRing([]).owner('x')).toThrow(InvalidArgumentError);
    expect(() => new HashRing([''])).toThrow(InvalidArgumentError);
    expect(() => new HashRing(['a'], 0)).toThrow(InvalidArgumentError);
  });
});

describe('ShardMap', () => {
  it('places each shard on `replicas` distinct hosts, and routes every key to a shard', () => {
    const map = new ShardMap({ shards: 16, hosts: ['h1', 'h2', 'h3', 'h4', 'h5'] });
    for (const shard of map.shardIds()) {
      expect(map.placement(shard)).toHaveLength(3);
      expect(new Set(map.placement(shard)).size).toBe(3);
    }
    const shards = new Set(Array.from({ length: 1000 }, (_, i) => map.shardOf(`k${i}`)));
    expect(shards.size).toBe(16);
  });

  it('moves about replicas · shards / hosts replicas onto a new host, and none between the old ones', () => {
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'];
    const before = new ShardMap({ shards: 256, hosts });
    const after = before.withHosts([...hosts, 'h6']);
    const moves = ShardMap.moves(before, after);
    const added = moves.flatMap((move) => move.add);
    const removed = moves.flatMap((move) => move.remove);
    const ideal = (3 * 256) / 6;
    console.log(`[shards] adding a 6th host moved ${added.length} of ${3 * 256} replicas (ideal ${ideal.toFixed(0)})`);
    expect(added.every((host) => host === 'h6')).toBe(true);
    expect(removed.length).toBe(added.length);
    expect(Math.abs(added.length - ideal) / ideal).toBeLessThan(0.25);

    const back = ShardMap.moves(after, before);
    expect(back.flatMap((move) => move.remove).every((host) => host === 'h6')).toBe(true);
    expect(back.flatMap((move) => move.add).length).toBe(added.length);
  });

  it('refuses bad layouts', () => {
    expect(() => new ShardMap({ shards: 0, hosts: ['a'] })).toThrow(InvalidArgumentError);
    expect(() => new ShardMap({ shards: 4, hosts: [] })).toThrow(InvalidArgumentError);
    expect(() => new ShardMap({ shards: 4, hosts: ['a', 'a'] })).toThrow(InvalidArgumentError);
    expect(() => new ShardMap({ shards: 4, hosts: ['a', 'b'], replicas: 3 })).toThrow(InvalidArgumentError);
  });
});
