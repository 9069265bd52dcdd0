import type { NodeId } from '../core/types.js';
import type { NodeStatus } from '../node/node-status.js';
import type { RaftNode } from '../node/raft-node.js';
import type { KvResult } from './commands.js';
import type { ShardMap } from './shard-map.js';

/** What the rebalancer needs of its host. */
export interface RebalancerHost {
  readonly hostId: NodeId;
  /** The layout every host works towards. */
  map(): ShardMap;
  /** This host's replica of `shard`, if it holds one. */
  replica(shard: string): RaftNode<KvResult> | undefined;
  /** Every shard this host holds a replica of. */
  localShards(): readonly string[];
  /** A host's Raft address, for the membership change that adds it. */
  raftAddress(host: NodeId): string | undefined;
  /**
   * Drops this host's replica of `shard`, which knows it was removed from the
   * shard's membership, if that is safe (`RaftHost.dropRemovedGroup`);
   * resolves whether it was dropped.
   */
  dropReplica(shard: string): Promise<boolean>;
  log(message: string, fields: Record<string, unknown>): void;
}

/** Counters of a rebalancer, for `/status` and tests. */
export interface RebalanceStats {
  /** Replicas added to shards this host led (each a learner that caught up, then promoted). */
  readonly added: number;
  /** Replicas removed from shards this host led. */
  readonly removed: number;
  /** Local replicas dropped after their removal. */
  readonly dropped: number;
  /** Drops the host refused because a leader may still count on the replica (it will be tried again). */
  readonly dropsRefused: number;
  /** Membership changes that failed and will be retried. */
  readonly failures: number;
  /** Whether, as far as this host can see, every shard it leads matches the layout. */
  readonly converged: boolean;
}

/**
 * Moves shard replicas to where the layout puts them, by membership change:
 * a reconcile loop (in the style of a controller) that each host runs for the
 * shards it leads. For each such shard, one change at a time:
 * - a host that should hold a replica and does not is added (`addVoter`: a
 *   learner first, brought up to date by entries or a snapshot, then
 *   promoted), before any host leaves, so the shard never has fewer replicas
 *   than it should;
 * - a host that should no longer hold one is removed (`removeMember`; the
 *   leader removing itself hands leadership over first);
 * and every host drops a local replica that knows it was removed (it applied
 * its removal, or a member's host told it: docs/multi-raft.md) and that the
 * layout does not place there, through the host's safe drop.
 * Requests go on throughout: a membership change never blocks reads or
 * writes of the shard. Leadership moving mid-change is fine: the next leader's
 * host picks up where the change stood, since it reconciles from the
 * membership in the log, not from its own memory.
 */
export class Rebalancer {
  private running = false;
  private counters = { added: 0, removed: 0, dropped: 0, dropsRefused: 0, failures: 0 };
  private converged = true;

  constructor(private readonly host: RebalancerHost) {}

  /** One pass over every local shard, each shard's change in parallel with the others'; resolves when they are done. A call during a pass returns false at once. */
  async reconcile(timeoutMs: number): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      // Shards are independent: a slow change of one (a learner catching up by snapshot) does not hold up the others.
      const results = await Promise.all([...this.host.localShards()].map((shard) => this.reconcileShard(shard, timeoutMs)));
      const converged = results.every((done) => done);
      this.converged = converged;
      return converged;
    } finally {
      this.running = false;
    }
  }

  stats(): RebalanceStats {
    return { ...this.counters, converged: this.converged };
  }

  /** Returns true when the shard needs nothing more from this host. */
  private async reconcileShard(shard: string, timeoutMs: number): Promise<boolean> {
    const node = this.host.replica(shard);
    if (node === undefined) return true;
    const status = node.status();
    const target = this.host.map().placement(shard);
    // Dropped only once the replica knows it is out (found by the simulator's rebalance worlds):
    // - its own configuration lists it no more: a replica that reopened and replayed an older configuration without
    //   itself reports `removed` although the configuration in force lists it; deleting it would delete a voter's log;
    // - or a member told it that a committed configuration its log has not reached leaves it out (a replica removed
    //   while its host was cut off never learns it from its own log);
    // and the layout does not place it here: a removed replica whose host is back in the layout is added back by the
    // leader and catches up from its own log. The host's safe drop refuses if a leader appended to it since.
    // A joining replica never added (its configuration lists no one) whose place the layout moved away goes too.
    const neverAdded = status.members.length === 0 && status.learners.length === 0 && status.joint === null;
    const removedHere = neverAdded || (status.removed && (status.removedByNotice || !listsMember(status, this.host.hostId)));
    if (removedHere && !target.includes(this.host.hostId)) {
      if (await this.host.dropReplica(shard)) {
        this.counters.dropped++;
        return true;
      }
      this.counters.dropsRefused++;
      return false;
    }
    if (status.role !== 'leader') return true;
    if (status.joint !== null) return false;
    const toPromote = target.filter((id) => status.learners.includes(id));
    const toAdd = target.filter((id) => !status.members.includes(id) && !status.learners.includes(id));
    const toRemove = [...status.members, ...status.learners].filter((id) => !target.includes(id));
    if (toPromote.length === 0 && toAdd.length === 0 && toRemove.length === 0) return true;
    try {
      if (toPromote.length > 0 || toAdd.length > 0) {
        // A learner left by an earlier pass that timed out is promoted first: removing it would waste its catch-up.
        const added = toPromote[0] ?? toAdd[0]!;
        const address = this.host.raftAddress(added);
        if (address === undefined) {
          this.host.log('cannot add a replica: no address for the host', { shard, host: added });
          return false;
        }
        // Add first, remove in a later pass: the shard never has fewer replicas than it should, and each step is a
        // single-server change that a timeout cannot leave half-done in a joint configuration.
        await node.addVoter(added, address, { timeoutMs });
        this.counters.added++;
        this.host.log('added a shard replica', { shard, host: added });
      } else {
        const leaving = toRemove.find((id) => id !== this.host.hostId) ?? toRemove[0]!;
        await node.removeMember(leaving, { timeoutMs });
        this.counters.removed++;
        this.host.log('removed a shard replica', { shard, host: leaving });
      }
    } catch (error) {
      this.counters.failures++;
      this.host.log('a shard membership change failed; it will be retried', { shard, error: error instanceof Error ? error.message : String(error) });
    }
    return false;
  }
}

/** Whether the configuration `status` reports lists `id`: as a voter of either half of a joint one, or as a learner. */
function listsMember(status: NodeStatus, id: NodeId): boolean {
  return status.members.includes(id) || status.learners.includes(id) || (status.joint?.outgoingVoters.includes(id) ?? false);
}
