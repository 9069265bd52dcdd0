import { InvalidArgumentError } from '../errors.js';
import { assert } from '../util/assert.js';

const UTF8 = new TextEncoder();

/** Virtual nodes per member by default: enough for the load of 3–16 members to stay within a few percent of even. */
export const DEFAULT_VIRTUAL_NODES = 128;

/**
 * Consistent hashing on a ring with virtual nodes (Karger et al. 1997, with
 * the virtual nodes of Dynamo): each member owns `virtualNodes` points on a
 * 32-bit ring, and a name belongs to the first point clockwise from its hash.
 * Adding a member takes about 1/(members) of the names, all from the others;
 * removing one gives only its names away, spread over the rest. That is
 * why Keel uses a ring rather than jump consistent hash: jump hash moves as
 * little, needs no memory, and spreads perfectly, but it numbers its buckets
 * 0..n-1 and can only remove the last one, while hosts come and go by name,
 * any of them. The same ring places keys on shards and shards' replicas on
 * hosts (`owners` takes the next distinct members clockwise).
 *
 * Deterministic: every process computes the same ring from the same members,
 * whatever the order they were given in.
 */
export class HashRing {
  /** Ring points, sorted by position; parallel to {@link owners}. */
  private positions: Uint32Array = new Uint32Array(0);
  private pointOwners: string[] = [];
  private readonly memberSet = new Set<string>();

  constructor(
    members: Iterable<string> = [],
    private readonly virtualNodes = DEFAULT_VIRTUAL_NODES,
  ) {
    if (!Number.isSafeInteger(virtualNodes) || virtualNodes < 1 || virtualNodes > 4096) {
      throw new InvalidArgumentError(`hash ring: virtualNodes must be 1 to 4096, got ${String(virtualNodes)}`);
    }
    for (const member of members) this.checkMember(member);
    for (const member of members) this.memberSet.add(member);
    this.rebuild();
  }

  /** The members, sorted. */
  members(): string[] {
    return [...this.memberSet].sort();
  }

  /** Adds a member (a no-op if present). */
  add(member: string): void {
    this.checkMember(member);
    if (this.memberSet.has(member)) return;
    this.memberSet.add(member);
    this.rebuild();
  }

  /** Removes a member (a no-op if absent). */
  remove(member: string): void {
    if (this.memberSet.delete(member)) this.rebuild();
  }

  /** The member `name` belongs to. Throws `InvalidArgumentError` on an empty ring. */
  owner(name: string): string {
    const owners = this.owners(name, 1);
    return owners[0]!;
  }

  /**
   * The first `count` distinct members clockwise from `name`'s hash: its
   * owner first, then where its replicas go. Fewer when the ring has fewer members.
   */
  owners(name: string, count: number): string[] {
    if (this.pointOwners.length === 0) throw new InvalidArgumentError('hash ring: no members');
    const wanted = Math.min(count, this.memberSet.size);
    const result: string[] = [];
    let at = this.firstAtOrAfter(hash32(name));
    for (let visited = 0; result.length < wanted && visited < this.pointOwners.length; visited++) {
      const member = this.pointOwners[at]!;
      if (!result.includes(member)) result.push(member);
      at = (at + 1) % this.pointOwners.length;
    }
    assert(result.length === wanted, 'hash ring: fewer owners than members');
    return result;
  }

  private firstAtOrAfter(position: number): number {
    let low = 0;
    let high = this.positions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.positions[middle]! < position) low = middle + 1;
      else high = middle;
    }
    return low === this.positions.length ? 0 : low;
  }

  private rebuild(): void {
    const points: { position: number; member: string }[] = [];
    for (const member of [...this.memberSet].sort()) {
      for (let v = 0; v < this.virtualNodes; v++) points.push({ position: hash32(`${member}#${v}`), member });
    }
    // Ties (two points on one position) are broken by member name, so the ring does not depend on insertion order.
    points.sort((a, b) => a.position - b.position || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    this.positions = Uint32Array.from(points, (point) => point.position);
    this.pointOwners = points.map((point) => point.member);
  }

  private checkMember(member: unknown): void {
    if (typeof member !== 'string' || member.length === 0) throw new InvalidArgumentError(`hash ring: a member must be a non-empty string, got ${String(member)}`);
  }
}

/**
 * A 32-bit hash of a string: FNV-1a over its UTF-8 bytes, then murmur3's
 * finaliser, which spreads FNV's weak low bits over the whole word (virtual
 * node names differ only in their last characters).
 */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of UTF8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
