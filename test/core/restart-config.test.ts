/**
 * A restarted core recomputes its configuration from what storage holds: the
 * snapshot's configuration, then every config entry of the stored log
 * (dissertation §4.1). LevelStorage keeps only a bounded tail of entries in
 * memory, but it is ready at open: its configuration entries are in memory
 * when `open()` resolves, however far below the tail they lie, so the core
 * is constructed at once, without waiting for or retrying any load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMembership } from '../../src/confchange/encoding.js';
import { RawNode } from '../../src/core/raw-node.js';
import type { Entry, Membership } from '../../src/core/types.js';
import { LevelStorage } from '../../src/storage/level.js';
import { SeededRandom } from '../../src/util/random.js';
import { makeTempDir, removeTempDirs } from '../storage/temp-dirs.js';

afterEach(removeTempDirs);

function configEntry(index: number, term: number, membership: Membership): Entry {
  return { index, term, type: 'config', data: encodeMembership(membership) };
}

function normals(from: number, to: number, term: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = from; index <= to; index++) entries.push({ index, term, type: 'normal', data: new Uint8Array(100) });
  return entries;
}

describe('restart recomputes the configuration from LevelDB storage', () => {
  it('reads a config entry far behind the in-memory tail at construction, with no entries loaded', async () => {
    const location = await makeTempDir('restart-config');
    const membership = { voters: ['n1', 'n2', 'n3', 'n4'], learners: ['n5'] };
    const first = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    await first.append([configEntry(1, 1, membership), ...normals(2, 2000, 1)], { term: 1, vote: 'n1', commit: 2000 });
    await first.close();

    const storage = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    const raw = new RawNode({ id: 'n1', voters: ['n1'], storage, random: new SeededRandom(1) });

    // Constructing the core loaded nothing: the tail held no config entry, and none was read from disk.
    expect(storage.stats().loadedSegments).toBe(0);
    expect(storage.stats().tailEntries).toBeLessThan(20);
    expect(raw.status().membership).toEqual(membership);
    expect(raw.status().configIndex).toBe(1);
    await storage.close();
  });

  it('finds the newest of several config entries and the one before it while it is uncommitted', async () => {
    const location = await makeTempDir('restart-config');
    const three = { voters: ['n1', 'n2', 'n3'], learners: [] };
    const four = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] };
    const storage = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    await storage.append([configEntry(1, 1, three), ...normals(2, 500, 1), configEntry(501, 2, four), ...normals(502, 1000, 2)],
      { term: 2, vote: 'n1', commit: 500 });
    await storage.close();

    const reopened = await LevelStorage.open({ location, nodeId: 'n1', openTailBytes: 1024 });
    const raw = new RawNode({ id: 'n1', voters: ['n1'], storage: reopened, random: new SeededRandom(2) });

    expect(reopened.configEntries().map((entry) => entry.index)).toEqual([1, 501]);
    expect(raw.status().membership).toEqual(four);
    expect(raw.status().configIndex).toBe(501);
    await reopened.close();
  });
});
