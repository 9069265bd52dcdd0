/**
 * A restarted core recomputes its configuration from what storage holds: the
 * snapshot's configuration, then every config entry of the stored log. Over
 * LevelDB, whose log may not be in memory at open, the core says so
 * (LogNotLoadedError) and is created again once the loads settle — what
 * RaftNode.open does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMembership } from '../../src/confchange/encoding.js';
import { RawNode } from '../../src/core/raw-node.js';
import type { Entry } from '../../src/core/types.js';
import { LogNotLoadedError } from '../../src/errors.js';
import { LevelStorage } from '../../src/storage/level.js';
import { SeededRandom } from '../../src/util/random.js';
import { makeTempDir, removeTempDirs } from '../storage/temp-dirs.js';

afterEach(removeTempDirs);

describe('restart recomputes the configuration from LevelDB storage', () => {
  it('reads a config entry far behind the in-memory tail, after waiting for the storage to load it', async () => {
    const location = await makeTempDir('restart-config');
    const membership = { voters: ['n1', 'n2', 'n3', 'n4'], learners: ['n5'] };
    const first = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    const entries: Entry[] = [{ index: 1, term: 1, type: 'config', data: encodeMembership(membership) }];
    for (let index = 2; index <= 200; index++) entries.push({ index, term: 1, type: 'normal', data: new Uint8Array(100) });
    await first.append(entries, { term: 1, vote: 'n1', commit: 200 });
    await first.close();

    const storage = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    const config = { id: 'n1', voters: ['n1'], storage, random: new SeededRandom(1) };
    expect(() => new RawNode(config)).toThrow(LogNotLoadedError);
    let raw: RawNode | null = null;
    for (let attempt = 0; attempt < 100 && raw === null; attempt++) {
      try {
        raw = new RawNode(config);
      } catch (error) {
        if (!(error instanceof LogNotLoadedError)) throw error;
        await storage.loadsSettled();
      }
    }

    expect(raw?.status().membership).toEqual(membership);
    expect(raw?.status().configIndex).toBe(1);
    await storage.close();
  });
});
