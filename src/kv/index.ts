/**
 * `keel/kv`: the replicated key-value service that `keel kv` runs, for
 * embedding: its HTTP API and server (HTTPS and bearer tokens optional), its
 * Prometheus metrics on prom-client, the storage wrappers that time writes
 * for them, and the backup format with the seeding of a new cluster from a
 * backup. The store itself ({@link KvStore}) is also in `keel`.
 *
 * This entry loads `prom-client` (and takes `pino` loggers); the `keel`
 * entry loads neither.
 *
 * @packageDocumentation
 * @module keel/kv
 */
export { KvStore } from './store.js';
export { encodeKvCommand, decodeKvCommand, DEFAULT_KV_LIMITS } from './commands.js';
export type { KvCommand, KvResult, CasResult, KvLimits } from './commands.js';
export { KvHttpApi } from './http-api.js';
export type { KvHttpApiOptions } from './http-api.js';
export { KvHttpServer } from './service.js';
export type { HttpListenOptions, HttpTlsOptions } from './service.js';
export { KvMetrics } from './metrics.js';
export type { KvMetricsOptions, TransportCounters } from './metrics.js';
export { HttpTokens, HTTP_SCOPES, MIN_TOKEN_CHARS, authRefusalReply } from './http-auth.js';
export type { HttpScope, AuthRefusal, AuthRefusalReply } from './http-auth.js';
export { TimedLogStorage, MeasuredSnapshotStore } from './instrumented-storage.js';
export { BACKUP_MAGIC, backupStream, readBackup } from './backup-format.js';
export type { BackupHeader } from './backup-format.js';
export { seedFromBackup, SEED_TERM } from './backup-seed.js';
export { ShardedKvHost } from './sharded-host.js';
export type { ShardedKvHostOptions, ShardReplica } from './sharded-host.js';
export { ShardedKvHttpApi, startShardedHttp, SHARD_HEADER } from './sharded-http-api.js';
export type { ShardedKvHttpApiOptions, ShardedHttpServer } from './sharded-http-api.js';
export { ShardMap, shardId, MAX_SHARDS } from './shard-map.js';
export type { ShardLayout, ShardMove } from './shard-map.js';
export { HashRing, hash32, DEFAULT_VIRTUAL_NODES } from './hash-ring.js';
export type { RebalanceStats } from './rebalancer.js';
