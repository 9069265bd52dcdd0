/**
 * The clients of the multi-group world: a key-value store sharded over the
 * groups. Every key belongs to one group (params `keyGroup`); each group
 * that owns keys gets its own simulated clients (the single-group world's
 * `Workload`, unchanged) that reach the group's replicas on its hosts and
 * use only that group's keys. Every operation lands in one history, which
 * is checked for linearizability per key: so per key across shards.
 *
 * A group that owns no key still gets one probe client, never started: the
 * liveness phase writes through every group, quiesced ones included.
 */
import type { NodeId } from '../../src/core/types.js';
import type { GroupId } from '../../src/util/group-id.js';
import type { HistoryRecorder } from '../history.js';
import type { CoverageMark } from '../world/coverage.js';
import type { KvStateMachine } from '../world/kv-state-machine.js';
import type { KvResult } from '../world/kv-state-machine.js';
import type { SimNetwork } from '../world/network.js';
import type { WorldStreams } from '../world/streams.js';
import { encodeKvCommand } from '../world/kv-state-machine.js';
import { Workload } from '../world/workload.js';
import type { ClusterAccess } from '../world/workload.js';
import type { VirtualClock } from '../../src/util/clock.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import type { HostCoverageMark } from './host-coverage.js';
import type { HostWorldParams } from './host-params.js';
import type { SimHost } from './sim-host.js';

/** Longest a client thinks between operations, in ticks (as in the single-group world). */
const THINK_TICKS_MAX = 5;

/** What the clients need of their world. */
export interface GroupClientsWorld {
  readonly clock: VirtualClock;
  readonly network: SimNetwork;
  readonly params: HostWorldParams;
  readonly streams: WorldStreams;
  readonly recorder: HistoryRecorder;
  host(id: NodeId): SimHost;
  quiesced(host: SimHost, group: GroupId): boolean;
  record(event: string): void;
  mark(mark: CoverageMark): void;
  markHost(mark: HostCoverageMark): void;
  fail(invariant: string, detail: string): void;
  spawn(label: string, action: () => Promise<void>): void;
}

interface GroupWorkload {
  readonly group: GroupId;
  /** The keys the group owns (its probe key when it owns none). */
  readonly keys: readonly string[];
  readonly access: ClusterAccess;
  readonly members: readonly NodeId[];
  readonly workload: Workload;
  /** Whether the group owns keys (its clients run), or only has a probe client. */
  readonly active: boolean;
}

/** One workload per group. */
export class GroupClients {
  private readonly workloads: GroupWorkload[];
  /** Groups whose idle probe has not completed ok. */
  private readonly idleProbesPending = new Set<GroupId>();
  private idleProbesInFlight = 0;

  constructor(private readonly world: GroupClientsWorld) {
    const params = world.params;
    const wp = params.world;
    this.workloads = params.groups.map(({ group, members: placed }) => {
      // Where replicas move, a group's clients try every host: one without a replica of it is like one that is down.
      const members = params.rebalance === null ? placed : wp.ids;
      const owned = params.keys.filter((key) => params.keyGroup.get(key) === group);
      const active = owned.length > 0;
      const keys = active ? owned : [`${group}.probe`];
      const access = this.access(group, members);
      const workload = new Workload(world.streams.workload, access, world.recorder, {
        // At most two clients per group keep a 64-group world's history checkable and its run short.
        clients: active ? Math.min(2, wp.clients) : 1,
        keys,
        thinkMsMax: THINK_TICKS_MAX * wp.tickIntervalMs,
        attemptTimeoutMs: wp.requestTimeoutMs,
        opDeadlineMs: 3 * wp.requestTimeoutMs,
        leaseReads: wp.leaseReads,
        unsafeReads: wp.unsafeReads,
      });
      return { group, members, keys, access, workload, active };
    });
  }

  /** Starts the clients of every group that owns keys. */
  start(): void {
    for (const entry of this.workloads) if (entry.active) entry.workload.start();
  }

  /** No client starts a new operation. */
  stop(): void {
    for (const entry of this.workloads) entry.workload.stop();
  }

