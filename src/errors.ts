/**
 * Keel's typed errors. Every error Keel throws on purpose is a {@link KeelError}
 * with a stable `code`; messages may change between versions, codes do not.
 *
 * Three kinds of failure, kept apart:
 * - a broken invariant is a bug: {@link InvariantError}, never caught on purpose;
 * - an expected protocol outcome (not leader, proposal dropped) is a typed error the caller can act on;
 * - an environmental failure (bad input, I/O, corruption) is a typed error with a `cause` where there is one.
 */

/** Stable machine-readable error codes. */
export type KeelErrorCode =
  | 'KEEL_INVARIANT'
  | 'KEEL_INVALID_CONFIG'
  | 'KEEL_INVALID_MESSAGE'
  | 'KEEL_INVALID_ARGUMENT'
  | 'KEEL_NOT_LEADER'
  | 'KEEL_PROPOSAL_DROPPED'
  | 'KEEL_READ_DROPPED'
  | 'KEEL_PROPOSAL_TOO_LARGE'
  | 'KEEL_COMPACTED'
  | 'KEEL_SNAPSHOT_OUT_OF_DATE'
  | 'KEEL_CORRUPTION'
  | 'KEEL_STORAGE_CLOSED'
  | 'KEEL_STORAGE_LOCKED'
  | 'KEEL_STORAGE_IO'
  | 'KEEL_NODE_CLOSED'
  | 'KEEL_NODE_FAILED'
  | 'KEEL_TIMEOUT'
  | 'KEEL_ABORTED'
  | 'KEEL_PROPOSAL_LOST'
  | 'KEEL_TRANSFER_FAILED'
  | 'KEEL_SESSION_STALE'
  | 'KEEL_SESSION_EXPIRED'
  | 'KEEL_SESSION_CONFLICT'
  | 'KEEL_RESULT_NOT_ENCODABLE'
  | 'KEEL_FRAME_INVALID'
  | 'KEEL_TRANSPORT_IO'
  | 'KEEL_CONF_CHANGE_IN_PROGRESS'
  | 'KEEL_INVALID_CONF_CHANGE'
  | 'KEEL_LEADER_NOT_READY'
  | 'KEEL_UNKNOWN_MEMBER'
  | 'KEEL_SNAPSHOT_FAILED'
  | 'KEEL_UNKNOWN_GROUP'
  | 'KEEL_GROUP_EXISTS';

/** Base class of every error Keel throws on purpose. */
export class KeelError extends Error {
  /** Stable identifier of the failure; match on this, not on the message. */
  readonly code: KeelErrorCode;

