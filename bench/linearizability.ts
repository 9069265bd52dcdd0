/**
 * The linearizability checker on generated key-value histories of 1,000,
 * 10,000 and 50,000 operations (1,000 and 10,000 with `quick`): 5 clients, 10
 * keys, overlapping intervals of up to ~20 time units, 3 % unknown outcomes
 * (half of which took effect, some after the client gave up) and 2 % failed
 * operations. The histories are linearizable by construction, so the figure
 * is the cost of finding a linearization, the common case in the simulator.
 *
 * One more row per size times the same history with one read corrupted,
 * which forces an exhaustive search of its key up to that read, plus the
 * minimisation of the counterexample.
 */

import { buildHistory, randomPlan, type RandomPlanOptions } from '../sim/checker/generate-history.js';
import { checkLinearizability } from '../sim/checker/linearizability.js';
import type { Operation } from '../sim/history.js';
import { SeededRandom } from '../src/util/random.js';

/** One timed check. */
export interface LinearizabilityBenchRow {
  readonly ops: number;
  /** Wall-clock time of `checkLinearizability`, excluding generating the history. */
  readonly ms: number;
  /** Whether the history had one read corrupted (and so must be rejected). */
  readonly corrupted: boolean;
  /** The verdict: `true`, `false` or `'unknown'`. */
  readonly verdict: boolean | 'unknown';
}

/** The fixed seed of the generated histories, so runs compare like with like. */
export const BENCH_SEED = 0x6b65656c;

const SHAPE: Omit<RandomPlanOptions, 'operations'> = { clients: 5, keys: 10, unknownRate: 0.03, failRate: 0.02, values: 'unique' };

/**
 * Times the checker on 1k/10k/50k-operation histories and logs one line per
 * check. Returns the rows, the linearizable ones first.
 */
export async function benchLinearizability(options: { quick: boolean; log: (line: string) => void }): Promise<LinearizabilityBenchRow[]> {
  const sizes = options.quick ? [1_000, 10_000] : [1_000, 10_000, 50_000];
  options.log(`histories: ${SHAPE.clients} clients, ${SHAPE.keys} keys, ${SHAPE.unknownRate * 100} % unknown, ${SHAPE.failRate * 100} % failed, seed ${BENCH_SEED}`);
  const rows: LinearizabilityBenchRow[] = [];
  for (const corrupted of [false, true]) {
    for (const ops of sizes) {
      const history = buildHistory(randomPlan(new SeededRandom(BENCH_SEED), { ...SHAPE, operations: ops }));
      const row = timeCheck(corrupted ? corruptOneRead(history) : history, corrupted);
      options.log(`${String(ops).padStart(6)} ops${corrupted ? ', one read corrupted' : ''}: ${row.ms.toFixed(1)} ms, verdict ${String(row.verdict)}`);
      rows.push(row);
      // Let the event loop breathe between runs, as the other benches do.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return rows;
}

function timeCheck(history: readonly Operation[], corrupted: boolean): LinearizabilityBenchRow {
  const startMs = performance.now();
  const result = checkLinearizability(history);
  const ms = performance.now() - startMs;
  return { ops: history.length, ms, corrupted, verdict: result.ok };
}

/** The same history with the middle completed read answering a value nobody wrote. */
function corruptOneRead(history: readonly Operation[]): Operation[] {
  const reads = history.filter((operation) => operation.kind === 'get' && operation.outcome === 'ok');
  const victim = reads[Math.floor(reads.length / 2)];
  return history.map((operation) => (operation === victim ? { ...operation, result: 'never written' } : operation));
}
