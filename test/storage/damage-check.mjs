// Opens (possibly damaged) LevelStorage directories written with the
// crash-content log, reads everything and prints one JSON line per directory
// describing what it found. Run in its own process by
// level.file-damage.test.ts, because LevelDB may abort the process on some
// damaged table files (a failed assertion in its C++ code); the parent then
// restarts it on the directories after the one that aborted it.
// Usage: node damage-check.mjs <location>...
import { LevelStorage } from '../../dist/src/storage/level.js';
import { crashEntry } from './crash-content.mjs';

/** The first entry that differs from what was written, or null. */
async function findWrongEntry(storage) {
  const last = storage.lastIndex();
  let index = storage.firstIndex();
  while (index <= last) {
    const chunk = storage.entries(index, last + 1, 1 << 20);
    if (chunk === undefined) {
      await storage.loadsSettled();
      continue;
    }
    for (const entry of chunk) {
      const expected = crashEntry(index);
      const same = entry.index === index && entry.term === expected.term && Buffer.from(entry.data).equals(expected.data);
      if (!same || storage.term(index) !== expected.term) return index;
      index++;
    }
  }
  return null;
}

async function check(location) {
  try {
    const storage = await LevelStorage.open({ location, nodeId: 'n1' });
    try {
      const summary = { firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), hardState: storage.initialState().hardState };
      return { outcome: 'opened', ...summary, wrongEntry: await findWrongEntry(storage) };
    } finally {
      await storage.close();
    }
  } catch (error) {
    if (error?.code === undefined) throw error;
    return { outcome: 'refused', code: error.code, key: error.key ?? null, message: error.message };
  }
}

for (const location of process.argv.slice(2)) {
  process.stdout.write(`${JSON.stringify({ location, ...(await check(location)) })}\n`);
}
