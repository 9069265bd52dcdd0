import type { NodeId } from '../core/types.js';
import { GroupExistsError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { GroupId } from '../util/group-id.js';
import type { GroupItem, NodeMessage, ReplicaMessage, Transport, TransportHandler } from '../transport/transport.js';

/** Counters of a host's transport, for monitoring and for the tests of coalescing. */
export interface HostTransportStats {
  /** Group batches sent: at most one per peer host per flush (more only past `maxBatchBytes`). */
  readonly batchesSent: number;
  /** Group messages sent inside those batches. */
  readonly itemsSent: number;
  /** Group messages received and handed to their group. */
  readonly itemsReceived: number;
  /** Messages refused because they named a group this host does not hold. */
  readonly unknownGroup: number;
  /** Messages refused because they were not a group batch (a single-group node speaking to a host). */
  readonly notBatched: number;
  /** Empty batches sent so that a peer host hears from this one every tick (host-level liveness). */
  readonly hostHeartbeats: number;
  /** Not-a-member notices received and handed to their group's replica. */
  readonly notMemberReceived: number;
  /** Not-a-member notices refused: for a group this host does not hold, or malformed. */
  readonly notMemberRefused: number;
}

/** Options of a {@link HostTransport}. */
export interface HostTransportOptions {
  /** This host's id: the id of every replica it holds. */
  readonly hostId: NodeId;
  /** Carries the batches between hosts: a `TcpTransport` whose node id is the host id, or an in-process network's. */
  readonly wire: Transport;
  /** Schedules the flush of messages sent outside a host round. */
  readonly clock: Clock;
  /** Estimated bytes after which a peer's batch is cut and a new one started. @defaultValue 1 MiB */
  readonly maxBatchBytes?: number;
  /** Called for every refused message, with why; the host logs it. */
  readonly refused?: (from: NodeId, reason: string) => void;
  /** A peer host's leader replica of `group` quiesced (docs/multi-raft.md). */
  readonly quiesceNotice?: (group: GroupId, from: NodeId, term: number, index: number) => void;
  /** A peer host's replica of `group` asked for a vote (a removed replica campaigns): the host may answer with a not-a-member notice. */
  readonly voteRequest?: (group: GroupId, from: NodeId) => void;
  /** A peer host's replica of `group`, a learner without a leader, asks whether it is still a member: the host may answer with a not-a-member notice. */
  readonly memberQuery?: (group: GroupId, from: NodeId) => void;
  /** A peer host says its replica's committed configuration of `group`, installed at `configIndex`, leaves this host out. Returns false if this host holds no replica of it. */
  readonly notMemberNotice?: (group: GroupId, from: NodeId, configIndex: number) => boolean;
  /** Whether `group` is quiesced here: it sends nothing, so "unreachable" reports do not concern (or wake) it. */
  readonly isQuiesced?: (group: GroupId) => boolean;
}

const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;
/** Estimated bytes of an item beside its payloads: ids, terms, indexes, msgpack framing. */
const ITEM_OVERHEAD_BYTES = 96;

/**
 * One transport shared by every Raft group of a host. Each group's replica
 * gets a {@link Transport} of its own ({@link HostTransport.forGroup}); what it
 * sends waits, tagged with the group, until the host flushes: at the end of
 * every host round, all the messages of all groups for one peer host leave as
 * **one** {@link GroupBatch}. So the heartbeats of a thousand groups whose
 * leaders are here cost one message per peer host per tick, not a thousand
 * (the coalescing CockroachDB does for heartbeats, here for every message).
 *
 * Inbound, a batch is unpacked and each item handed to its group. An item for
 * a group this host does not hold is refused (counted and reported), never
 * handed to another group; the host's other groups are not disturbed.
 */
export class HostTransport {
  private readonly handlers = new Map<GroupId, TransportHandler>();
  /** Peer host addresses given through {@link HostTransport.addPeer}. */
  private readonly addresses = new Map<NodeId, string>();
  /** Per peer host, the items waiting for the next flush. */
  private readonly pending = new Map<NodeId, GroupItem[]>();
  private readonly pendingBytes = new Map<NodeId, number>();
  private readonly maxBatchBytes: number;
  private flushTimer: TimerHandle | null = null;
  private inRound = false;
  private started = false;
  private readonly counters = { batchesSent: 0, itemsSent: 0, itemsReceived: 0, unknownGroup: 0, notBatched: 0, hostHeartbeats: 0, notMemberReceived: 0, notMemberRefused: 0 };
  /** When a batch (of anything, or empty) last arrived from each peer host: the host-level liveness of quiesced groups' leaders. */
  private readonly lastHeard = new Map<NodeId, number>();
  /** Peer hosts something was sent to since the last {@link HostTransport.heartbeatHosts}. */
  private readonly sentSinceBeat = new Set<NodeId>();
  private readonly startedAt: number;

  constructor(private readonly options: HostTransportOptions) {
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.startedAt = options.clock.now();
    assert(Number.isSafeInteger(this.maxBatchBytes) && this.maxBatchBytes > 0, 'host transport: invalid maxBatchBytes');
  }

  /** Starts receiving from the wire. */
  async start(): Promise<void> {
    await this.options.wire.start({
      receive: (message) => this.receive(message),
      unreachable: (peer) => {
        const quiesced = this.options.isQuiesced;
        for (const [group, handler] of this.handlers) if (quiesced === undefined || !quiesced(group)) handler.unreachable(peer);
      },
    });
    this.started = true;
  }

  /** The transport a group's replica sends and receives through. */
  forGroup(group: GroupId): Transport {
    return new GroupTransport(this, group);
  }

  /** A host round began: messages sent from now on wait for {@link HostTransport.endRound}. */
  beginRound(): void {
    this.inRound = true;
  }

  /** A host round ended: everything its turns sent leaves now, one batch per peer host. */
  endRound(): void {
    this.inRound = false;
    this.flush();
  }

  /** Makes `id` a peer host at `address`, or re-points it; the same address again changes nothing (every group of that host names it). */
  addPeer(id: NodeId, address: string): void {
    if (this.addresses.get(id) === address) return;
    this.addresses.set(id, address);
    this.options.wire.addPeer(id, address);
  }

  /** Counters since start. */
  stats(): HostTransportStats {
    return { ...this.counters };
  }

  /** Stops the wire. */
  async close(): Promise<void> {
    if (this.flushTimer !== null) this.options.clock.clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending.clear();
    this.started = false;
    await this.options.wire.close();
  }

  /** @internal a group's transport registers its replica's handler. */
  attach(group: GroupId, handler: TransportHandler): void {
    if (this.handlers.has(group)) throw new GroupExistsError(group);
    this.handlers.set(group, handler);
  }

  /** @internal a group's transport closed. */
  detach(group: GroupId, handler: TransportHandler): void {
    if (this.handlers.get(group) === handler) this.handlers.delete(group);
  }

  /** Tells `to` that this host's leader replica of `group` quiesced at `index` in `term`; leaves with the next flush. */
  sendQuiesceNotice(to: NodeId, group: GroupId, term: number, index: number): void {
    this.enqueueItem(to, { group, quiesce: { term, index } }, ITEM_OVERHEAD_BYTES);
  }

  /** Tells `to` that this host's replica of `group` has a committed configuration, installed at `configIndex`, that leaves `to` out; leaves with the next flush. */
  sendNotMemberNotice(to: NodeId, group: GroupId, configIndex: number): void {
    this.enqueueItem(to, { group, notMember: { configIndex } }, ITEM_OVERHEAD_BYTES);
  }

  /** Asks `to` whether this host's replica of `group`, a learner without a leader, is still a member; leaves with the next flush. */
  sendMemberQuery(to: NodeId, group: GroupId): void {
    this.enqueueItem(to, { group, memberQuery: {} }, ITEM_OVERHEAD_BYTES);
  }

  /**
   * Host-level liveness: sends an empty batch to every peer host that was
   * sent nothing since the last call. The host calls it once per tick, so
   * every peer hears from this host at least once a tick, however many of its
   * groups are quiesced: followers of a quiesced group learn that their
   * leader's host died from the silence, not from their group.
   */
  heartbeatHosts(peers: Iterable<NodeId>): void {
    if (!this.started) return;
    for (const peer of peers) {
      if (this.sentSinceBeat.has(peer) || this.pending.has(peer)) continue;
      this.counters.hostHeartbeats++;
      this.options.wire.send(peer, { kind: 'groups', from: this.options.hostId, to: peer, items: [] });
    }
    this.sentSinceBeat.clear();
    this.options.wire.flush?.();
  }

  /** When anything last arrived from `host` (the host's start if nothing has). */
  lastHeardFrom(host: NodeId): number {
    return this.lastHeard.get(host) ?? this.startedAt;
  }

  /** @internal queues a group's message for `to`, to leave with the next flush. */
  enqueue(to: NodeId, group: GroupId, message: ReplicaMessage): void {
    this.enqueueItem(to, { group, message }, estimateBytes(message));
  }

  private enqueueItem(to: NodeId, item: GroupItem, itemBytes: number): void {
    if (!this.started) return;
    let items = this.pending.get(to);
    if (items === undefined) {
      items = [];
      this.pending.set(to, items);
    }
    items.push(item);
    const bytes = (this.pendingBytes.get(to) ?? 0) + itemBytes;
    this.pendingBytes.set(to, bytes);
    if (bytes >= this.maxBatchBytes) this.sendBatch(to);
    else if (!this.inRound && this.flushTimer === null) {
      // Sent outside a round (a snapshot chunk on its timer, a forwarded proposal's answer): flush soon, with whatever else comes.
      this.flushTimer = this.options.clock.setTimeout(this.timedFlush, 0);
    }
  }

  private readonly timedFlush = (): void => {
    this.flushTimer = null;
    this.flush();
  };

  /** Sends every peer's pending items, one batch each, and asks the wire to write them now. */
  flush(): void {
    if (this.pending.size === 0) return;
    for (const to of [...this.pending.keys()]) this.sendBatch(to);
    this.options.wire.flush?.();
  }

  private sendBatch(to: NodeId): void {
    const items = this.pending.get(to);
    this.pending.delete(to);
    this.pendingBytes.delete(to);
    if (items === undefined || items.length === 0) return;
    this.counters.batchesSent++;
    this.counters.itemsSent += items.length;
    this.sentSinceBeat.add(to);
    this.options.wire.send(to, { kind: 'groups', from: this.options.hostId, to, items });
  }

  private receive(message: NodeMessage): void {
    if (message.kind !== 'groups') {
      this.counters.notBatched++;
      this.options.refused?.(message.kind === 'raft' ? message.message.from : message.from, `a ${message.kind} message outside a group batch`);
      return;
    }
    this.lastHeard.set(message.from, this.options.clock.now());
    for (const item of message.items) {
      if (item.quiesce !== undefined) {
        this.options.quiesceNotice?.(item.group, message.from, item.quiesce.term, item.quiesce.index);
        continue;
      }
      if (item.notMember !== undefined) {
        this.receiveNotMember(message.from, item.group, item.notMember.configIndex);
        continue;
      }
      if (item.memberQuery !== undefined) {
        this.options.memberQuery?.(item.group, message.from);
        continue;
      }
      if ((item as { message?: unknown }).message === undefined) {
        // Only an in-process wire can hand over what a TCP peer's codec would have refused.
        this.options.refused?.(message.from, `an item of group ${String((item as { group?: unknown }).group)} with neither a message nor a notice`);
        continue;
      }
      const handler = this.handlers.get(item.group);
      if (handler === undefined) {
        this.counters.unknownGroup++;
        this.options.refused?.(message.from, `a message for group ${item.group}, which this host does not hold`);
        continue;
      }
      this.counters.itemsReceived++;
      const inner = item.message;
      if (inner.kind === 'raft' && inner.message.type === 'requestVote') this.options.voteRequest?.(item.group, message.from);
      handler.receive(inner);
    }
  }

  private receiveNotMember(from: NodeId, group: GroupId, configIndex: unknown): void {
    // The TCP codec refuses a malformed notice with its whole batch; an in-process wire does not, so check again here.
    const valid = typeof configIndex === 'number' && Number.isSafeInteger(configIndex) && configIndex > 0;
    if (valid && this.options.notMemberNotice?.(group, from, configIndex) === true) {
      this.counters.notMemberReceived++;
      return;
    }
    this.counters.notMemberRefused++;
    this.options.refused?.(from, valid ? `a not-a-member notice for group ${group}, which this host does not hold` : `a malformed not-a-member notice for group ${group}`);
  }
}

/** One group's view of its host's transport: what its replica's `RaftNode` is given. */
class GroupTransport implements Transport {
  private handler: TransportHandler | null = null;
  /**
   * Peers removed from this group: nothing more to or from them but a
   * leader's replication and its answers (for this group only). A peer added back
   * while this replica lagged leads or replicates to it before this replica
   * has applied the entry that names it again: refusing its appends would
   * leave this replica without a leader for good (found by the rebalancing
   * simulator).
   */
  private readonly removed = new Set<NodeId>();

  constructor(
    private readonly host: HostTransport,
    private readonly group: GroupId,
  ) {}

  start(handler: TransportHandler): Promise<void> {
    const removed = this.removed;
    const filtered: TransportHandler = {
      receive: (message) => {
        if (removed.size === 0 || !removed.has(message.kind === 'raft' ? message.message.from : message.from) || isReplication(message)) handler.receive(message);
      },
      unreachable: (peer) => handler.unreachable(peer),
    };
    try {
      this.host.attach(this.group, filtered);
    } catch (error) {
      return Promise.reject(error);
    }
    this.handler = filtered;
    return Promise.resolve();
  }

  send(to: NodeId, message: NodeMessage): void {
    if (this.handler === null) return;
    assert(message.kind !== 'groups', 'group transport: a replica sent a group batch');
    if (this.removed.has(to) && !isReplicationAnswer(message)) this.handler.unreachable(to);
    else this.host.enqueue(to, this.group, message);
  }

  /** The host flushes at the end of its round, for every group at once. */
  flush(): void {}

  addPeer(id: NodeId, address: string): void {
    this.removed.delete(id);
    this.host.addPeer(id, address);
  }

  removePeer(id: NodeId): void {
    this.removed.add(id);
  }

  close(): Promise<void> {
    if (this.handler !== null) this.host.detach(this.group, this.handler);
    this.handler = null;
    return Promise.resolve();
  }
}

/** A leader's replication to a follower: appends, heartbeats, snapshots. */
function isReplication(message: NodeMessage): boolean {
  if (message.kind === 'snapshotChunk') return true;
  if (message.kind !== 'raft') return false;
  const type = message.message.type;
  return type === 'appendEntries' || type === 'heartbeat' || type === 'installSnapshot';
}

/** A follower's answer to a leader's replication. */
function isReplicationAnswer(message: NodeMessage): boolean {
  if (message.kind === 'snapshotAck') return true;
  if (message.kind !== 'raft') return false;
  const type = message.message.type;
  return type === 'appendEntriesResponse' || type === 'heartbeatResponse';
}

/** The bytes a message will take on the wire, roughly: its payloads plus a fixed overhead. */
function estimateBytes(message: ReplicaMessage): number {
  switch (message.kind) {
    case 'raft': {
      const raft = message.message;
      let bytes = ITEM_OVERHEAD_BYTES;
      if (raft.type === 'appendEntries') for (const entry of raft.entries) bytes += entry.data.byteLength + 24;
      return bytes;
    }
    case 'forward':
      return ITEM_OVERHEAD_BYTES + message.payload.byteLength;
    case 'snapshotChunk':
      return ITEM_OVERHEAD_BYTES + message.data.byteLength;
    default:
      return ITEM_OVERHEAD_BYTES;
  }
}
