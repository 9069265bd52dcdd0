import type { NodeId } from '../core/types.js';
import { InvalidConfigError } from '../errors.js';

/** Where a peer listens. */
export interface PeerAddress {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** Mutual TLS material, in PEM. Every node's certificate is signed by `ca` and names its node id. */
export interface TcpTlsOptions {
  /** The cluster's CA certificate(s): only certificates it signed are accepted. */
  readonly ca: string | Buffer;
  /** This node's certificate; its DNS SAN (or, without SANs, its CN) is this node's id. */
  readonly cert: string | Buffer;
  /** This node's private key. */
  readonly key: string | Buffer;
}

/** One structured log line of the transport. */
export interface TcpLogEntry {
  /** `warn` for refusals and invalid frames, `info` for connection changes. */
  readonly level: 'info' | 'warn';
  /** Stable event name: `refused`, `invalid-frame`, `connected`, `disconnected`, `listen-error`. */
  readonly event: 'refused' | 'invalid-frame' | 'connected' | 'disconnected' | 'listen-error';
  /** A human-readable description of the event. */
  readonly message: string;
  /** The peer's node id, when known. */
  readonly peer?: NodeId;
  /** The remote address, `host:port`. */
  readonly remote?: string;
  /** A stable reason code: a `HandshakeRefusal` or a `FrameInvalidReason`. */
  readonly reason?: string;
}

/** Receives the transport's log lines. */
export type TcpLogger = (entry: TcpLogEntry) => void;

/** Exponential backoff between connection attempts to one peer, with full jitter. */
export interface BackoffOptions {
  /**
   * Upper bound of the first delay.
   * @defaultValue 50
   */
  readonly initialMs?: number;
  /**
   * Upper bound of any delay.
   * @defaultValue 2000
   */
  readonly maxMs?: number;
}

/** Options of {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Identifies the cluster; a peer of another cluster is refused. */
  readonly clusterId: string;
  /** Where to listen (`0.0.0.0` for every interface). Port 0 picks a free port (read it with `address()`). */
  readonly listen: {
    /** The address to bind. */
    readonly host: string;
    /** The port to bind; 0 picks a free one. */
    readonly port: number;
  };
  /**
   * Every other member's id and address. Connections from other node ids are
   * refused. Port 0 means the address is not known yet (see `setPeerAddress`):
   * messages to that peer are dropped and reported unreachable until it is.
   */
  readonly peers: Readonly<Record<NodeId, PeerAddress>>;
  /** Shared secret of HMAC mode, at least 16 bytes (32 random bytes recommended). Never sent. */
  readonly secret?: Uint8Array;
  /** Mutual TLS. May be combined with `secret`. */
  readonly tls?: TcpTlsOptions;
  /**
   * Allows neither `secret` nor `tls`: any process that can reach the port may join. Tests only.
   * @defaultValue false
   */
  readonly insecure?: boolean;
  /** Log lines; by default warnings go to stderr. */
  readonly logger?: TcpLogger;
  /**
   * Largest frame body accepted or sent. Must exceed the largest message (`limits.maxCommandBytes` plus overhead).
   * @defaultValue 16 MiB
   */
  readonly maxFrameBytes?: number;
  /**
   * Bytes queued for one peer (waiting and in the socket's buffer) before new messages to it are dropped and reported.
   * @defaultValue 32 MiB
   */
  readonly maxQueueBytes?: number;
  /**
   * Time for a TCP (and TLS) connection to a peer to open; added to `handshakeTimeoutMs` for one attempt.
   * @defaultValue 5000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Time for the Keel handshake to complete on a connection, either side; a TLS server also uses it for the TLS handshake.
   * @defaultValue 5000
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * How long `close()` lets queued messages flush before destroying sockets.
   * @defaultValue 1000
   */
  readonly closeTimeoutMs?: number;
  /**
   * Inbound connections still in their handshake at once; more are closed at accept.
   * @defaultValue 64
   */
  readonly maxPendingConnections?: number;
  /** Delays between connection attempts to one peer. */
  readonly backoff?: BackoffOptions;
  /**
   * Jitter source in [0, 1); inject a fixed one for reproducible tests.
   * @defaultValue Math.random
   */
  readonly random?: () => number;
}

/** {@link TcpTransportOptions} with every default filled in and every value checked. */
export interface ResolvedTcpOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly secret: Uint8Array | null;
  readonly tls: TcpTlsOptions | null;
  readonly logger: TcpLogger;
  readonly maxFrameBytes: number;
  readonly maxQueueBytes: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly maxPendingConnections: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly random: () => number;
}

const MIB = 1024 * 1024;
/** The shortest shared secret accepted. */
export const MIN_SECRET_BYTES = 16;

