/**
 * Crash test of the shared log engine with real processes: a child
 * (engine-crash-child.mjs, running the built library) appends to three groups
 * whose writes share synced batches; the parent kills it with SIGKILL at a
 * random moment, reopens the database and checks, for every group, that
 *   - every acknowledged entry is there, byte for byte, and the log is contiguous;
 *   - the last index is the end of a batch that was sent to that group;
 *   - the hard state is the one written with that batch.
 * A new child then continues every group's log.
 *
 * KEEL_CRASH_KILLS (default 12) sets the number of kills; KEEL_CRASH_SEED
 * replays the kill timing and batch sizes of a run (the seed is printed).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/types.js';
import { LevelEngine } from '../../src/storage/level-engine.js';
import { startChild } from './child-process.js';
import { CRASH_NODE_ID, crashHardState, crashPayload, crashTerm, seededRandom } from './crash-content.mjs';
import { readAll } from './log-builders.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const KILLS = Number(process.env['KEEL_CRASH_KILLS'] ?? 12);
const SEED = Number(process.env['KEEL_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const GROUPS = ['g0', 'g1', 'g2'];

interface GroupHistory {
  readonly sent: Set<number>;
  maxAcked: number;
}

afterEach(removeTempDirs);

describe('LevelEngine under SIGKILL', () => {
  it(`keeps every acknowledged write of every group across ${KILLS} kills (seed ${SEED})`, async () => {
    console.log(`[engine crash] seed ${SEED}, ${KILLS} kills; replay with KEEL_CRASH_SEED=${SEED}`);
    const location = await makeTempDir('engine-crash');
    const random = seededRandom(SEED);
    const history = new Map(GROUPS.map((group) => [group, { sent: new Set([0]), maxAcked: 0 } as GroupHistory]));
    let acks = 0;

    for (let kill = 0; kill < KILLS; kill++) {
      const context = `seed ${SEED}, kill ${kill}`;
      const child = startChild('./engine-crash-child.mjs', [location, String(SEED + kill)]);
      await child.waitForLine((line) => line === 'ready');
      // The kill moment is the random variable under test, so a timer is the point here.
      await delay(Math.floor(random() * 200));
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal === 'SIGKILL' || exit.code === 0, `${context}: child failed: ${child.stderr()}`).toBe(true);
      acks += record(child.lines, history);
      await verify(location, history, context);
    }

    console.log(`[engine crash] ${acks} acknowledged appends; last acknowledged per group: ${GROUPS.map((group) => history.get(group)!.maxAcked).join(', ')}`);
    expect(acks).toBeGreaterThan(KILLS);
  });
});

function record(lines: readonly string[], history: Map<string, GroupHistory>): number {
  let acks = 0;
  for (const line of lines) {
    const [kind, group, value] = line.split(' ');
    const entry = history.get(group ?? '');
    if (entry === undefined) continue;
    if (kind === 'sent') entry.sent.add(Number(value));
    if (kind === 'ack') {
      acks++;
      entry.maxAcked = Math.max(entry.maxAcked, Number(value));
    }
  }
  return acks;
}

async function verify(location: string, history: Map<string, GroupHistory>, context: string): Promise<void> {
  const engine = await LevelEngine.open({ location, hostId: CRASH_NODE_ID });
  try {
    const listed = (await engine.listGroups()).map((listing) => listing.group);
    for (const group of GROUPS) {
      if (!listed.includes(group)) {
        // Killed while the first child was still creating the groups: nothing was acknowledged for this one.
        expect(history.get(group)!.maxAcked, `${context}: group ${group} is missing`).toBe(0);
        continue;
      }
      const storage = await engine.openGroup(group);
      const { sent, maxAcked } = history.get(group)!;
      const last = storage.lastIndex();
      const where = `${context}, group ${group}`;
      expect(last, `${where}: lastIndex below the last acknowledged index`).toBeGreaterThanOrEqual(maxAcked);
      expect(sent.has(last), `${where}: lastIndex ${last} is not the end of any batch sent`).toBe(true);
      if (last > 0) expect(storage.initialState().hardState, `${where}: hard state`).toEqual(crashHardState(last));
      const entries = await readAll(storage, () => storage.loadsSettled());
      expect(entries.length, `${where}: entries`).toBe(last);
      const wrong = entries.findIndex((entry, i) => !isExpected(entry, 1 + i));
      expect(wrong, `${where}: entry ${1 + wrong} differs from what was written`).toBe(-1);
      await storage.close();
    }
  } finally {
    await engine.close();
  }
}

function isExpected(entry: Entry, index: number): boolean {
  return entry.index === index && entry.term === crashTerm(index) && Buffer.from(entry.data).equals(crashPayload(index));
}