  /** One probe write per client through every group's replicas, to finish by `deadlineMs`. */
  probe(deadlineMs: number): void {
    for (const entry of this.workloads) entry.workload.probe(entry.members, deadlineMs);
  }

  /**
   * One more write through every group, each by a client of its own (a
   * workload's probe clients keep their session and could not write
   * again), recorded in the history like every other operation: after the
   * groups idled, this is the proposal that must wake each quiesced one.
   */
  probeIdle(deadlineMs: number): void {
    for (const entry of this.workloads) {
      this.idleProbesPending.add(entry.group);
      this.world.spawn(`idle probe of ${entry.group}`, () => this.idleProbe(entry, deadlineMs));
    }
  }

  /** Operations in flight over all groups. */
  pending(): number {
    return this.workloads.reduce((sum, entry) => sum + entry.workload.pending(), 0) + this.idleProbesInFlight;
  }

  /** The groups whose probes did not all complete ok yet. */
  probesMissing(): GroupId[] {
    return this.workloads.filter((entry) => !entry.workload.probesDone() || this.idleProbesPending.has(entry.group)).map((entry) => entry.group);
  }

  private async idleProbe(entry: GroupWorkload, deadlineMs: number): Promise<void> {
    const world = this.world;
    const client = `${entry.group}.idle`;
    const key = entry.keys[0]!;
    const value = `${client}.1`;
    const command = encodeKvCommand({ op: 'put', key, value });
    const timeoutMs = world.params.world.requestTimeoutMs;
    const pending = world.recorder.invoke(client, { kind: 'put', key, value }, world.clock.now());
    this.idleProbesInFlight++;
    try {
      for (let attempt = 0; world.clock.now() < deadlineMs; attempt++) {
        const target = entry.access.target(entry.members[attempt % entry.members.length]!);
        const proposed =
          target === null
            ? Promise.reject(new Error('down'))
            : new Promise<unknown>((resolve, reject) => target.runOn(() => target.node.propose(command, { timeoutMs, session: { clientId: client, seq: 1 } }).then(resolve, reject)));
        if (await this.within(proposed, 1.25 * timeoutMs)) {
          world.recorder.ok(pending, world.clock.now());
          world.record(`${entry.group} idle probe ok`);
          this.idleProbesPending.delete(entry.group);
          return;
        }
        await new Promise<void>((resolve) => world.clock.setTimeout(resolve, world.params.world.tickIntervalMs));
      }
      world.recorder.unknown(pending, world.clock.now());
    } finally {
      this.idleProbesInFlight--;
    }
  }

  /** True when `call` resolved within `ms` of world time. */
  private within(call: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const handle = this.world.clock.setTimeout(() => resolve(false), ms);
      call.then(
        () => {
          this.world.clock.clearTimeout(handle);
          resolve(true);
        },
        () => {
          this.world.clock.clearTimeout(handle);
          resolve(false);
        },
      );
    });
  }

  /** How group `group`'s clients reach its replicas: each member host's replica of the group. */
  private access(group: GroupId, members: readonly NodeId[]): ClusterAccess {
    const world = this.world;
    return {
      ids: members,
      now: () => world.clock.now(),
      setTimeout: (callback, delayMs) => {
        const handle = world.clock.setTimeout(callback, delayMs);
        return () => world.clock.clearTimeout(handle);
      },
      target: (id) => {
        const host = world.host(id);
        const replica = host.state === 'up' ? host.replica(group) : null;
        if (replica === null || replica.node === null) return null;
        return {
          node: replica.node as RaftNode<KvResult>,
          machine: replica.machine as KvStateMachine,
          runOn: (action) =>
            host.runOn(() => {
              if (host.replica(group) === replica && world.quiesced(host, group)) {
                world.markHost('wokenByProposal');
                world.record(`${id}/${group} woken by a client request`);
              }
              action();
            }),
        };
      },
      partitioned: () => world.network.currentCuts().length > 0,
      trace: (event) => world.record(`${group} ${event}`),
      mark: (mark) => world.mark(mark),
      violation: (invariant, detail) => world.fail(invariant, `group ${group}: ${detail}`),
    };
  }
}
