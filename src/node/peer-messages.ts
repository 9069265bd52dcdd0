import type { Message } from '../core/message.js';
import type { NodeId } from '../core/types.js';
import type { NodeMessage, Transport, TransportHandler } from '../transport/transport.js';
import type { Input } from './inbox.js';
import type { SnapshotSender } from './snapshots/snapshot-sender.js';

/**
 * The node's side of the transport: every message from a peer, and every
 * report that a peer is unreachable, becomes an input of the owner loop. A
 * host's batch of many groups' messages is not for a single node: it is
 * dropped (a multi-group host's transport unpacks those, src/host/).
 */
export function transportHandler(enqueue: (input: Input) => void): TransportHandler {
  return {
    receive: (message: NodeMessage) => {
      if (message.kind !== 'groups') enqueue({ kind: 'message', message });
    },
    unreachable: (peer: NodeId) => enqueue({ kind: 'unreachable', peer }),
  };
}

/** Sends the core's messages: each through the transport, except a snapshot, which the sender streams in chunks. */
export function sendAll(messages: readonly Message[], transport: Pick<Transport, 'send'>, sender: Pick<SnapshotSender, 'start'>): void {
  for (const message of messages) {
    // The core names which follower needs a snapshot; the sender streams the newest one in chunks.
    if (message.type === 'installSnapshot') sender.start(message.to, message.term);
    else transport.send(message.to, { kind: 'raft', message });
  }
}
