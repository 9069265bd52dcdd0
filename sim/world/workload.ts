/**
 * Simulated clients of the replicated key-value store. Each client issues
 * one operation at a time (get, put, append, cas, delete on a small key set)
 * through the public API of whichever node it picks: `propose` with a client
 * session for writes, so retries on other nodes are exactly-once, and
 * `read()` followed by a local read for most gets. Every operation is
 * recorded with virtual-time invoke and complete stamps; one the client gave
 * up on is recorded as `unknown`, never as failed, since it may still commit.
 */
import type { NodeId } from '../../src/core/types.js';
import { NotLeaderError, SessionStaleError } from '../../src/errors.js';
import type { RaftNode } from '../../src/node/raft-node.js';
import type { SeededRandom } from '../../src/util/random.js';
import type { CasResult, HistoryRecorder, Invocation, PendingOperation } from '../history.js';
import type { CoverageMark } from './coverage.js';
import { encodeKvCommand } from './kv-state-machine.js';
import type { KvCommand, KvResult, KvStateMachine } from './kv-state-machine.js';
import type { SimWorkload } from './plugin.js';
import { chance, pick, uniform } from './streams.js';

/** A running node as a client reaches it: its runtime and its local state machine. */
export interface ClientTarget<Machine = KvStateMachine, Result = KvResult> {
  /** The node's runtime, for `propose`, `read` and the other requests. */
  readonly node: RaftNode<Result>;
  /** The node's local state machine, for local reads after a read barrier. */
  readonly machine: Machine;
  /** Runs `action` on the node when it is not paused. */
  runOn(action: () => void): void;
}

/** What a workload needs from the world. */
export interface ClusterAccess<Machine = KvStateMachine, Result = KvResult> {
  /** Every node of the world so far: those churn created too, and removed ones (which refuse or redirect requests). */
  readonly ids: readonly NodeId[];
  /** The world clock, in milliseconds. */
  now(): number;
  /** A timer on the world clock; the returned function cancels it. */
  setTimeout(callback: () => void, delayMs: number): () => void;
  /** The running node `id`, or null while it is down. */
  target(id: NodeId): ClientTarget<Machine, Result> | null;
  /** True while some link is cut. */
  partitioned(): boolean;
  /** Adds a line to the run's trace (shown before a violation and in timelines). */
  trace(event: string): void;
  /** Counts a coverage mark. */
  mark(mark: CoverageMark): void;
  /** A broken guarantee seen by a client. */
  violation(invariant: string, detail: string): void;
}

/** How clients behave. */
export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: readonly string[];
  /** Longest pause of a client between two operations. */
  readonly thinkMsMax: number;
  /** Deadline of one attempt (`timeoutMs` of propose and read). */
  readonly attemptTimeoutMs: number;
  /** After this long the client stops retrying and records the outcome as unknown. */
  readonly opDeadlineMs: number;
  readonly leaseReads: boolean;
  /** A planted bug, for the simulator's own tests: gets read local state without any read barrier. */
  readonly unsafeReads: boolean;
  /**
   * A planted bug, for the simulator's own tests: each client starts its
   * next operation (in a session of its own) at once, without waiting for
   * the last one's answer. Operations pile up without bound and simulated
   * time stands still: a run only a budget can stop.
   */
  readonly flooding?: boolean;
}

interface Client {
  readonly name: string;
  seq: number;
  /** The node this client believes leads, from a NotLeaderError hint or a success. */
  preferred: NodeId | null;
  readonly lastSeen: Map<string, string | null>;
}

/** The attempt was abandoned by the client's own watchdog (the node was paused or died). */
class AttemptAbandoned extends Error {}

/** Simulated clients of the key-value store and the history they record. */
export class Workload implements SimWorkload {
  private readonly clients: Client[];
  private running = false;
  private inFlight = 0;
  private valueCounter = 0;
  private probes: { total: number; ok: number } = { total: 0, ok: 0 };

  constructor(
    private readonly random: SeededRandom,
    private readonly access: ClusterAccess,
    private readonly recorder: HistoryRecorder,
    private readonly options: WorkloadOptions,
  ) {
    this.clients = Array.from({ length: options.clients }, (_, i) => ({ name: `c${i + 1}`, seq: 0, preferred: null, lastSeen: new Map() }));
  }

  /** Starts every client's loop. */
  start(): void {
    this.running = true;
    for (const client of this.clients) this.scheduleNext(client);
  }

  /** No client starts a new operation; those in flight finish or give up. */
  stop(): void {
    this.running = false;
  }

  /** Operations started and not yet recorded as finished. */
  pending(): number {
    return this.inFlight;
  }