  /** Creates an error with a stable `code`, a message for people and, where there is one, the `cause`. */
  constructor(code: KeelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A broken internal invariant: a bug in Keel. The node must stop rather than limp on. */
export class InvariantError extends KeelError {
  /** `message` gives the numbers that broke the invariant. */
  constructor(message: string) {
    super('KEEL_INVARIANT', message);
  }
}

/** A configuration value is missing, of the wrong type or out of range. */
export class InvalidConfigError extends KeelError {
  /** The option that was rejected, e.g. `heartbeatTicks`. */
  readonly field: string;

  /** `field` names the rejected option; `message` says what is wrong with it. */
  constructor(field: string, message: string) {
    super('KEEL_INVALID_CONFIG', `invalid config ${field}: ${message}`);
    this.field = field;
  }
}

/** A message handed to `step()` is malformed or of an unknown type. Nothing was changed. (A sender outside the configuration is not an error: see `RawNode.step`.) */
export class InvalidMessageError extends KeelError {
  /** `message` names the first problem found. */
  constructor(message: string) {
    super('KEEL_INVALID_MESSAGE', `invalid message: ${message}`);
  }
}

/** An argument to a public method is out of range or of the wrong type. Nothing was changed. */
export class InvalidArgumentError extends KeelError {
  /** `message` names the argument and what is wrong with it. */
  constructor(message: string) {
    super('KEEL_INVALID_ARGUMENT', message);
  }
}

/** A proposal or read reached a node that is not the leader. `leader` is the leader it knows, if any. */
export class NotLeaderError extends KeelError {
  /** The leader this node knows of, to retry there, or null when it knows none. */
  readonly leader: string | null;

  /** `leader` is the leader this node knows of, or null. */
  constructor(leader: string | null) {
    super('KEEL_NOT_LEADER', leader === null ? 'not the leader; no leader is known' : `not the leader; the leader is ${leader}`);
    this.leader = leader;
  }
}

/** The leader refused a proposal for a reason other than leadership (uncommitted-bytes cap, transfer in progress). */
export class ProposalDroppedError extends KeelError {
  /** `reason` says which bound or state refused the proposal. */
  constructor(reason: string) {
    super('KEEL_PROPOSAL_DROPPED', `proposal dropped: ${reason}`);
  }
}

/** A read barrier was refused because `limits.maxPendingReads` reads are already waiting on this node. */
export class ReadDroppedError extends KeelError {
  /** `reason` says which bound refused the read. */
  constructor(reason: string) {
    super('KEEL_READ_DROPPED', `read dropped: ${reason}`);
  }
}

/** A single entry is larger than the configured maximum. */
export class ProposalTooLargeError extends KeelError {
  /** The size of the refused entry in bytes. */
  readonly sizeBytes: number;
  /** The configured maximum in bytes. */
  readonly maxBytes: number;

  /** `sizeBytes` is the entry's size, `maxBytes` the configured maximum. */
  constructor(sizeBytes: number, maxBytes: number) {
    super('KEEL_PROPOSAL_TOO_LARGE', `proposal of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`);
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** The requested index lies in the part of the log that was compacted into a snapshot. */
export class CompactedError extends KeelError {
  /** The compacted index that was asked for. */
  readonly index: number;

  /** `index` was asked for; `firstIndex` is the first index still in the log. */
  constructor(index: number, firstIndex: number) {
    super('KEEL_COMPACTED', `index ${index} is compacted; the first available index is ${firstIndex}`);
    this.index = index;
  }
}

/** A snapshot older than the one already stored was offered. */
export class SnapshotOutOfDateError extends KeelError {
  /** `index` is the offered snapshot's, `currentIndex` the stored one's. */
  constructor(index: number, currentIndex: number) {
    super('KEEL_SNAPSHOT_OUT_OF_DATE', `snapshot at index ${index} is older than the stored snapshot at ${currentIndex}`);
  }
}

/** Stored data failed a checksum, format or continuity check. `key` names what is damaged. Nothing was changed on disk. */
export class CorruptionError extends KeelError {
  /** What is damaged: a storage key, a file name or a record's position. */
  readonly key: string;

  /** `key` names what is damaged, `message` how; `cause` is the underlying error, if any. */
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super('KEEL_CORRUPTION', `corruption at ${key}: ${message}`, options);
    this.key = key;
  }
}

/** An operation was attempted on a closed storage. */
export class StorageClosedError extends KeelError {
  /** The storage was closed before this call. */
  constructor() {
    super('KEEL_STORAGE_CLOSED', 'storage is closed');
  }
}

/** The storage directory is already open, in this process or another. */
export class StorageLockedError extends KeelError {
  /** The storage directory that is locked. */
  readonly location: string;

  /** `location` is the locked directory; `cause` is LevelDB's error. */
  constructor(location: string, options?: { cause?: unknown }) {
    super('KEEL_STORAGE_LOCKED', `storage at ${location} is already open (locked by this or another process)`, options);
    this.location = location;
  }
}

/** An I/O operation of the storage failed. */
export class StorageIOError extends KeelError {
  /** `message` says which operation failed; `cause` is the system error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEEL_STORAGE_IO', message, options);
  }
}

/** The node was closed; the operation did not complete (a proposal's outcome is then unknown). */
export class NodeClosedError extends KeelError {
  /** The node was closed before the operation completed. */
  constructor() {
    super('KEEL_NODE_CLOSED', 'the node is closed');
  }
}

/** The node stopped after a fatal failure (a storage error, a throwing state machine). `cause` says which. */
export class NodeFailedError extends KeelError {
  /** `message` says why the node stopped; `cause` is what failed. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEEL_NODE_FAILED', `the node stopped: ${message}`, options);
  }
}

/** Where taking a local snapshot failed: the state machine's `capture()`, its `chunks()` stream, or the snapshot store. */
export type SnapshotFailureStage = 'capture' | 'stream' | 'store';

/**
 * Taking a local snapshot failed; `cause` holds what was thrown. Not fatal:
 * the node keeps running on its log (which is not compacted meanwhile), reports
 * the error through its `snapshotFailed` event and tries again later.
 */
export class SnapshotFailedError extends KeelError {
  /** The index the snapshot was to cover. */
  readonly index: number;
  /** Which part failed. */
  readonly stage: SnapshotFailureStage;

  /** `index` is the index the snapshot was to cover, `stage` where it failed; `cause` is what was thrown. */
  constructor(index: number, stage: SnapshotFailureStage, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super('KEEL_SNAPSHOT_FAILED', `taking a snapshot at ${index} failed in ${stage}: ${reason}`, options);
    this.index = index;
    this.stage = stage;
  }
}

/** An operation did not complete within its deadline. For a proposal, the outcome is unknown: it may still commit. */
export class TimeoutError extends KeelError {
  /** `what` names the operation that ran out of time, `timeoutMs` its deadline. */
  constructor(what: string, timeoutMs: number) {
    super('KEEL_TIMEOUT', `${what} did not complete within ${timeoutMs} ms`);
  }
}

/** The caller's AbortSignal fired. For a proposal, the outcome is unknown: it may still commit. */
export class AbortedError extends KeelError {
  /** `what` names the aborted operation; `cause` is the signal's reason. */
  constructor(what: string, options?: { cause?: unknown }) {
    super('KEEL_ABORTED', `${what} was aborted`, options);
  }
}

/** A proposal's entry was overwritten by a new leader's log: it was not, and will never be, applied. */
export class ProposalLostError extends KeelError {
  /** The log index at which the proposal's entry had been appended. */
  readonly index: number;

  /** The entry proposed at `index` in `term` was replaced by one of `appliedTerm`. */
  constructor(index: number, term: number, appliedTerm: number) {
    super('KEEL_PROPOSAL_LOST', `the entry proposed at index ${index} in term ${term} was replaced by one of term ${appliedTerm}`);
    this.index = index;
  }
}

/** A leadership transfer did not complete: the target did not take over within an election timeout, or another node did. */
export class TransferFailedError extends KeelError {
  /** The node leadership was to be transferred to. */
  readonly target: string;

  /** `target` is the node leadership was to go to; `reason` says why it did not. */
  constructor(target: string, reason: string) {
    super('KEEL_TRANSFER_FAILED', `leadership transfer to ${target} failed: ${reason}`);
    this.target = target;
  }
}

/** A request of a client session is older than the newest one already applied for that session; its result is no longer kept. Nothing was applied. */
export class SessionStaleError extends KeelError {
  /** The session: a registered session's id, or a deprecated implicit session's client id. */
  readonly session: number | string;
  /** The sequence number of the refused request. */
  readonly seq: number;

  /** Request `seq` of `session` is older than `lastSeq`, the latest applied. */
  constructor(session: number | string, seq: number, lastSeq: number) {
    super('KEEL_SESSION_STALE', `request ${seq} of session ${session} is older than its latest applied request ${lastSeq}`);
    this.session = session;
    this.seq = seq;
  }
}

/**
 * A request names a session the replicated session table does not hold: it
 * was never registered, was closed, or was evicted to keep the table within
 * `limits.maxSessions` (Raft dissertation §6.3). The request was **not
 * applied**, whatever its sequence number; whether an earlier attempt of it
 * was applied before the session expired cannot be known from the session any
 * more. Open a new session, and find out from the state itself (read it) what
 * happened to the request in doubt.
 */
export class SessionExpiredError extends KeelError {
  /** The registered session's id. */
  readonly session: number;
  /** The sequence number of the refused request. */
  readonly seq: number;

  /** Request `seq` names `session`, which the session table does not hold. */
  constructor(session: number, seq: number) {
    super('KEEL_SESSION_EXPIRED', `request ${seq} of session ${session} refused: the session is unknown (never opened, closed, or evicted); it was not applied`);
    this.session = session;
    this.seq = seq;
  }
}

/**
 * A request reuses the sequence number of the session's latest request with a
 * different command. A retry must carry the same command; a new request needs
 * a new sequence number. Nothing was applied.
 */
export class SessionConflictError extends KeelError {
  /** The session: a registered session's id, or a deprecated implicit session's client id. */
  readonly session: number | string;
  /** The sequence number that was reused. */
  readonly seq: number;

  /** Request `seq` of `session` reuses that number with a different command. */
  constructor(session: number | string, seq: number) {
    super('KEEL_SESSION_CONFLICT', `request ${seq} of session ${session} refused: that sequence number was used for a different command`);
    this.session = session;
    this.seq = seq;
  }
}

/**
 * The state machine applied a session command, but its result cannot be
 * encoded with msgpack (a Symbol, a cyclic or too deeply nested object, a
 * BigInt out of range), so it cannot be remembered in the replicated session
 * table. The command **was applied**; the session remembers this failure, so
 * a retry gets this error again rather than a second apply. Every node decides
 * the same way, at apply time, so no snapshot fails later.
 */
export class ResultNotEncodableError extends KeelError {
  /** The log index of the applied command. */
  readonly index: number;

  /** The command at `index` was applied; `reason` says why its result cannot be encoded. */
  constructor(index: number, reason: string) {
    super('KEEL_RESULT_NOT_ENCODABLE', `entry ${index} was applied, but its result cannot be remembered for retries: ${reason}`);
    this.index = index;
  }
}

/**
 * Bytes read from a peer connection do not form a valid frame: a length
 * prefix over the configured maximum, an unknown frame version, a body that
 * is not msgpack or not a valid message. The connection is closed; `reason`
 * is a stable short name (`too-large`, `version`, `body`, `message`).
 */
export class FrameInvalidError extends KeelError {
  /** Why the frame was refused. */
  readonly reason: FrameInvalidReason;

  /** `reason` classifies the refusal, `message` describes it; `cause` is the decoding error, if any. */
  constructor(reason: FrameInvalidReason, message: string, options?: { cause?: unknown }) {
    super('KEEL_FRAME_INVALID', `invalid frame (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** Why a frame was rejected; see {@link FrameInvalidError}. */
export type FrameInvalidReason = 'too-large' | 'version' | 'body' | 'message';

/**
 * Why the TCP transport refused a connection during its handshake (the
 * `reason` of its `refused` log entries):
 * - `protocol`: another protocol version;
 * - `cluster`: another cluster id;
 * - `unknown-node`: a node id that is not a configured peer (or is this node);
 * - `wrong-node`: the peer is not the node it was dialled as;
 * - `auth`: the HMAC proof is missing or wrong (wrong secret);
 * - `tls-identity`: the TLS certificate names another node;
 * - `tls`: the TLS handshake itself failed (no certificate, untrusted CA, plain TCP);
 * - `malformed`: a handshake message of the wrong shape or order;
 * - `timeout`: the handshake did not complete in time;
 * - `overloaded`: too many connections were already in their handshake;
 * - `refused-by-peer`: the other side refused (its reason is in the message).
 */
export type HandshakeRefusal =
  | 'protocol'
  | 'cluster'
  | 'unknown-node'
  | 'wrong-node'
  | 'auth'
  | 'tls-identity'
  | 'tls'
  | 'malformed'
  | 'timeout'
  | 'overloaded'
  | 'refused-by-peer';

/** A socket operation of a transport or of the KV HTTP server failed (listen, accept). `cause` holds the system error. */
export class TransportIOError extends KeelError {
  /** `message` says what could not listen, and where; `cause` is the system error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEEL_TRANSPORT_IO', message, options);
  }
}

/**
 * A configuration change was refused because another one is not finished: a
 * config entry is still uncommitted, or the configuration is joint and must be
 * left first. Retry once the earlier change has committed.
 */
export class ConfChangeInProgressError extends KeelError {
  /** `reason` names the change still in progress. */
  constructor(reason: string) {
    super('KEEL_CONF_CHANGE_IN_PROGRESS', `configuration change refused: ${reason}`);
  }
}

/** A configuration change set cannot be applied to the current configuration (unknown node, duplicate, no voter left…). Nothing was changed. */
export class InvalidConfChangeError extends KeelError {
  /** `reason` says why the change does not apply. */
  constructor(reason: string) {
    super('KEEL_INVALID_CONF_CHANGE', `invalid configuration change: ${reason}`);
  }
}

/** A membership change names a node that is not in the configuration (or not in the role the change needs). Nothing was changed. */
export class UnknownMemberError extends KeelError {
  /** The node the change named. */
  readonly member: string;

  /** `member` is the node the change named; `reason` says what it is not. */
  constructor(member: string, reason: string) {
    super('KEEL_UNKNOWN_MEMBER', `unknown member ${member}: ${reason}`);
    this.member = member;
  }
}

/**
 * The leader has not yet committed an entry of its own term, so it may not
 * know the latest committed configuration (the single-server change bug Ongaro
 * reported in 2015). Retry shortly: the no-op of its term commits quickly.
 */
export class LeaderNotReadyError extends KeelError {
  /** `what` names the change that came too early. */
  constructor(what: string) {
    super('KEEL_LEADER_NOT_READY', `${what} refused: the leader has not committed an entry of its term yet`);
  }
}

/**
 * A request, a message or a call named a Raft group this host does not hold
 * (never created here, or removed). Nothing was changed.
 */
export class UnknownGroupError extends KeelError {
  /** The group that was named. */
  readonly group: string;

  /** `group` was named by `where` (the call or message). */
  constructor(group: string, where: string) {
    super('KEEL_UNKNOWN_GROUP', `${where}: this host holds no group ${JSON.stringify(group)}`);
    this.group = group;
  }
}

/** A group was created on a host that already holds a group of that id. Nothing was changed. */
export class GroupExistsError extends KeelError {
  /** The group that already exists. */
  readonly group: string;

  /** `group` is already held by this host. */
  constructor(group: string) {
    super('KEEL_GROUP_EXISTS', `group ${JSON.stringify(group)} already exists on this host`);
    this.group = group;
  }
}
