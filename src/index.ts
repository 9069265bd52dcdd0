/**
 * Keel: Raft consensus for TypeScript on Node.js.
 *
 * The pure core ({@link RawNode}) is synchronous and deterministic; storage
 * ({@link LogStorage}, {@link MemoryStorage}) is pluggable.
 * @packageDocumentation
 */
export { RawNode } from './core/raw-node.js';
export type { ProposalReceipt, RaftStatus, FollowerStatus } from './core/raw-node.js';
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
export type { VoteResult } from './quorum/majority.js';
export type { ProgressState } from './progress/progress.js';
export type { LogReader, LogStorage, InitialState } from './storage/storage.js';
export { MemoryStorage } from './storage/memory.js';
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
  ProposalTooLargeError,
  CompactedError,
  SnapshotOutOfDateError,
  CorruptionError,
  StorageClosedError,
  StorageLockedError,
  StorageIOError,
} from './errors.js';
export type { KeelErrorCode } from './errors.js';
