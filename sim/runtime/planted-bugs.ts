/**
 * Bugs the simulator can plant in its own world, to show (and to test) that
 * its checkers catch them: `keel sim --plant-bug lying-disk --seed 13` fails,
 * and `--shrink` turns that failure into a minimal scenario. They change the
 * simulated environment or clients, never `src/`.
 */
import type { WorldParams } from '../world/params.js';

/** A planted bug: what it breaks, and how it changes a world. */
export interface PlantedBug {
  /** One line on what the bug breaks, for usage messages and reports. */
  readonly summary: string;
  /** Returns `params` with the bug planted in the world. */
  readonly plant: (params: WorldParams) => WorldParams;
}

/** The name of a planted bug. */
export type PlantedBugName = 'lying-disk' | 'unsafe-reads' | 'flooding-clients';

/** Every planted bug, by the name the command line uses. */
export const PLANTED_BUGS: Readonly<Record<PlantedBugName, PlantedBug>> = {
  /** etcd#14370, nats-server#7564: a crash erases entries a leader already counted as replicated. */
  'lying-disk': {
    summary: 'the disk acknowledges writes before they are durable (and is slow to sync them)',
    plant: (params) => ({ ...params, disk: { ...params.disk, acknowledgeBeforeSync: true, latencyMsMin: 2, latencyMsMax: 20 } }),
  },
  /** A stale read from a partitioned follower: the linearizability check must reject the history. */
  'unsafe-reads': {
    summary: 'clients read a node\'s local state without a read barrier',
    plant: (params) => ({ ...params, unsafeReads: true }),
  },
  /**
   * Clients without backpressure: every event starts another operation.
   * Nothing is violated, but the world fills up and simulated time stands
   * still, so the run never ends on its own; the run's budgets stop it and
   * report the seed (without them, one such seed held a swarm for minutes
   * at gigabytes of memory).
   */
  'flooding-clients': {
    summary: 'clients start operations without pause and without waiting for answers (the run never ends on its own)',
    plant: (params) => ({ ...params, floodingClients: true }),
  },
};

/** The planted bug names, for usage messages. */
export const PLANTED_BUG_NAMES = Object.keys(PLANTED_BUGS) as PlantedBugName[];
