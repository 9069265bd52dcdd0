/**
 * Tools for testing code built on Keel, the ones Keel's own tests use
 * (`import { CoreCluster, SafetyChecker } from 'keel/testing'`).
 *
 * - {@link CoreCluster} runs several `RawNode`s in one process over
 *   memory storage and a network the test drives message by message: deliver,
 *   drop, duplicate, reorder, cut links, crash and restart. Like etcd's
 *   rafttest it is deterministic: the same calls and seed give the same run.
 * - {@link SafetyChecker} checks Raft's safety properties (Election Safety,
 *   Log Matching, Leader Completeness, State Machine Safety, durable terms and
 *   votes, monotonic commit and apply, one configuration change at a time)
 *   over the whole history of a cluster, from {@link NodeObservation}s built
 *   with {@link observationOf}, and throws a {@link SafetyViolation}. A
 *   `CoreCluster` runs one after every step unless told not to.
 *
 * For whole `RaftNode`s under seeded faults, with your own state machine
 * and a linearizability checker, see `keel/sim`.
 * @packageDocumentation
 * @module keel/testing
 * @sortStrategy kind, alphabetical-ignoring-documents
 */
export { CoreCluster, CoreNode } from './core-cluster.js';
export type { ClusterRaftOptions, CoreClusterOptions, InFlight, ReadyPhase } from './core-cluster.js';
export { observationOf, SafetyChecker, SafetyViolation } from './invariants.js';
export type { NodeObservation } from './invariants.js';
