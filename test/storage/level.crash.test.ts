/**
 * Crash test with real processes: a child (crash-child.mjs, running the built
 * library) appends synced batches and snapshots; the parent kills it with
 * SIGKILL at a random moment, reopens the directory and checks that
 *   - every acknowledged entry is there, byte for byte, and the log is contiguous;
 *   - the last index is the end of a batch that was sent (batches are atomic);
 *   - the hard state is the one written with that batch (so never older than
 *     the last acknowledged one);
 *   - the snapshot is never older than the last acknowledged one.
 * Then it starts a new child on the same directory, which continues the log.
 *
 * KEEL_CRASH_KILLS (default 30) sets the number of kills; KEEL_CRASH_SEED
 * replays the kill timing and batch sizes of a run (the seed is printed). The
 * moment a kill lands also depends on the machine, so a replay is close to,
 * not exactly, the original run.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_HARD_STATE } from '../../src/core/types.js';
import type { Entry } from '../../src/core/types.js';
import { LevelStorage } from '../../src/storage/level.js';
import { startChild } from './child-process.js';
import { CRASH_NODE_ID, crashHardState, crashPayload, crashTerm, seededRandom } from './crash-content.mjs';
import { readAll } from './log-builders.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const KILLS = Number(process.env['KEEL_CRASH_KILLS'] ?? 30);
const SEED = Number(process.env['KEEL_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

/** What the children reported over all runs so far. */
interface History {
  /** Every batch end ever sent, plus 0 (the empty log). */
  readonly sent: Set<number>;
  maxAcked: number;
  maxSnapshot: number;
}

afterEach(removeTempDirs);

describe('LevelStorage under SIGKILL', () => {
  it(`keeps every acknowledged write across ${KILLS} kills (seed ${SEED})`, async () => {
    console.log(`[crash] seed ${SEED}, ${KILLS} kills; replay with KEEL_CRASH_SEED=${SEED}`);
    const location = await makeTempDir('crash');
    const random = seededRandom(SEED);
    const history: History = { sent: new Set([0]), maxAcked: 0, maxSnapshot: 0 };
    let acks = 0;
    let killsWithWritesInFlight = 0;

    for (let kill = 0; kill < KILLS; kill++) {
      const context = `seed ${SEED}, kill ${kill}`;
      const child = startChild('./crash-child.mjs', [location, String(SEED + kill)]);
      // Most kills land while the child appends; some land while it is still opening (and collecting a prefix).
      const duringOpen = random() < 0.15;
      if (!duringOpen) await child.waitForLine((line) => line.startsWith('ready'));
      // The kill moment is the random variable under test, so a timer is the point here, not a wait for a condition.
      await delay(Math.floor(random() * (duringOpen ? 150 : 250)));
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal === 'SIGKILL' || exit.code === 0, `${context}: child failed: ${child.stderr()}`).toBe(true);

      const run = record(child.lines, history);
      acks += run.acks;
      if (run.inFlight) killsWithWritesInFlight++;
      await verify(location, history, context);
    }

    console.log(`[crash] ${acks} acknowledged appends up to index ${history.maxAcked}, last snapshot at ${history.maxSnapshot}; ` +
      `${killsWithWritesInFlight} of ${KILLS} kills landed with writes in flight`);
    expect(acks).toBeGreaterThan(KILLS);
    expect(killsWithWritesInFlight).toBeGreaterThan(0);
  });
});

/**
 * Adds a child's report to `history`. Returns how many appends it acknowledged
 * and whether it was killed with an append sent but not yet acknowledged.
 */
function record(lines: readonly string[], history: History): { acks: number; inFlight: boolean } {
  let acks = 0;
  let lastSent = 0;
  let lastAcked = 0;
  for (const line of lines) {
    const [kind, value] = line.split(' ');
    const index = Number(value);
    if (kind === 'sent') {
      history.sent.add(index);
      lastSent = index;
    }
    if (kind === 'ack') {
      acks++;
      lastAcked = Math.max(lastAcked, index);
      history.maxAcked = Math.max(history.maxAcked, index);
    }
    if (kind === 'snap') history.maxSnapshot = Math.max(history.maxSnapshot, index);
  }
  return { acks, inFlight: lastSent > lastAcked };
}

async function verify(location: string, history: History, context: string): Promise<void> {
  const storage = await LevelStorage.open({ location, nodeId: CRASH_NODE_ID });
  try {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    expect(last, `${context}: lastIndex below the last acknowledged index`).toBeGreaterThanOrEqual(history.maxAcked);
    expect(history.sent.has(last), `${context}: lastIndex ${last} is not the end of any batch sent`).toBe(true);
    expect(storage.initialState().hardState, `${context}: hard state`).toEqual(last === 0 ? EMPTY_HARD_STATE : crashHardState(last));
    const snapshot = storage.snapshotMeta();
    expect(snapshot.index, `${context}: snapshot older than acknowledged`).toBeGreaterThanOrEqual(history.maxSnapshot);
    expect(snapshot.term, `${context}: snapshot term`).toBe(crashTerm(snapshot.index));
    for (let index = first - 1; index <= last; index++) {
      if (storage.term(index) !== crashTerm(index)) expect(storage.term(index), `${context}: term(${index})`).toBe(crashTerm(index));
    }
    const entries = await readAll(storage, () => storage.loadsSettled());
    expect(entries.length, `${context}: entries ${first}..${last}`).toBe(last - first + 1);
    const wrong = entries.findIndex((entry, i) => !isExpected(entry, first + i));
    expect(wrong, `${context}: entry ${first + wrong} differs from what was written`).toBe(-1);
  } finally {
    await storage.close();
  }
}

function isExpected(entry: Entry, index: number): boolean {
  return entry.index === index && entry.term === crashTerm(index) && Buffer.from(entry.data).equals(crashPayload(index));
}
