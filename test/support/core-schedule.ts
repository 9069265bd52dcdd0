/**
 * Random schedules for the core property test: the actions, their weights and
 * how each is applied to a {@link CoreCluster}. Shared so that a failing
 * schedule can be replayed from a script.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { CoreCluster } from '../../src/testing/core-cluster.js';

export type Action =
  | { readonly kind: 'tick'; readonly node: number }
  | { readonly kind: 'tickAll' }
  | { readonly kind: 'ready'; readonly node: number }
  | { readonly kind: 'readyPhase'; readonly node: number }
  | { readonly kind: 'flush' }
  | { readonly kind: 'deliver'; readonly pick: number }
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'duplicate'; readonly pick: number }
  | { readonly kind: 'propose'; readonly node: number }
  | { readonly kind: 'read'; readonly node: number }
  | { readonly kind: 'crash'; readonly node: number }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'compact'; readonly node: number };

const node = fc.nat({ max: 6 });
const pick = fc.nat({ max: 1000 });

/** Weighted so that elections and replication actually happen between the faults. */
export const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: node.map((n) => ({ kind: 'tick', node: n }) as const) },
  { weight: 3, arbitrary: fc.constant({ kind: 'tickAll' } as const) },
  { weight: 40, arbitrary: node.map((n) => ({ kind: 'ready', node: n }) as const) },
  // One phase of the Ready contract at a time, so crashes land between taking, persisting and sending.
  { weight: 15, arbitrary: node.map((n) => ({ kind: 'readyPhase', node: n }) as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' } as const) },
  { weight: 60, arbitrary: pick.map((p) => ({ kind: 'deliver', pick: p }) as const) },
  { weight: 3, arbitrary: pick.map((p) => ({ kind: 'drop', pick: p }) as const) },
  { weight: 2, arbitrary: pick.map((p) => ({ kind: 'duplicate', pick: p }) as const) },
  { weight: 10, arbitrary: node.map((n) => ({ kind: 'propose', node: n }) as const) },
  { weight: 2, arbitrary: node.map((n) => ({ kind: 'read', node: n }) as const) },
  { weight: 1, arbitrary: node.map((n) => ({ kind: 'crash', node: n }) as const) },
  { weight: 3, arbitrary: node.map((n) => ({ kind: 'restart', node: n }) as const) },
  { weight: 1, arbitrary: fc.nat({ max: 31 }).map((m) => ({ kind: 'partition', mask: m }) as const) },
  { weight: 4, arbitrary: fc.constant({ kind: 'heal' } as const) },
  { weight: 2, arbitrary: node.map((n) => ({ kind: 'compact', node: n }) as const) },
);

export interface RunStats {
  proposals: number;
  leaderChanges: number;
  crashes: number;
  snapshotsSent: number;
}
/** Applies one schedule step. */
export function apply(cluster: CoreCluster, step: Action, counter: { next: number }, stats: RunStats): void {
  const ids = cluster.ids;
  const idOf = (n: number): string => ids[n % ids.length]!;
  const alive = (n: number): boolean => cluster.node(idOf(n)).alive;
  const at = (p: number): number => p % Math.max(1, cluster.inFlight.length);
  switch (step.kind) {
    case 'tick':
      cluster.tick(idOf(step.node));
      return;
    case 'tickAll':
      cluster.tickAll();
      return;
    case 'ready':
      cluster.processReady(idOf(step.node));
      return;
    case 'readyPhase':
      cluster.advanceReady(idOf(step.node));
      return;
    case 'flush':
      while (cluster.inFlight.length > 0) cluster.deliver(0);
      return;
    case 'deliver':
      if (cluster.inFlight[at(step.pick)]?.message.type === 'installSnapshot') stats.snapshotsSent++;
      cluster.deliver(at(step.pick));
      return;
    case 'drop':
      cluster.drop(at(step.pick));
      return;
    case 'duplicate':
      cluster.duplicate(at(step.pick));
      return;
    case 'propose':
      if (!alive(step.node) || cluster.raw(idOf(step.node)).status().role !== 'leader') return;
      cluster.propose(idOf(step.node), new TextEncoder().encode(`p${counter.next++}`));
      stats.proposals++;
      return;
    case 'read':
      if (alive(step.node) && cluster.raw(idOf(step.node)).status().leader !== null) cluster.readIndex(idOf(step.node), `r${counter.next++}`);
      return;
    case 'crash':
      // Keep a majority alive most of the time so that the schedule also exercises progress.
      if (alive(step.node)) {
        cluster.crash(idOf(step.node));
        stats.crashes++;
      }
      return;
    case 'restart':
      cluster.restart(idOf(step.node));
      return;
    case 'partition':
      cluster.heal();
      cluster.isolate(ids.filter((_, i) => (step.mask >> i) & 1));
      return;
    case 'heal':
      cluster.heal();
      return;
    case 'compact':
      cluster.compact(idOf(step.node));
      return;
  }
}

/** After the faults: heal everything and require a leader and convergence within a bound. */
export function checkLiveness(cluster: CoreCluster, electionTicks: number): void {
  cluster.heal();
  for (const id of cluster.ids) cluster.restart(id);
  let rounds = 0;
  const bound = 40 * electionTicks;
  for (; rounds < bound; rounds++) {
    cluster.tickAndStabilize();
    if (converged(cluster)) break;
  }
  expect(rounds, 'ticks to re-elect and converge after healing').toBeLessThan(bound);
}

export function converged(cluster: CoreCluster): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const leaderStatus = cluster.raw(leader).status();
  if (cluster.raw(leader).term(leaderStatus.commitIndex) !== leaderStatus.term) return false;
  return cluster.ids.every((id) => {
    const status = cluster.raw(id).status();
    return status.leader === leader && status.appliedIndex === leaderStatus.commitIndex && status.lastIndex === leaderStatus.lastIndex;
  });
}

