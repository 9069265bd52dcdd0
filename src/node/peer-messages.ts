import type { Message } from '../core/message.js';
import type { RawNode } from '../core/raw-node.js';
import { KeelError } from '../errors.js';
import type { NodeMessage, Transport, TransportHandler } from '../transport/transport.js';
import type { ForwardedProposals } from './forwarded-proposals.js';
import type { SnapshotReceiver } from './snapshot-receiver.js';
import type { SnapshotSender } from './snapshot-sender.js';

/** What {@link PeerMessages} needs from its node. */
export interface PeerMessagesHost {
  readonly core: RawNode;
  readonly transport: Pick<Transport, 'send'>;
  readonly forwarding: ForwardedProposals;
  readonly sender: SnapshotSender;
  readonly receiver: SnapshotReceiver;
  /** False once the node is closed or failed: it then drops every message. */
  isRunning(): boolean;
  /** Stops the node on a broken invariant. */
  fail(error: unknown): void;
  /** Runs the Ready loop for what a message stepped into the core. */
  wake(): void;
}

/**
 * The node's side of the transport: each message from a peer goes to the
 * core or to the component that owns its kind, and the core's outgoing
 * messages leave through the transport or, for a snapshot, the sender.
 */
export class PeerMessages {
  constructor(private readonly host: PeerMessagesHost) {}

  /** The handler the transport delivers to. */
  handler(): TransportHandler {
    return {
      receive: (message) => this.receive(message),
      unreachable: (peer) => {
        if (this.host.isRunning()) this.host.core.reportUnreachable(peer);
      },
    };
  }

  receive(message: NodeMessage): void {
    const host = this.host;
    if (!host.isRunning()) return;
    try {
      switch (message.kind) {
        case 'raft':
          host.core.step(message.message);
          break;
        case 'forward':
          host.forwarding.answer(message);
          break;
        case 'forwardResult':
          host.forwarding.settle(message);
          break;
        case 'snapshotChunk':
          host.receiver.receive(message);
          return;
        case 'snapshotAck':
          host.sender.acknowledge(message);
          return;
      }
    } catch (error) {
      // A malformed or unexpected message from a peer is dropped; it must not stop this node. A broken invariant does.
      if (!(error instanceof KeelError) || error.code === 'KEEL_INVARIANT') host.fail(error);
      return;
    }
    host.wake();
  }

  sendAll(messages: readonly Message[]): void {
    for (const message of messages) {
      // The core names which follower needs a snapshot; the sender streams the newest one in chunks.
      if (message.type === 'installSnapshot') this.host.sender.start(message.to, message.term);
      else this.host.transport.send(message.to, { kind: 'raft', message });
    }
  }
}
