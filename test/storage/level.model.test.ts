/**
 * Model-based test: random sequences of appends (plain, truncating, several
 * in flight at once), snapshots (matching and conflicting), invalid writes,
 * range and term reads and close-and-reopen, run against LevelStorage and a
 * naive in-memory model, compared after every step.
 *
 * Runs: KEEL_STORAGE_RUNS (default 40). Replay a failure with the seed and path
 * fast-check prints: KEEL_STORAGE_SEED=<seed> KEEL_STORAGE_PATH=<path>.
 */
import * as fc from 'fast-check';
import { afterEach, describe, it } from 'vitest';
import { LevelStorage } from '../../src/storage/level.js';
import { emptyModel, storageCommands } from './storage-model.js';
import type { RealStorage } from './storage-model.js';
import { makeTempDir, removeTempDirs } from './temp-dirs.js';

const RUNS = Number(process.env['KEEL_STORAGE_RUNS'] ?? 40);
const SEED = process.env['KEEL_STORAGE_SEED'];
const PATH = process.env['KEEL_STORAGE_PATH'];

afterEach(removeTempDirs);

describe('LevelStorage against a naive model', () => {
  it('agrees with the model after every command, across reopens', async () => {
    // Small caches in some runs, so that reads go through the on-demand loader and reopen reads a partial tail.
    const cacheBytes = fc.constantFrom(0, 512, 8192, 4 * 1024 * 1024);
    const property = fc.asyncProperty(
      fc.commands(storageCommands, { maxCommands: 40 }),
      cacheBytes,
      cacheBytes,
      async (commands, tailCacheBytes, loadedCacheBytes) => {
        const location = await makeTempDir('model');
        const options = { location, nodeId: 'n1', tailCacheBytes, loadedCacheBytes };
        const real: RealStorage = { storage: await LevelStorage.open(options), options };
        try {
          await fc.asyncModelRun(() => ({ model: emptyModel(), real }), commands);
        } finally {
          await real.storage.close();
        }
      },
    );
    await fc.assert(property, {
      numRuns: RUNS,
      ...(SEED === undefined ? {} : { seed: Number(SEED) }),
      ...(PATH === undefined ? {} : { path: PATH }),
    });
  });
});
