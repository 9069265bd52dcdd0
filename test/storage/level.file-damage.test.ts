/**
 * Damaged LevelDB files: flip bits in, or truncate, the write-ahead log, the
 * table files, the MANIFEST or CURRENT of a closed LevelStorage, then open
 * and read everything (in a child process, damage-check.mjs). Each trial must
 * end in one of these ways:
 *   - a CorruptionError, from open or from a read;
 *   - a clean recovery that LevelDB itself provides (a torn write-ahead log is
 *     cut at the last whole record): the log is exactly the one written up to
 *     the end of some batch, with that batch's hard state;
 *   - LevelDB aborting the process: LevelDB 1.20, as bundled by classic-level,
 *     asserts on some malformed table keys (`internal_key.size() >= 8`). A
 *     crash is not wrong data, but it is not a clean refusal either, so it is
 *     counted and reported; the check runs in a child so the test survives it.
 * Anything else, above all data that differs from what was written, fails.
 *
 * KEEL_DAMAGE_TRIALS (default 30 per file kind) and KEEL_DAMAGE_SEED (printed) control the trials.
 */
import { cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_HARD_STATE } from '../../src/core/types.js';
import type { HardState } from '../../src/core/types.js';
import { LevelStorage } from '../../src/storage/level.js';
import { startChild } from './child-process.js';
import { crashEntry, crashHardState, seededRandom } from './crash-content.mjs';
import { settle } from './level-raw.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const TRIALS = Number(process.env['KEEL_DAMAGE_TRIALS'] ?? 30);
const SEED = Number(process.env['KEEL_DAMAGE_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const BATCHES = 300;

/**
 * Writes BATCHES appends of 1..30 entries of the crash-content log (about
 * 700 KB, so the write-ahead log spans many 32 KB blocks), each with the hard
 * state committing its last entry. Returns each batch's last index.
 */
async function buildFixture(location: string): Promise<number[]> {
  const storage = await LevelStorage.open({ location, nodeId: 'n1' });
  const batchEnds: number[] = [];
  let next = 1;
  for (let batch = 0; batch < BATCHES; batch++) {
    const count = 1 + ((batch * 7) % 30);
    const entries = Array.from({ length: count }, (_, i) => crashEntry(next + i));
    next += count;
    await storage.append(entries, crashHardState(next - 1));
    batchEnds.push(next - 1);
  }
  await storage.close();
  return batchEnds;
}

type Outcome = 'refused' | 'intact' | 'recovered prefix' | 'aborted by LevelDB';

/** What damage-check.mjs prints for one directory. */
type CheckReport = { location: string } & (
  | { outcome: 'refused'; code: string; key: string | null; message: string }
  | { outcome: 'opened'; firstIndex: number; lastIndex: number; hardState: HardState; wrongEntry: number | null }
);

/**
 * Runs damage-check.mjs over `locations` (one child for many, since starting
 * Node costs more than a check). When LevelDB aborts the child, the directory
 * it was on is counted as aborted and a new child takes the rest.
 */
async function checkAll(locations: readonly string[]): Promise<(CheckReport | 'aborted by LevelDB')[]> {
  const results: (CheckReport | 'aborted by LevelDB')[] = [];
  while (results.length < locations.length) {
    const child = startChild('./damage-check.mjs', locations.slice(results.length));
    const exit = await child.exited;
    for (const line of child.lines) {
      const report = JSON.parse(line) as CheckReport;
      expect(report.location).toBe(locations[results.length]);
      results.push(report);
    }
    if (exit.signal !== null) {
      expect(child.stderr(), `child killed by ${exit.signal} without a LevelDB assertion`).toMatch(/leveldb/i);
      results.push('aborted by LevelDB');
    } else {
      expect(exit.code, `damage-check failed:\n${child.stderr()}`).toBe(0);
    }
  }
  return results;
}

/** Judges one report against what was written. */
function judge(report: CheckReport | 'aborted by LevelDB', batchEnds: readonly number[], context: string): Outcome {
  if (report === 'aborted by LevelDB') return report;
  if (report.outcome === 'refused') {
    expect(report.code, `${context}: refused with ${report.message}`).toBe('KEEL_CORRUPTION');
    return 'refused';
  }
  const last = report.lastIndex;
  expect(report.firstIndex, context).toBe(1);
  expect(last === 0 || batchEnds.includes(last), `${context}: lastIndex ${last} is not the end of a batch`).toBe(true);
  expect(report.hardState, `${context}: hard state`).toEqual(last === 0 ? EMPTY_HARD_STATE : crashHardState(last));
  expect(report.wrongEntry, `${context}: entry ${String(report.wrongEntry)} is not what was written`).toBeNull();
  return last === batchEnds[batchEnds.length - 1] ? 'intact' : 'recovered prefix';
}

/** Flips 1 to 3 bits, or truncates, one of the files matching `pattern`. Returns a description. */
async function damage(location: string, pattern: RegExp, random: () => number): Promise<string> {
  const candidates: string[] = [];
  for (const file of await readdir(location)) if (pattern.test(file) && (await stat(join(location, file))).size > 0) candidates.push(file);
  expect(candidates.length, `no file matching ${pattern} in ${location}`).toBeGreaterThan(0);
  const file = candidates[Math.floor(random() * candidates.length)]!;
  const path = join(location, file);
  const bytes = await readFile(path);
  if (random() < 0.3) {
    const length = Math.floor(random() * bytes.length);
    await truncate(path, length);
    return `truncate ${file} to ${length} of ${bytes.length} bytes`;
  }
  const flips: number[] = [];
  for (let flip = 1 + Math.floor(random() * 3); flip > 0; flip--) {
    const position = Math.floor(random() * bytes.length);
    bytes[position]! ^= 1 << Math.floor(random() * 8);
    flips.push(position);
  }
  await writeFile(path, bytes);
  return `flip bits at ${flips.join(', ')} of ${file} (${bytes.length} bytes)`;
}

describe('LevelStorage with damaged LevelDB files', () => {
  const variants = [
    { name: 'data still in the write-ahead log', settled: false, files: /\.log$/ },
    { name: 'data in table files', settled: true, files: /\.ldb$/ },
    { name: 'MANIFEST and CURRENT', settled: true, files: /^(MANIFEST-\d+|CURRENT)$/ },
  ];
  let pristine: { logged: string; settled: string; batchEnds: number[] };

  beforeAll(async () => {
    const logged = await makeTempDir('damage-pristine');
    const batchEnds = await buildFixture(logged);
    const settled = await makeTempDir('damage-pristine-settled');
    await cp(logged, settled, { recursive: true });
    await settle(settled);
    pristine = { logged, settled, batchEnds };
  });

  afterAll(removeTempDirs);

  for (const variant of variants) {
    it(`never returns wrong data: ${variant.name} (${TRIALS} trials, seed ${SEED})`, async () => {
      console.log(`[damage] ${variant.name}: seed ${SEED}; replay with KEEL_DAMAGE_SEED=${SEED}`);
      const random = seededRandom(SEED);
      const trials: { location: string; what: string }[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const location = await makeTempDir('damage');
        await cp(variant.settled ? pristine.settled : pristine.logged, location, { recursive: true });
        trials.push({ location, what: await damage(location, variant.files, random) });
      }

      const reports = await checkAll(trials.map((trial) => trial.location));

      const outcomes: Record<Outcome, number> = { refused: 0, intact: 0, 'recovered prefix': 0, 'aborted by LevelDB': 0 };
      reports.forEach((report, trial) => outcomes[judge(report, pristine.batchEnds, `seed ${SEED}, trial ${trial}: ${trials[trial]!.what}`)]++);
      console.log(`[damage] ${variant.name}: ${JSON.stringify(outcomes)}`);
      expect(reports.length).toBe(TRIALS);
    });
  }
});
