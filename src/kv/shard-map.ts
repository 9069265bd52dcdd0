import { InvalidArgumentError } from '../errors.js';
import { HashRing } from './hash-ring.js';

/** How a sharded key-value cluster is laid out. */
export interface ShardLayout {
  /** Number of shards (Raft groups) the key space is split into. */
  readonly shards: number;
  /** Replicas per shard (at most the number of hosts). @defaultValue 3 */
  readonly replicas?: number;
  /** Every host of the cluster. */
  readonly hosts: readonly string[];
}

/** What a change of hosts does to one shard's replicas. */
export interface ShardMove {
  readonly shard: string;
  /** Hosts that gain a replica of the shard. */
  readonly add: readonly string[];
  /** Hosts that lose theirs. */
  readonly remove: readonly string[];
}

/** The longest a shard layout may be, to keep a mistake from creating a million groups. */
export const MAX_SHARDS = 100_000;

/**
 * Which shard a key belongs to and which hosts hold each shard's replicas,
 * both by consistent hashing ({@link HashRing}): keys on a ring of shard ids,
 * shards on a ring of hosts. Every host computes the same map from the same
 * layout, so any host can route any key with no directory to consult.
 * Adding a host moves about `replicas · shards / hosts` replicas onto it and
 * none between the others; removing one moves only its own.
 */
export class ShardMap {
  readonly shards: number;
  readonly replicas: number;
  private readonly ids: string[];
  private readonly keyRing: HashRing;
  private readonly hostRing: HashRing;
  private readonly placements = new Map<string, string[]>();

  constructor(layout: ShardLayout) {
    const { shards, hosts } = layout;
    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new InvalidArgumentError(`shards must be 1 to ${MAX_SHARDS}, got ${String(shards)}`);
    if (!Array.isArray(hosts) || hosts.length === 0 || new Set(hosts).size !== hosts.length) throw new InvalidArgumentError('hosts must be a non-empty list of distinct host ids');
    const replicas = layout.replicas ?? Math.min(3, hosts.length);
    if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > hosts.length) throw new InvalidArgumentError(`replicas must be 1 to the number of hosts (${hosts.length}), got ${String(replicas)}`);
    this.shards = shards;
    this.replicas = replicas;
    this.ids = Array.from({ length: shards }, (_, i) => shardId(i));
    this.keyRing = new HashRing(this.ids);
    this.hostRing = new HashRing(hosts);
  }

  /** The shard ids (`shard-0` …), which are the Raft group ids. */
  shardIds(): readonly string[] {
    return this.ids;
  }

  /** The hosts, sorted. */
  hosts(): string[] {
    return this.hostRing.members();
  }

  /** The shard `key` belongs to. */
  shardOf(key: string): string {
    return this.keyRing.owner(key);
  }

  /** The hosts holding `shard`'s replicas. */
  placement(shard: string): readonly string[] {
    let hosts = this.placements.get(shard);
    if (hosts === undefined) {
      hosts = this.hostRing.owners(shard, this.replicas).sort();
      this.placements.set(shard, hosts);
    }
    return hosts;
  }

  /** The shards `host` holds a replica of. */
  shardsOn(host: string): string[] {
    return this.ids.filter((shard) => this.placement(shard).includes(host));
  }

  /** The same layout over other hosts. */
  withHosts(hosts: readonly string[]): ShardMap {
    return new ShardMap({ shards: this.shards, replicas: Math.min(this.replicas, hosts.length), hosts });
  }

  /** The replica moves that take `from`'s placement to `to`'s (same shards). */
  static moves(from: ShardMap, to: ShardMap): ShardMove[] {
    if (from.shards !== to.shards) throw new InvalidArgumentError('moves: the layouts have different numbers of shards');
    const moves: ShardMove[] = [];
    for (const shard of from.ids) {
      const before = from.placement(shard);
      const after = to.placement(shard);
      const add = after.filter((host) => !before.includes(host));
      const remove = before.filter((host) => !after.includes(host));
      if (add.length > 0 || remove.length > 0) moves.push({ shard, add, remove });
    }
    return moves;
  }
}

/** The group id of shard `index`. */
export function shardId(index: number): string {
  return `shard-${index}`;
}