/** Validates options and fills in defaults; throws {@link InvalidConfigError} naming the option. */
export function resolveTcpOptions(options: TcpTransportOptions): ResolvedTcpOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', 'must be an object');
  if (!isId(options.nodeId)) throw new InvalidConfigError('nodeId', 'must be a non-empty string');
  if (!isId(options.clusterId)) throw new InvalidConfigError('clusterId', 'must be a non-empty string');
  checkAddress('listen', options.listen, true);
  const peers = resolvePeers(options.nodeId, options.peers);
  const secret = options.secret ?? null;
  if (secret !== null && (!(secret instanceof Uint8Array) || secret.byteLength < MIN_SECRET_BYTES)) {
    throw new InvalidConfigError('secret', `must be a Uint8Array of at least ${MIN_SECRET_BYTES} bytes`);
  }
  const tls = options.tls ?? null;
  if (tls !== null && !['ca', 'cert', 'key'].every((field) => isPem(tls[field as keyof TcpTlsOptions]))) {
    throw new InvalidConfigError('tls', 'needs ca, cert and key, each a PEM string or Buffer');
  }
  if (secret === null && tls === null && options.insecure !== true) {
    throw new InvalidConfigError('secret', 'peers must authenticate: set secret (HMAC) or tls (mutual TLS), or insecure: true for a trusted test setup');
  }
  const maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes, 16 * MIB, 0xffff_fffe);
  const maxQueueBytes = positive('maxQueueBytes', options.maxQueueBytes, 32 * MIB);
  if (maxQueueBytes < maxFrameBytes) throw new InvalidConfigError('maxQueueBytes', `${maxQueueBytes} must be at least maxFrameBytes (${maxFrameBytes}) so that any frame fits`);
  const backoffInitialMs = positive('backoff.initialMs', options.backoff?.initialMs, 50);
  const backoffMaxMs = positive('backoff.maxMs', options.backoff?.maxMs, 2000);
  if (backoffMaxMs < backoffInitialMs) throw new InvalidConfigError('backoff.maxMs', `${backoffMaxMs} is below backoff.initialMs ${backoffInitialMs}`);
  if (options.random !== undefined && typeof options.random !== 'function') throw new InvalidConfigError('random', 'must be a function returning [0, 1)');
  if (options.logger !== undefined && typeof options.logger !== 'function') throw new InvalidConfigError('logger', 'must be a function');
  return {
    nodeId: options.nodeId,
    clusterId: options.clusterId,
    listen: { host: options.listen.host, port: options.listen.port },
    peers,
    secret,
    tls,
    logger: options.logger ?? stderrLogger,
    maxFrameBytes,
    maxQueueBytes,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    handshakeTimeoutMs: positive('handshakeTimeoutMs', options.handshakeTimeoutMs, 5000),
    closeTimeoutMs: positive('closeTimeoutMs', options.closeTimeoutMs, 1000),
    maxPendingConnections: positive('maxPendingConnections', options.maxPendingConnections, 64),
    backoffInitialMs,
    backoffMaxMs,
    random: options.random ?? Math.random,
  };
}

function resolvePeers(self: NodeId, peers: Readonly<Record<NodeId, PeerAddress>>): Map<NodeId, PeerAddress> {
  if (typeof peers !== 'object' || peers === null) throw new InvalidConfigError('peers', 'must be an object mapping node ids to addresses');
  const resolved = new Map<NodeId, PeerAddress>();
  for (const [id, address] of Object.entries(peers)) {
    if (!isId(id)) throw new InvalidConfigError('peers', 'node ids must be non-empty strings');
    if (id === self) throw new InvalidConfigError('peers', `lists this node (${self}) itself`);
    checkAddress(`peers.${id}`, address, true);
    resolved.set(id, { host: address.host, port: address.port });
  }
  return resolved;
}

/** Checks a host and port; `allowZero` for a listen address (port 0: any free port). */
export function checkAddress(field: string, address: unknown, allowZero: boolean): asserts address is PeerAddress {
  const value = address as PeerAddress | null | undefined;
  if (typeof value !== 'object' || value === null || !isId(value.host)) throw new InvalidConfigError(field, 'needs a host (non-empty string) and a port');
  const minimum = allowZero ? 0 : 1;
  if (!Number.isInteger(value.port) || value.port < minimum || value.port > 65535) throw new InvalidConfigError(field, `port ${String(value.port)} must be an integer in [${minimum}, 65535]`);
}

function positive(field: string, value: number | undefined, fallback: number, maximum = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0 || value > maximum) throw new InvalidConfigError(field, `${String(value)} must be a positive integer of at most ${maximum}`);
  return value;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isPem(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.byteLength > 0);
}

function stderrLogger(entry: TcpLogEntry): void {
  if (entry.level !== 'warn') return;
  const peer = entry.peer === undefined ? '' : ` peer=${entry.peer}`;
  const remote = entry.remote === undefined ? '' : ` remote=${entry.remote}`;
  process.stderr.write(`keel tcp: ${entry.event}${peer}${remote}: ${entry.message}\n`);
}
