/**
 * Keel: Raft consensus for TypeScript on Node.js.
 *
 * {@link RaftNode} is the component to embed: it drives the pure,
 * deterministic core ({@link RawNode}) with timers, durable storage
 * ({@link LogStorage}: {@link MemoryStorage}, {@link LevelStorage}), a snapshot store
 * and a {@link Transport} ({@link LocalNetwork} in one process,
 * {@link TcpTransport} between machines), and applies committed commands to your
 * {@link StateMachine}.
 *
 * The replicated key-value store ({@link KvStore}) is here; its HTTP service
 * (API, metrics through prom-client, backups) is the `keel/kv` entry, so that
 * embedding the library loads neither prom-client nor pino.
 * @packageDocumentation
 * @module keel
 * @sortStrategy kind, alphabetical-ignoring-documents
 */
export { RaftNode, RemoteProposalError } from './node/raft-node.js';
export type { NodeStatus, NodeMetrics, ProposeOptions, ReadOptions, RequestOptions } from './node/raft-node.js';
export type { RaftNodeOptions, NodeLimits, SnapshotPolicy, MembershipPolicy } from './node/options.js';
export type { StateMachine, AppliedCommand, SnapshotPoint, SnapshotSource } from './node/state-machine.js';
export { Session } from './node/apply/session.js';
export type { ClientSession, SessionId } from './node/apply/session.js';
export type { NodeEvents, SnapshotEvent } from './node/events.js';
export { SystemClock, VirtualClock } from './util/clock.js';
export type { Clock, TimerHandle } from './util/clock.js';
export type { Transport, TransportHandler, NodeMessage, ReplicaMessage, GroupBatch, GroupItem } from './transport/transport.js';
export { LocalNetwork } from './transport/local-network.js';
export type { LinkDecision, LinkPolicy } from './transport/local-network.js';
export { TcpTransport } from './transport/tcp.js';
export type { TcpTransportOptions, TcpTlsOptions, PeerAddress, BackoffOptions, TcpLogEntry, TcpLogger } from './transport/tcp-options.js';
export type { TcpTransportStats } from './transport/tcp-stats.js';
export { KvStore } from './kv/store.js';
export { encodeKvCommand, decodeKvCommand, DEFAULT_KV_LIMITS } from './kv/commands.js';
export type { KvCommand, KvResult, CasResult, KvLimits } from './kv/commands.js';
export { RawNode } from './core/raw-node.js';
export type { ElectionTimer } from './core/raw-node.js';
export type { CoreReader, ProposalReceipt, RaftStatus, FollowerStatus } from './core/raw-node.js';
export type { RaftConfig, ResolvedConfig } from './core/config.js';
export { resolveConfig } from './core/config.js';
export type { Ready } from './core/ready.js';
export type { ReadState } from './core/read-index.js';
export type {
  Message,
  MessageType,
  AppendEntries,
  AppendEntriesResponse,
  Heartbeat,
  HeartbeatResponse,
  RequestVote,
  RequestVoteResponse,
  InstallSnapshot,
  ReadIndexRequest,
  ReadIndexResponse,
  TimeoutNow,
} from './core/message.js';
export type { Entry, EntryType, HardState, Index, Membership, NodeId, Role, SnapshotMeta, SoftState, Term } from './core/types.js';
export { EMPTY_HARD_STATE, entrySizeBytes, hardStateEquals, isEmptyHardState } from './core/types.js';
export { MajorityConfig } from './quorum/majority.js';
export { JointConfig } from './quorum/joint.js';
export type { ConfChange, ConfChangeOptions } from './confchange/confchange.js';
export type { VoteResult } from './quorum/majority.js';
export type { ProgressState } from './progress/progress.js';
export type { LogReader, InitialState } from './core/log-reader.js';
export type { LogStorage } from './storage/storage.js';
export { MemoryStorage } from './storage/memory.js';
export { LevelStorage } from './storage/level.js';
export type { LevelStorageOptions, LevelStorageStats } from './storage/level.js';
export { LevelEngine } from './storage/level-engine.js';
export type { LevelEngineOptions, LevelEngineStats, GroupStorageOptions } from './storage/level-engine.js';
export { MemoryGroupLogs } from './storage/group-logs.js';
export type { GroupLogs, GroupListing } from './storage/group-logs.js';
export { RaftHost } from './host/raft-host.js';
export type { RaftHostOptions, RaftHostStats, GroupParts, GroupDefaults, CreateGroupOptions, HostLogRecord, QuiescencePolicy } from './host/raft-host.js';
export type { QuiescenceStats } from './host/group-quiescence.js';
export type { RemovalNoticeStats } from './host/removal-notices.js';
export type { HostLoopStats } from './host/host-loop.js';
export type { HostTransportStats } from './host/host-transport.js';
export type { GroupId } from './util/group-id.js';
export type { SnapshotStore, SnapshotWriter } from './storage/snapshot-store.js';
export { MemorySnapshotStore } from './storage/memory-snapshot-store.js';
export { FileSnapshotStore } from './storage/file-snapshot-store.js';
export type { Random } from './util/random.js';
export { SeededRandom } from './util/random.js';
export {
  KeelError,
  InvariantError,
  InvalidConfigError,
  InvalidMessageError,
  InvalidArgumentError,
  NotLeaderError,
  ProposalDroppedError,
  ReadDroppedError,
  ProposalTooLargeError,
  CompactedError,
  SnapshotOutOfDateError,
  CorruptionError,
  StorageClosedError,
  StorageLockedError,
  StorageIOError,
  NodeClosedError,
  NodeFailedError,
  SnapshotFailedError,
  TimeoutError,
  AbortedError,
  ProposalLostError,
  TransferFailedError,
  SessionStaleError,
  SessionExpiredError,
  SessionConflictError,
  ResultNotEncodableError,
  FrameInvalidError,
  TransportIOError,
  ConfChangeInProgressError,
  InvalidConfChangeError,
  LeaderNotReadyError,
  UnknownMemberError,
  UnknownGroupError,
  GroupExistsError,
} from './errors.js';
export type { KeelErrorCode, FrameInvalidReason, HandshakeRefusal, SnapshotFailureStage } from './errors.js';
