/** Counters of a {@link TcpTransport}, for monitoring and benchmarks. All only grow. */
export interface TcpTransportStats {
  /** Frames handed to sockets (messages and handshake), and their bytes including headers. */
  framesSent: number;
  /** Bytes of the frames handed to sockets, headers included. */
  bytesSent: number;
  /** Socket writes: each carries every frame queued for that peer in one event-loop turn. */
  writes: number;
  /** Messages delivered to the node, and their frame bytes including headers. */
  messagesReceived: number;
  /** Frame bytes of the messages delivered to the node, headers included. */
  bytesReceived: number;
  /** Messages dropped and reported unreachable: peer down or backing off, queue full, frame too large. */
  messagesDropped: number;
  /** Outbound connections that completed the handshake. */
  connectionsOpened: number;
  /** Connections refused during the handshake, by either side, as seen by this node. */
  handshakesRefused: number;
  /** Connections closed because a peer sent an invalid frame or message. */
  invalidFrames: number;
}

/** Fresh zeroed counters. */
export function newTcpStats(): TcpTransportStats {
  return {
    framesSent: 0,
    bytesSent: 0,
    writes: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    messagesDropped: 0,
    connectionsOpened: 0,
    handshakesRefused: 0,
    invalidFrames: 0,
  };
}