  /**
   * Each client writes once through `targets` (the healed core): the liveness
   * phase's proof of progress. A probe is its own client, with its own
   * session: a session's requests must be sequential, and the client's last
   * regular operation may still be in flight.
   */
  probe(targets: readonly NodeId[], deadlineMs: number): void {
    for (const regular of this.clients) {
      const client: Client = { name: `${regular.name}-probe`, seq: 0, preferred: null, lastSeen: new Map() };
      this.probes.total++;
      const invocation: Invocation = { kind: 'put', key: pick(this.random, this.options.keys), value: this.freshValue(client) };
      this.spawn(client, invocation, targets, deadlineMs, () => this.probes.ok++);
    }
  }

  /** True once every probe completed with `ok`. */
  probesDone(): boolean {
    return this.probes.ok === this.probes.total;
  }

  private scheduleNext(client: Client): void {
    if (!this.running) return;
    if (this.options.flooding === true) {
      this.flood(client);
      return;
    }
    this.access.setTimeout(() => {
      if (!this.running) return;
      const deadlineMs = this.access.now() + this.options.opDeadlineMs;
      this.spawn(client, this.drawInvocation(client), this.access.ids, deadlineMs, () => this.scheduleNext(client), () => this.scheduleNext(client));
    }, uniform(this.random, 0, this.options.thinkMsMax));
  }

  /** The planted bug of {@link WorkloadOptions.flooding}: an operation per event, none waited for. */
  private flood(client: Client): void {
    this.access.setTimeout(() => {
      if (!this.running) return;
      const session: Client = { name: `${client.name}.${++client.seq}`, seq: 0, preferred: client.preferred, lastSeen: client.lastSeen };
      this.spawn(session, this.drawInvocation(session), this.access.ids, this.access.now() + this.options.opDeadlineMs, () => undefined);
      this.flood(client);
    }, 0);
  }

