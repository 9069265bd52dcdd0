/**
 * What a user plugs into the simulator to test their own state machine:
 * the state machine (one per node incarnation) and the clients that drive it
 * and check what they saw. Everything else — the production runtime, the
 * faults, Raft's safety invariants after every event, snapshot consistency,
 * the liveness phase and state convergence — the simulator provides.
 *
 * The built-in key-value store (`KvStateMachine`) and its clients
 * (`Workload`) are one such pair; `examples/sim-counter.ts` is another.
 */
import type { NodeId } from '../../src/core/types.js';
import type { StateMachine } from '../../src/node/state-machine.js';
import type { Random } from '../../src/util/random.js';
import type { WorldParams } from './params.js';
import type { ClusterAccess } from './workload.js';

/**
 * A state machine the simulator can check. `apply` must be deterministic
 * and `restore(capture(point).chunks(), point)` must rebuild exactly the same state: the
 * simulator compares {@link SimStateMachine.digest} across nodes and
 * across snapshots at the same index.
 */
export interface SimStateMachine<Result = unknown> extends StateMachine<Result> {
  /** A fingerprint of the whole state: equal states, equal digests. */
  digest(): string;
}

/** What a workload is given: the cluster, the world's clock, its own random stream, the world's parameters. */
export interface SimWorkloadContext<Machine extends SimStateMachine = SimStateMachine, Result = unknown> extends ClusterAccess<Machine, Result> {
  /** The workload's stream: draw every random choice from it, so the run stays a function of the seed. */
  readonly random: Random;
  /** The world this seed drew (cluster ids, timeouts, `clients`, `requestTimeoutMs`…). */
  readonly params: WorldParams;
}

/**
 * Simulated clients. The simulator starts them after the nodes, stops them
 * when the liveness phase begins, then asks for one probe operation per
 * client through the healed core and waits until nothing is pending.
 */
export interface SimWorkload {
  /** Clients start issuing operations (on the world clock, via `context.setTimeout`). */
  start(): void;
  /** No new operation starts; those in flight finish or give up. */
  stop(): void;
  /** Operations started and not finished: the liveness phase waits for 0. */
  pending(): number;
  /** Issue one operation per client through `targets` (the healed core), to finish by `deadlineMs`. */
  probe(targets: readonly NodeId[], deadlineMs: number): void;
  /** True once every probe completed successfully. */
  probesDone(): boolean;
  /**
   * Checks the whole history once the run is over (a model check, a
   * linearizability check…). Returns the broken guarantee, or null.
   */
  check?(): {
    /** The name of the broken guarantee. */
    readonly invariant: string;
    /** What exactly was seen. */
    readonly detail: string;
  } | null;
}

/** How a user's state machine and workload are built for each world. */
export interface SimPlugin {
  /** A fresh state machine for a node incarnation (a restarted node gets a new one and restores its snapshot). */
  readonly stateMachine: () => SimStateMachine;
  /** The clients of one world. */
  readonly workload: (context: SimWorkloadContext) => SimWorkload;
}

/** What a state machine's `apply` returns (the result `propose` resolves with). */
export type ResultOf<Machine> = Machine extends StateMachine<infer Result> ? Result : never;

/**
 * Pairs a state machine factory with a workload written for that machine,
 * keeping their types together: spread the result into `RunOptions`
 * (`runSeed(seed, { ...plugIn(() => new Counter(), (context) => new Clients(context)) })`).
 */
export function plugIn<Machine extends SimStateMachine>(
  stateMachine: () => Machine,
  workload: (context: SimWorkloadContext<Machine, ResultOf<Machine>>) => SimWorkload,
): SimPlugin {
  // The world builds every node's machine with `stateMachine`, so the machines the workload meets are `Machine`s.
  return { stateMachine, workload: workload as unknown as SimPlugin['workload'] };
}
