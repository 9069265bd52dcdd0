/**
 * Keel's simulator, for testing Keel and your own state machine under
 * seeded, deterministic faults (`import { runSeed } from 'keel/sim'`).
 *
 * - {@link runSeed} runs one world; {@link runSwarm} runs many seeds.
 * - {@link shrinkSeed} shrinks a failing seed to a minimal scenario.
 * - Every run has an event and a memory budget ({@link RunOptions.maxEvents},
 *   {@link RunOptions.maxHeldItems}); a run that spends one is a
 *   {@link BudgetFailure} of its seed.
 * - {@link traceSeed} draws a run's HTML timeline.
 * - {@link runHostSeed} and {@link runHostSwarm} run multi-group worlds (hosts running `RaftHost`).
 * - `stateMachine` and `workload` in {@link RunOptions} plug in your own
 *   state machine and clients ({@link SimStateMachine}, {@link SimWorkload}).
 * @packageDocumentation
 * @module keel/sim
 * @sortStrategy kind, alphabetical-ignoring-documents
 */
export { drawSeed, formatRunReport, formatSwarmReport, runSeed, runSeedWithTap, runSwarm } from './runtime/run.js';
export type { DrawnRun, RunOptions, RunReport, SwarmReport, Violation } from './runtime/run.js';
export { defaultMaxEvents, defaultMaxHeldItems } from './runtime/options.js';
export type { BudgetFailure, BudgetKind } from './world/budget.js';
export { failureOf, shrinkSeed } from './runtime/shrink.js';
export type { ShrinkOptions, ShrinkResult } from './runtime/shrink.js';
export { boundsOf, faultActionArbitrary, scenarioRunArbitrary, scheduledFaultArbitrary } from './runtime/scenario-arbitrary.js';
export type { ScenarioBounds, ScenarioRun } from './runtime/scenario-arbitrary.js';
export { decodeScenario, encodeScenario } from './runtime/scenario-codec.js';
export { PLANTED_BUGS } from './runtime/planted-bugs.js';
export type { PlantedBug, PlantedBugName } from './runtime/planted-bugs.js';
export { traceSeed } from './timeline/trace-run.js';
export type { TracedRun } from './timeline/trace-run.js';
export type { Timeline } from './timeline/timeline.js';
export { plugIn } from './world/plugin.js';
export type { SimPlugin, SimStateMachine, SimWorkload, SimWorkloadContext } from './world/plugin.js';
export type { ClientTarget, ClusterAccess } from './world/workload.js';
export type { Scenario } from './world/scenario.js';
export type { FaultAction, ScheduledFault } from './world/faults.js';
export type { FaultKind, WorldParams } from './world/params.js';
export type { WorldTap } from './world/tap.js';
export { FAULT_KINDS } from './world/params.js';
export { KvStateMachine } from './world/kv-state-machine.js';
export { checkLinearizability } from './checker/linearizability.js';
export { HistoryRecorder } from './history.js';
export type { Coverage } from './world/coverage.js';
export type { ChurnOp } from './world/faults.js';
export type { PartitionShape } from './world/partitions.js';
export type { ResultOf } from './world/plugin.js';
export type { DiskOptions } from './world/sim-disk.js';
export type { NetworkOptions } from './world/network.js';
export type { ClientOperation, FaultSpan, Marker, MessageArrow, NodeSpan } from './timeline/timeline.js';
export type { LinearizabilityOptions, LinearizabilityResult } from './checker/linearizability.js';
export type { History, Invocation, Operation, OperationKind, PendingOperation, ResultArguments } from './history.js';
export type { CoverageMark } from './world/coverage.js';
export type { Link } from './world/partitions.js';
export type { LinearizableResult, UndecidedResult, ViolationResult } from './checker/linearizability.js';
export type {
  AppendInvocation,
  AppendOperation,
  CasInvocation,
  CasOperation,
  DeleteInvocation,
  DeleteOperation,
  GetInvocation,
  GetOperation,
  PutInvocation,
  PutOperation,
  ResultByKind,
} from './history.js';
export { COVERAGE_MARKS } from './world/coverage.js';
export type { CasResult, Completion, OperationHeader } from './history.js';
export { drawHostSeed, runHostSeed, runHostSwarm } from './hosts/host-run.js';
export type { HostRunOptions, HostRunReport, HostSeedDraw, HostSwarmReport } from './hosts/host-run.js';
export type { GroupPlacement, HostWorldParams } from './hosts/host-params.js';
export type { LayoutChange, RebalancePlan } from './hosts/rebalance-plan.js';
export { REBALANCE_BUGS } from './hosts/sim-rebalance.js';
export type { RebalanceBug } from './hosts/sim-rebalance.js';
export { HOST_COVERAGE_MARKS } from './hosts/host-coverage.js';
export type { HostCoverage, HostCoverageMark } from './hosts/host-coverage.js';
