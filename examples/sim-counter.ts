// Testing your own state machine in the simulator: a replicated counter, its clients, and their check.
import type { AppliedCommand, SnapshotSource } from 'keel';
import type { NodeId, RaftNode } from 'keel';
import { plugIn, runSeed } from 'keel/sim';
import type { RunReport, SimStateMachine, SimWorkload, SimWorkloadContext } from 'keel/sim';

/** The state machine: "add N" adds N and returns the new total. */
export class Counter implements SimStateMachine<number> {
  total = 0;

  apply({ command }: AppliedCommand): number {
    this.total += Number(new TextDecoder().decode(command).slice('add '.length));
    return this.total;
  }

  /** A number is copied by value: the snapshot holds the total as of now, however it changes while it is written. */
  capture(): SnapshotSource {
    const total = this.total;
    return {
      async *chunks(): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode(String(total));
      },
    };
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    let text = '';
    for await (const chunk of chunks) text += new TextDecoder().decode(chunk);
    this.total = Number(text);
  }

  digest(): string {
    return String(this.total);
  }
}

type Outcome = { kind: 'add'; amount: number; invokeMs: number; completeMs: number; total: number | null } | { kind: 'read'; invokeMs: number; value: number };

/** Clients that add to the counter and read it; `check` holds what a linearizable counter must satisfy. */
export class CounterClients implements SimWorkload {
  private running = false;
  private inFlight = 0;
  private probes = { started: 0, ok: 0 };
  private readonly history: Outcome[] = [];
  private seq = 0;

  constructor(private readonly context: SimWorkloadContext<Counter, number>) {}

  start(): void {
    this.running = true;
    for (let client = 1; client <= this.context.params.clients; client++) this.next(`c${client}`);
  }

  stop(): void {
    this.running = false;
  }

  pending(): number {
    return this.inFlight;
  }

  probe(targets: readonly NodeId[], deadlineMs: number): void {
    this.probes.started++;
    void this.add('probe', 1, targets, deadlineMs).then((ok) => ok && this.probes.ok++);
  }

  probesDone(): boolean {
    return this.probes.ok === this.probes.started;
  }

  private next(client: string): void {
    const { random, params } = this.context;
    this.context.setTimeout(() => {
      if (!this.running) return;
      const deadlineMs = this.context.now() + 3 * params.requestTimeoutMs;
      const done = random.nextInt(4) === 0 ? this.read(client) : this.add(client, 1 + random.nextInt(9), params.ids, deadlineMs);
      void done.then(() => this.next(client));
    }, random.nextInt(5 * params.tickIntervalMs));
  }

  /** Adds `amount` with a client session, retrying on other nodes until the deadline; true once acknowledged. */
  private async add(client: string, amount: number, targets: readonly NodeId[], deadlineMs: number): Promise<boolean> {
    const invokeMs = this.context.now();
    const session = { clientId: `${client}-${++this.seq}`, seq: 1 };
    const command = new TextEncoder().encode(`add ${amount}`);
    this.inFlight++;
    let total: number | null = null;
    while (total === null && this.context.now() < deadlineMs) {
      const id = targets[this.context.random.nextInt(targets.length)]!;
      total = await this.attempt(id, (node) => node.propose(command, { session, timeoutMs: this.context.params.requestTimeoutMs }));
    }
    this.history.push({ kind: 'add', amount, invokeMs, completeMs: this.context.now(), total });
    this.inFlight--;
    return total !== null;
  }

  private async read(client: string): Promise<void> {
    const invokeMs = this.context.now();
    const id = this.context.params.ids[this.context.random.nextInt(this.context.params.ids.length)]!;
    this.inFlight++;
    const value = await this.attempt(id, (node) => node.read().then(() => this.context.target(id)?.machine.total ?? null));
    if (value !== null) this.history.push({ kind: 'read', invokeMs, value });
    this.inFlight--;
    this.context.trace(`${client} read ${value ?? 'failed'} on ${id}`);
  }

  /**
   * One call on node `id`, or null if it failed. A paused node holds requests
   * on its own clock, so a watchdog on the world clock gives up on it.
   */
  private attempt<T>(id: NodeId, call: (node: RaftNode<number>) => Promise<T | null>): Promise<T | null> {
    return new Promise((resolve) => {
      const target = this.context.target(id);
      if (target === null) {
        this.context.setTimeout(() => resolve(null), this.context.params.tickIntervalMs);
        return;
      }
      this.context.setTimeout(() => resolve(null), 1.25 * this.context.params.requestTimeoutMs);
      target.runOn(() => {
        try {
          call(target.node).then(resolve, () => resolve(null));
        } catch {
          resolve(null);
        }
      });
    });
  }

  /** Every acknowledged add happened once; no read misses an add acknowledged before it began; nothing invented. */
  check(): { invariant: string; detail: string } | null {
    const adds = this.history.filter((outcome) => outcome.kind === 'add');
    const totals = adds.flatMap((add) => (add.total === null ? [] : [add.total]));
    if (new Set(totals).size !== totals.length) return { invariant: 'Counter', detail: `two acknowledged adds returned the same total: ${totals.join(', ')}` };
    for (const read of this.history) {
      if (read.kind !== 'read') continue;
      const missed = adds.find((add) => add.total !== null && add.completeMs < read.invokeMs && add.total > read.value);
      if (missed !== undefined) return { invariant: 'Counter', detail: `a read at ${read.invokeMs}ms saw ${read.value}, but an add acknowledged at ${missed.completeMs}ms had made it ${missed.total}` };
    }
    const acknowledged = adds.reduce((sum, add) => sum + (add.total === null ? 0 : add.amount), 0);
    const uncertain = adds.reduce((sum, add) => sum + (add.total === null ? add.amount : 0), 0);
    const final = Math.max(0, ...this.context.ids.map((id) => this.context.target(id)?.machine.total ?? 0));
    if (final < acknowledged || final > acknowledged + uncertain) {
      return { invariant: 'Counter', detail: `final total ${final}, but acknowledged adds sum to ${acknowledged} and unacknowledged ones to ${uncertain}` };
    }
    return null;
  }
}

/** Runs seeds of the simulator with the counter and its clients; returns the reports. */
export async function simulateCounter(seeds: readonly number[], durationMs = 3000): Promise<RunReport[]> {
  const reports: RunReport[] = [];
  for (const seed of seeds) {
    reports.push(await runSeed(seed, { durationMs, ...plugIn(() => new Counter(), (context) => new CounterClients(context)) }));
  }
  return reports;
}
