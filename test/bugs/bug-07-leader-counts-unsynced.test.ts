/**
 * Known Raft bug 7 (Raft notes §4): acknowledging before fsync, here the
 * leader counting its own entries toward the commit quorum before they are
 * durable (etcd#14370, nats-server#7564). In a three-node cluster the leader
 * plus one follower is a quorum; if the leader's half of it is a write still
 * in flight, a crash erases it, and the other follower (which never had the
 * entry) can be elected with the restarted leader's vote and overwrite an
 * entry that was already declared committed.
 *
 * The interleaving is driven on the core cluster, whose nodes handle each
 * Ready in three phases (take, persist, finish), so a crash can land while
 * the leader's own write is in flight. Proposals that arrive during a write
 * join the next one (group commit): the test keeps one such entry unsynced
 * while a follower acknowledges it.
 *
 * Why the runtime swarms miss this bug: a runtime that handles one Ready at a
 * time sends the wrongly advanced commit index only in the next Ready, after
 * the write finished, so no crash can make it visible. The core's commit
 * index is still its promise (it is written into the hard state and carried
 * by appends), and a runtime that pipelines its writes (etcd's asynchronous
 * storage writes, where etcd#14370 was found) would break it: the core is held
 * to it here.
 */
import { describe, expect, test } from 'vitest';
import type { Index, NodeId, Term } from '../../src/core/types.js';
import { CoreCluster } from '../../src/testing/core-cluster.js';
import { deliverWhere, electNode, logOf, settle, storedLogOf } from '../support/scenario-cluster.js';

const PAPER_RAFT = { preVote: false, checkQuorum: false } as const;

/** Every entry any live node has declared committed, by index: what Leader Completeness promises to keep. */
class CommittedWitness {
  readonly committed = new Map<Index, { term: Term; node: NodeId }>();

  constructor(private readonly cluster: CoreCluster) {}

  /** Records the committed prefix of every live node. */
  look(): void {
    for (const id of this.cluster.ids) {
      const raw = this.cluster.node(id).raw;
      if (raw === null) continue;
      for (let index = raw.firstIndex(); index <= raw.commitIndex; index++) {
        const term = raw.term(index);
        if (term !== undefined && !this.committed.has(index)) this.committed.set(index, { term, node: id });
      }
    }
  }

  /** The committed entries `id`'s log does not hold, described. */
  missingFrom(id: NodeId): string[] {
    const raw = this.cluster.raw(id);
    const missing: string[] = [];
    for (const [index, { term, node }] of this.committed) {
      const held = raw.term(index);
      if (held !== term) missing.push(`index ${index} (term ${term}, declared committed by ${node}) is term ${String(held)} in ${id}'s log`);
    }
    return missing;
  }
}

describe('bug 7, a leader counting its own undurable entries (etcd#14370, nats-server#7564)', () => {
  test('etcd#14370: an entry acknowledged by one follower while the leader’s own write is in flight is not committed, and survives the leader’s crash', () => {
    const cluster = new CoreCluster({ raft: PAPER_RAFT });
    const witness = new CommittedWitness(cluster);
    electNode(cluster, 'n1');
    witness.look();

    // Entry 2 is written by the leader (Ready 1 in flight); entry 3 arrives meanwhile and waits for the next write.
    cluster.propose('n1', new Uint8Array([2]));
    cluster.advanceReady('n1'); // take Ready 1: entry 2 to disk, its appends leave in parallel
    cluster.propose('n1', new Uint8Array([3]));
    deliverWhere(cluster, (m) => m.type === 'appendEntries');
    for (const id of ['n2', 'n3']) cluster.processReady(id);
    deliverWhere(cluster, (m) => m.to === 'n1');
    cluster.advanceReady('n1'); // persist Ready 1 (entry 2 only)
    cluster.advanceReady('n1'); // finish Ready 1
    witness.look();
    expect(cluster.raw('n1').status().commitIndex).toBe(2);

    // Ready 2: the leader writes entry 3 while its appends leave; only n2 gets them and acknowledges.
    cluster.advanceReady('n1');
    expect(cluster.node('n1').ready?.entries.map((e) => e.index)).toEqual([3]);
    deliverWhere(cluster, (m) => m.type === 'appendEntries' && m.to === 'n2');
    cluster.processReady('n2');
    deliverWhere(cluster, (m) => m.from === 'n2' && m.to === 'n1');
    witness.look();
    // n2's acknowledgement plus a write still in flight is not a quorum of three (the leader's match is what is durable).
    expect.soft(cluster.raw('n1').status().progress.get('n1')?.match, 'the leader counted an entry it has not made durable').toBe(2);
    expect.soft(cluster.raw('n1').status().commitIndex, 'entry 3 committed on n2 and an undurable write').toBe(2);

    // The leader crashes before entry 3 is durable; nothing else it sent arrives.
    cluster.crash('n1');
    cluster.inFlight = [];
    cluster.restart('n1');
    expect(storedLogOf(cluster, 'n1')).toEqual([1, 1]);

    // n3 never saw entry 3; the restarted n1 (same log) votes for it, and it leads term 2.
    cluster.campaign('n3');
    settle(cluster);
    witness.look();
    expect(cluster.leader()).toBe('n3');
    expect(logOf(cluster, 'n2')).toEqual(logOf(cluster, 'n3'));

    // Leader Completeness (§5.4): every entry any node declared committed is in the new leader's log.
    expect(witness.missingFrom('n3'), 'committed entries lost').toEqual([]);
  });
});
