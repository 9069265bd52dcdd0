/**
 * Helpers for scripting scenarios on a CoreCluster: start nodes from
 * prefilled storage (the logs of the paper's figures), deliver only the
 * messages a scenario allows, and read logs back as lists of terms.
 *
 * The cluster's SafetyChecker still runs after every step, so each scenario
 * also checks the invariants of section 2 of the Raft notes along the way.
 */
import type { Message } from '../../src/core/message.js';
import type { NodeId, Term } from '../../src/core/types.js';
import { CoreCluster } from '../../src/testing/core-cluster.js';
import type { CoreClusterOptions } from '../../src/testing/core-cluster.js';
import { prefill, termsOf } from './scenario-log-builder.js';
import type { StoredState } from './scenario-log-builder.js';

export interface ScenarioClusterOptions extends CoreClusterOptions {
  /** What each listed node's storage holds before it starts; unlisted nodes start empty. */
  readonly stored?: Readonly<Record<NodeId, StoredState>>;
}

/**
 * A CoreCluster whose nodes start from prefilled storage. CoreCluster builds
 * its RawNodes over fresh storages, so each prefilled node is crashed (it has
 * done nothing yet) and restarted: the restart reloads it from its storage,
 * as a real node that ran before would.
 */
export function scenarioCluster(options: ScenarioClusterOptions = {}): CoreCluster {
  const cluster = new CoreCluster(options);
  for (const [id, state] of Object.entries(options.stored ?? {})) {
    prefill(cluster.node(id).storage, state);
    cluster.crash(id);
    cluster.restart(id);
  }
  return cluster;
}

/** Which in-flight messages a scenario delivers: dropped ones are lost, held ones stay on the wire. */
export interface DeliveryRules {
  readonly drop?: (message: Message) => boolean;
  readonly hold?: (message: Message) => boolean;
}

/**
 * Like `CoreCluster.stabilize`, but obeys `rules`: handles every Ready and
 * delivers every in-flight message that is neither dropped nor held, until
 * nothing moves. Returns the delivered messages in delivery order.
 */
export function settle(cluster: CoreCluster, rules: DeliveryRules = {}, maxRounds = 200): Message[] {
  const delivered: Message[] = [];
  for (let round = 0; round < maxRounds; round++) {
    let moved = false;
    for (const id of cluster.ids) moved = cluster.processReady(id) || moved;
    let position = 0;
    while (position < cluster.inFlight.length) {
      const message = cluster.inFlight[position]!.message;
      if (rules.hold?.(message) === true) {
        position++;
        continue;
      }
      if (rules.drop?.(message) === true) {
        cluster.drop(position);
      } else {
        delivered.push(message);
        cluster.deliver(position);
      }
      moved = true;
    }
    if (!moved) return delivered;
  }
  throw new Error(`scenario did not settle within ${maxRounds} rounds`);
}

/** Handles every node's Readies (all three phases) without delivering anything. */
export function processAll(cluster: CoreCluster): void {
  for (const id of cluster.ids) cluster.processReady(id);
}

/** Delivers, in order, every in-flight message matching `select`; leaves the rest on the wire. */
export function deliverWhere(cluster: CoreCluster, select: (message: Message) => boolean): Message[] {
  const delivered: Message[] = [];
  let position = 0;
  while (position < cluster.inFlight.length) {
    const message = cluster.inFlight[position]!.message;
    if (select(message)) {
      delivered.push(message);
      cluster.deliver(position);
    } else {
      position++;
    }
  }
  return delivered;
}

/** The in-flight messages matching `select`, without delivering them. */
export function inFlightWhere(cluster: CoreCluster, select: (message: Message) => boolean): Message[] {
  return cluster.inFlight.map((flight) => flight.message).filter(select);
}

/** Ticks every node and settles under `rules` until `done` holds; returns the ticks taken. Throws after `maxTicks`. */
export function tickUntil(cluster: CoreCluster, done: () => boolean, maxTicks = 200, rules: DeliveryRules = {}): number {
  for (let ticks = 0; ticks <= maxTicks; ticks++) {
    if (done()) return ticks;
    cluster.tickAll();
    settle(cluster, rules);
  }
  throw new Error(`condition not reached within ${maxTicks} ticks`);
}

/** Campaigns from `id` (at most `attempts` times, settling under `rules` in between) until it leads. */
export function electNode(cluster: CoreCluster, id: NodeId, rules: DeliveryRules = {}, attempts = 3): void {
  for (let attempt = 0; attempt < attempts; attempt++) {
    cluster.campaign(id);
    settle(cluster, rules);
    if (cluster.raw(id).status().role === 'leader') return;
  }
  throw new Error(`${id} was not elected in ${attempts} campaigns`);
}

/** The terms of `id`'s log from index 1 (or its first index after compaction) to its last index. */
export function logOf(cluster: CoreCluster, id: NodeId): (Term | undefined)[] {
  const raw = cluster.raw(id);
  const status = raw.status();
  return termsOf(raw, status.lastIndex, status.firstIndex);
}

/** The terms of what `id` has durably stored, from index 1 (or its first index). */
export function storedLogOf(cluster: CoreCluster, id: NodeId): Term[] {
  const storage = cluster.node(id).storage;
  const result: Term[] = [];
  for (let index = storage.firstIndex(); index <= storage.lastIndex(); index++) result.push(storage.term(index));
  return result;
}

/** Messages sent by `from` to `to`. */
export function between(from: NodeId, to: NodeId): (message: Pick<Message, 'from' | 'to'>) => boolean {
  return (message) => message.from === from && message.to === to;
}

/** Every message to or from `id`. */
export function touching(id: NodeId): (message: Pick<Message, 'from' | 'to'>) => boolean {
  return (message) => message.from === id || message.to === id;
}

/** An AppendEntries carrying at least one entry of `term`. */
export function carriesTerm(term: Term): (message: Message) => boolean {
  return (message) => message.type === 'appendEntries' && message.entries.some((e) => e.term === term);
}
