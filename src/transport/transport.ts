import type { Message } from '../core/message.js';
import type { Index, NodeId, SnapshotMeta, Term } from '../core/types.js';

/**
 * Everything one replica of a Raft group sends another: Raft messages of the
 * core, and the runtime's own traffic (forwarded proposals, snapshot chunks).
 */
export type ReplicaMessage = RaftEnvelope | ForwardProposal | ForwardResult | SnapshotChunk | SnapshotAck;

/**
 * Everything a transport carries between two nodes (or two hosts): one
 * replica's message, or a host's batch of the messages of many groups.
 */
export type NodeMessage = ReplicaMessage | GroupBatch;

/**
 * Host → host, in a process running many Raft groups (src/host/): the
 * messages of one host round for the groups both hosts hold, each tagged with
 * its group. One message per host pair per round, however many groups: the
 * heartbeats of a thousand groups travel as one frame (docs/multi-raft.md).
 * Replica ids are host ids, so every item is `from` this batch's sender `to`
 * its receiver.
 */
export interface GroupBatch {
  /** The message tag. */
  readonly kind: 'groups';
  /** The sending host. */
  readonly from: NodeId;
  /** The receiving host. */
  readonly to: NodeId;
  /** One item per group message, quiesce notice, not-a-member notice or member query of the round. */
  readonly items: readonly GroupItem[];
}

/**
 * One item of a {@link GroupBatch}: a group's replica message; a quiesce
 * notice: the sender's replica, leader of the group in `term`, stopped ticking
 * with its log ending at `index`, committed and applied; or a not-a-member
 * notice: the sender's replica of the group has a committed configuration,
 * installed at `configIndex`, that leaves the receiver out (docs/multi-raft.md);
 * or a member query: the sender's replica, a learner that heard from no leader
 * for an election timeout, asks whether it is still a member (answered, if
 * not, with a not-a-member notice).
 */
export type GroupItem =
  | {
      /** The group the message belongs to. */
      readonly group: string;
      /** The replica message. */
      readonly message: ReplicaMessage;
      /** Absent on a message. */
      readonly quiesce?: undefined;
      /** Absent on a message. */
      readonly notMember?: undefined;
      /** Absent on a message. */
      readonly memberQuery?: undefined;
    }
  | {
      /** The group that quiesced. */
      readonly group: string;
      /** Where the sender's replica stopped, as the group's leader. */
      readonly quiesce: {
        /** The leader's term. */
        readonly term: Term;
        /** The last index of its log: committed and applied. */
        readonly index: Index;
      };
      /** Absent on a quiesce notice. */
      readonly message?: undefined;
      /** Absent on a quiesce notice. */
      readonly notMember?: undefined;
      /** Absent on a quiesce notice. */
      readonly memberQuery?: undefined;
    }
  | {
      /** The group the receiver was removed from. */
      readonly group: string;
      /** The sender's committed configuration that leaves the receiver out. */
      readonly notMember: {
        /** The log index of the config entry that installed that configuration. */
        readonly configIndex: Index;
      };
      /** Absent on a not-a-member notice. */
      readonly message?: undefined;
      /** Absent on a not-a-member notice. */
      readonly quiesce?: undefined;
      /** Absent on a not-a-member notice. */
      readonly memberQuery?: undefined;
    }
  | {
      /** The group the sender's replica is a learner of, as far as its log knows. */
      readonly group: string;
      /** The query: it carries nothing but the group. */
      readonly memberQuery: Readonly<Record<string, never>>;
      /** Absent on a member query. */
      readonly message?: undefined;
      /** Absent on a member query. */
      readonly quiesce?: undefined;
      /** Absent on a member query. */
      readonly notMember?: undefined;
    };

/** A core message. */
export interface RaftEnvelope {
  readonly kind: 'raft';
  readonly message: Message;
}

/** Follower → leader: propose this (already encoded) entry on my behalf. */
export interface ForwardProposal {
  readonly kind: 'forward';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly requestId: number;
  readonly payload: Uint8Array;
}

/**
 * Leader → follower: where the forwarded entry landed (the follower then waits
 * until it applies that index itself), or why it was refused.
 */
export type ForwardResult =
  | { readonly kind: 'forwardResult'; readonly from: NodeId; readonly to: NodeId; readonly requestId: number; readonly ok: true; readonly index: Index; readonly term: Term }
  | {
      readonly kind: 'forwardResult';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly requestId: number;
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly leader: NodeId | null;
    };

/** Leader → follower: one piece of a snapshot, at byte `offset`. */
export interface SnapshotChunk {
  readonly kind: 'snapshotChunk';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly last: boolean;
}

/**
 * Follower → leader, for each chunk: `offset` is the number of bytes of the
 * snapshot stored so far. `accepted` is false when the chunk did not follow
 * on (a gap, or a restarted sender): the leader must resume from `offset`.
 * `done` is set once the whole snapshot is durable and handed to the core.
 */
export interface SnapshotAck {
  readonly kind: 'snapshotAck';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly index: Index;
  readonly offset: number;
  readonly accepted: boolean;
  readonly done: boolean;
}

/** What a transport calls back into its node. */
export interface TransportHandler {
  /** A message for this node arrived. */
  receive(message: NodeMessage): void;
  /** A message to `peer` could not be delivered (connection down, queue full). */
  unreachable(peer: NodeId): void;
}

/**
 * Carries {@link NodeMessage}s between nodes. Sending never blocks and never
 * throws for an unreachable peer: Raft retransmits, so a message that cannot
 * be delivered is dropped and reported through {@link TransportHandler.unreachable}.
 */
export interface Transport {
  /** Starts delivering messages addressed to this node to `handler`. */
  start(handler: TransportHandler): Promise<void>;
  /** Queues `message` for peer `to`. Never throws for an unreachable peer: the message is dropped and {@link TransportHandler.unreachable} reports it. */
  send(to: NodeId, message: NodeMessage): void;
  /**
   * Optional: writes what `send` queued now, instead of at the transport's
   * own next opportunity. The owner loop calls it at the end of every turn,
   * so that a turn's messages leave in that event-loop iteration and in as
   * few writes as possible (TCP: one writev per peer per turn).
   */
  flush?(): void;
  /**
   * Makes `id` a peer from now on, reachable at `address` (whose meaning is
   * the transport's: `host:port` for TCP; an in-process network ignores it).
   * Adding a known peer re-points it. Used when a member joins at runtime.
   */
  addPeer(id: NodeId, address: string): void;
  /** Forgets the peer `id`: no more messages to or from it. Unknown ids are ignored. */
  removePeer(id: NodeId): void;
  /** Stops sending and receiving. Idempotent. */
  close(): Promise<void>;
}