  private spawn(client: Client, invocation: Invocation, targets: readonly NodeId[], deadlineMs: number, onOk: () => void, onUnknown: () => void = () => undefined): void {
    this.inFlight++;
    void this.execute(client, invocation, targets, deadlineMs).then(
      (ok) => {
        this.inFlight--;
        if (ok) onOk();
        else onUnknown();
      },
      (error: unknown) => {
        this.inFlight--;
        this.access.violation('Client harness', `${client.name}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      },
    );
  }

  private drawInvocation(client: Client): Invocation {
    const key = pick(this.random, this.options.keys);
    const draw = this.random.nextInt(100);
    if (draw < 35) return { kind: 'get', key };
    if (draw < 55) return { kind: 'put', key, value: this.freshValue(client) };
    if (draw < 75) return { kind: 'append', key, value: `${this.freshValue(client)};` };
    if (draw < 95) {
      const expect = chance(this.random, 0.2) ? null : (client.lastSeen.get(key) ?? null);
      return { kind: 'cas', key, expect, value: this.freshValue(client) };
    }
    return { kind: 'delete', key };
  }

  /** Unique values make the checker's job (and a human's) much easier. */
  private freshValue(client: Client): string {
    return `${client.name}.${++this.valueCounter}`;
  }

  /** Runs one operation to an outcome; true when it completed `ok`. */
  private async execute(client: Client, invocation: Invocation, targets: readonly NodeId[], deadline: number): Promise<boolean> {
    const access = this.access;
    const pending = this.recorder.invoke(client.name, invocation, access.now());
    const seq = ++client.seq;
    access.trace(`${client.name} invoke #${pending.id} ${describeInvocation(invocation)} seq ${seq}`);
    for (let attempt = 1; access.now() < deadline; attempt++) {
      const id = this.chooseNode(client, targets);
      try {
        const result = await this.attempt(client, id, invocation, seq);
        this.complete(client, pending, invocation, result, attempt);
        return true;
      } catch (error) {
        access.trace(`${client.name} #${pending.id} attempt ${attempt} on ${id} failed: ${errorCode(error)}`);
        this.learn(client, error);
        if (error instanceof SessionStaleError) access.violation('Exactly-once sessions', `${client.name} seq ${seq} was reported stale: ${error.message}`);
        await this.sleep(uniform(this.random, 1, 2 * this.options.thinkMsMax + 1));
      }
    }
    this.recorder.unknown(pending, access.now());
    access.trace(`${client.name} unknown #${pending.id}`);
    access.mark('clientUnknown');
    return false;
  }

  private chooseNode(client: Client, targets: readonly NodeId[]): NodeId {
    if (client.preferred !== null && targets.includes(client.preferred) && chance(this.random, 0.7)) return client.preferred;
    return pick(this.random, targets);
  }

  private learn(client: Client, error: unknown): void {
    client.preferred = error instanceof NotLeaderError ? error.leader : null;
  }

  /** One attempt on node `id`, guarded by a world-clock watchdog: a paused or dead node cannot hold the client forever. */
  private attempt(client: Client, id: NodeId, invocation: Invocation, seq: number): Promise<KvResult> {
    return new Promise<KvResult>((resolve, reject) => {
      const target = this.access.target(id);
      if (target === null) {
        reject(new AttemptAbandoned(`${id} is down`));
        return;
      }
      let settled = false;
      let cancelWatchdog = (): void => undefined;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        // A watchdog left behind would still run as a world event (doing nothing, but checked like any other).
        cancelWatchdog();
        settle();
      };
      // The node's own deadline fires first unless the node was paused or died with the request (a runtime that
      // forgets a request on close would otherwise hold the client forever).
      cancelWatchdog = this.access.setTimeout(() => finish(() => reject(new AttemptAbandoned('watchdog'))), 1.25 * this.options.attemptTimeoutMs);
      target.runOn(() => {
        let call: Promise<KvResult>;
        try {
          call = this.call(client, id, target, invocation, seq);
        } catch (error) {
          finish(() => reject(error));
          return;
        }
        call.then(
          (result) => finish(() => resolve(result)),
          (error: unknown) => finish(() => reject(error)),
        );
      });
    });
  }

  /** The API call itself. Most gets use the ReadIndex barrier and read local state; the rest go through the log. */
  private call(client: Client, id: NodeId, target: ClientTarget, invocation: Invocation, seq: number): Promise<KvResult> {
    const timeoutMs = this.options.attemptTimeoutMs;
    const leader = target.node.status().role === 'leader';
    if (invocation.kind === 'get' && this.options.unsafeReads) return Promise.resolve(target.machine.get(invocation.key));
    if (invocation.kind === 'get' && chance(this.random, 0.7)) {
      const lease = this.options.leaseReads && chance(this.random, 0.5);
      return target.node.read({ timeoutMs, lease }).then(() => {
        this.access.mark('readServed');
        if (!leader) this.access.mark('readServedOnFollower');
        if (lease) this.access.mark('leaseReadServed');
        if (this.access.partitioned()) this.access.mark('readDuringPartition');
        this.access.trace(`${client.name} read on ${id}`);
        return target.machine.get(invocation.key);
      });
    }
    const command = encodeKvCommand(toCommand(invocation));
    return target.node.propose(command, { timeoutMs, session: { clientId: client.name, seq } }).then((result) => {
      if (!leader) this.access.mark('proposalForwarded');
      return result;
    });
  }

  private complete(client: Client, pending: PendingOperation, invocation: Invocation, result: KvResult, attempts: number): void {
    const now = this.access.now();
    const recorder = this.recorder;
    switch (invocation.kind) {
      case 'get':
        if (result !== null && typeof result !== 'string') this.access.violation('Key-value results', `get answered ${JSON.stringify(result)}`);
        client.lastSeen.set(invocation.key, result as string | null);
        recorder.ok(pending as PendingOperation<'get'>, now, result as string | null);
        break;
      case 'cas': {
        const cas = result as CasResult;
        if (cas?.status !== 'swapped' && cas?.status !== 'mismatch') this.access.violation('Key-value results', `cas answered ${JSON.stringify(result)}`);
        client.lastSeen.set(invocation.key, cas.status === 'swapped' ? invocation.value : cas.actual);
        recorder.ok(pending as PendingOperation<'cas'>, now, cas.status === 'swapped' ? { status: 'swapped' } : { status: 'mismatch', actual: cas.actual });
        break;
      }
      default:
        recorder.ok(pending as PendingOperation<'put'>, now);
    }
    this.access.trace(`${client.name} ok #${pending.id} ${JSON.stringify(result)}`);
    this.access.mark('clientOk');
    if (attempts > 1) this.access.mark('clientRetried');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.access.setTimeout(resolve, ms));
  }
}

function errorCode(error: unknown): string {
  if (error instanceof AttemptAbandoned) return `abandoned (${error.message})`;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

function toCommand(invocation: Invocation): KvCommand {
  switch (invocation.kind) {
    case 'get':
      return { op: 'get', key: invocation.key };
    case 'put':
      return { op: 'put', key: invocation.key, value: invocation.value };
    case 'delete':
      return { op: 'delete', key: invocation.key };
    case 'append':
      return { op: 'append', key: invocation.key, value: invocation.value };
    case 'cas':
      return { op: 'cas', key: invocation.key, expect: invocation.expect, value: invocation.value };
  }
}

function describeInvocation(invocation: Invocation): string {
  switch (invocation.kind) {
    case 'get':
    case 'delete':
      return `${invocation.kind} ${invocation.key}`;
    case 'cas':
      return `cas ${invocation.key} ${JSON.stringify(invocation.expect)}->${invocation.value}`;
    default:
      return `${invocation.kind} ${invocation.key} ${invocation.value}`;
  }
}
