/**
 * What {@link LevelStorage.open} reads, and every check it makes before the
 * storage is handed out. Nothing here writes: a failed check leaves the
 * database exactly as it was.
 *
 * Open reads a bounded amount, never the whole log: the storage meta, the two
 * newest versions of the hard state and of the snapshot meta,
 * the term-run table (one record per term change), the copies of the
 * configuration entries (one record per configuration change), the tail of the log through
 * a reverse iterator bounded in bytes, a handful of probes of older entries
 * and one key below the first index (left-over compacted entries).
 *
 * @packageDocumentation
 */
import { entrySizeBytes } from '../core/types.js';
import type { Entry, HardState, Index, SnapshotMeta } from '../core/types.js';
import { CorruptionError } from '../errors.js';
import { getValue, scanRange } from './level-db.js';
import { blockAt, decodeBlock, entriesWithin } from './entry-blocks.js';
import type { LevelDb } from './level-db.js';
import {
  CONFIG_RANGE_END, CONFIG_RANGE_START, ENTRY_RANGE_END, ENTRY_RANGE_START, entryKey, HARD_STATE_PREFIX, isConfigKey,
  isEntryKey, isTermRunKey, keyIndex, keyName, META_KEY, SNAPSHOT_PREFIX, TERM_RUN_RANGE_END, TERM_RUN_RANGE_START,
} from './level-keys.js';
import {
  decodeConfigEntry, decodeHardState, decodeSnapshotMeta, decodeStorageMeta, decodeTermRun, READABLE_FORMAT_VERSIONS,
} from './level-records.js';
import type { StorageMeta, TermRun } from './level-records.js';
import { readVersionedRecord } from './versioned-record.js';

/** Who the caller expects the storage to belong to. */
export interface ExpectedIdentity {
  readonly nodeId: string;
  /** When undefined, the stored cluster id is not checked. */
  readonly clusterId: string | undefined;
}

/** Everything open learns from a non-empty database, already validated. */
export interface StoredState {
  readonly meta: StorageMeta;
  readonly hardState: HardState;
  /** Version number of the stored hard state (see versioned-record.ts). */
  readonly hardStateVersion: number;
  /** The stored snapshot meta, or null when none was ever saved. */
  readonly snapshot: SnapshotMeta | null;
  /** Version number of the stored snapshot meta. */
  readonly snapshotVersion: number;
  readonly runs: readonly TermRun[];
  /** Every configuration entry of the log, in index order (from the `c` keys; none before format 3). */
  readonly configs: readonly Entry[];
  readonly lastIndex: Index;
  /** The newest entries, ascending and ending at `lastIndex`; bounded by the tail budget. */
  readonly tail: readonly Entry[];
  /** The lowest entry index still on disk below the first index (compacted, not yet cleared), or null. */
  readonly garbageFloor: Index | null;
}

/**
 * Reads and validates the stored state. Returns null for an empty database
 * (no meta record and no other key). Throws {@link CorruptionError} naming the
 * key for anything damaged, missing or belonging to another node or cluster.
 */
export async function readStoredState(db: LevelDb, expected: ExpectedIdentity, tailBytesMax: number): Promise<StoredState | null> {
  // The reads that do not depend on each other run at once: each is a round
  // trip to LevelDB's thread, and their latency, not their work, is most of
  // what open costs. Failures are reported in this order, as if sequential.
  const [meta, hardState, snapshotRecord, runs, configs] = await settledInOrder([
    readMeta(db, expected),
    readVersionedRecord(db, HARD_STATE_PREFIX, decodeHardState, 'hardState'),
    readVersionedRecord(db, SNAPSHOT_PREFIX, decodeSnapshotMeta, 'snapshot'),
    readTermRuns(db),
    readConfigEntries(db),
  ] as const, (results) => results[0].status === 'fulfilled' && results[0].value === null);
  if (meta === null) return null;
  const snapshot = snapshotRecord.value;
  const firstIndex = (snapshot?.index ?? 0) + 1;
  const [{ entries: tail, lastIndex }, garbageFloor] = await settledInOrder([
    readTail(db, firstIndex, tailBytesMax),
    findGarbageFloor(db, firstIndex),
  ] as const);
  if (hardState.value.commit > lastIndex) {
    // Writes never leave commit past the log (LevelStorage refuses them), so entries were lost.
    throw new CorruptionError(`entry:${lastIndex + 1}`, `missing: the hard state commits up to ${hardState.value.commit}, but the log ends at ${lastIndex}`);
  }
  checkTermRuns(runs, firstIndex, lastIndex);
  checkTailTerms(tail, runs);
  checkConfigEntries(configs, runs, tail, firstIndex, lastIndex);
  const tailStart = tail[0]?.index ?? lastIndex + 1;
  await probeColdEntries(db, runs, firstIndex, tailStart);
  return {
    meta,
    hardState: hardState.value,
    hardStateVersion: hardState.version,
    snapshot,
    snapshotVersion: snapshotRecord.version,
    runs,
    configs,
    lastIndex,
    tail,
    garbageFloor,
  };
}

/**
 * Waits for every read, then returns their values or throws the error of the
 * first one (in list order) that failed, so the error open reports does not
 * depend on which read finished first. When `stopEarly` holds for the
 * settled results (an empty database), the values are returned without
 * looking at the others' failures.
 */
async function settledInOrder<T extends readonly unknown[]>(
  reads: { readonly [K in keyof T]: Promise<T[K]> },
  stopEarly: (results: { readonly [K in keyof T]: PromiseSettledResult<T[K]> }) => boolean = () => false,
): Promise<T> {
  const results = (await Promise.allSettled(reads)) as unknown as { readonly [K in keyof T]: PromiseSettledResult<T[K]> };
  if (stopEarly(results)) return results.map((result) => (result.status === 'fulfilled' ? result.value : undefined)) as unknown as T;
  for (const result of results as readonly PromiseSettledResult<unknown>[]) {
    if (result.status === 'rejected') throw result.reason;
  }
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

async function readMeta(db: LevelDb, expected: ExpectedIdentity): Promise<StorageMeta | null> {
  const value = await getValue(db, META_KEY);
  if (value === undefined) {
    await checkEmpty(db);
    return null;
  }
  const meta = decodeStorageMeta(value);
  const label = keyName(META_KEY);
  if (!READABLE_FORMAT_VERSIONS.includes(meta.formatVersion)) {
    throw new CorruptionError(label, `unknown storage format version ${meta.formatVersion} (this build reads ${READABLE_FORMAT_VERSIONS.join(' and ')})`);
  }
  if (meta.nodeId !== expected.nodeId) {
    throw new CorruptionError(label, `storage belongs to node ${JSON.stringify(meta.nodeId)}, not ${JSON.stringify(expected.nodeId)}`);
  }
  if (expected.clusterId !== undefined && meta.clusterId !== expected.clusterId) {
    throw new CorruptionError(label, `storage belongs to cluster ${JSON.stringify(meta.clusterId)}, not ${JSON.stringify(expected.clusterId)}`);
  }
  return meta;
}

/** A database without a meta record must hold nothing at all: otherwise the meta record was lost. */
async function checkEmpty(db: LevelDb): Promise<void> {
  let found: Buffer | undefined;
  await scanRange(db, { limit: 1 }, (key) => {
    found = key;
    return false;
  });
  if (found !== undefined) {
    throw new CorruptionError(keyName(META_KEY), `storage meta is missing, but the database holds ${keyName(found)}`);
  }
}

async function readTermRuns(db: LevelDb): Promise<TermRun[]> {
  const runs: TermRun[] = [];
  await scanRange(db, { gte: TERM_RUN_RANGE_START, lt: TERM_RUN_RANGE_END }, (key, value) => {
    if (!isTermRunKey(key)) throw new CorruptionError(keyName(key), 'malformed term-run key');
    runs.push(decodeTermRun(key, value, keyIndex(key)));
    return true;
  });
  return runs;
}

async function readConfigEntries(db: LevelDb): Promise<Entry[]> {
  const configs: Entry[] = [];
  await scanRange(db, { gte: CONFIG_RANGE_START, lt: CONFIG_RANGE_END }, (key, value) => {
    if (!isConfigKey(key)) throw new CorruptionError(keyName(key), 'malformed configuration-entry key');
    configs.push(decodeConfigEntry(key, value, keyIndex(key)));
    return true;
  });
  return configs;
}

/**
 * The configuration entries must lie in the log, with the term the term runs
 * give their index, and match the tail's entry where the tail holds it. Every
 * write that removes an entry removes its copy in the same batch, so a copy
 * outside the log or unlike the entry is damage, not a left-over.
 */
function checkConfigEntries(configs: readonly Entry[], runs: readonly TermRun[], tail: readonly Entry[], firstIndex: Index, lastIndex: Index): void {
  const tailStart = tail[0]?.index ?? lastIndex + 1;
  let runPosition = 0;
  for (const config of configs) {
    const label = `config:${config.index}`;
    if (config.index < firstIndex || config.index > lastIndex) {
      throw new CorruptionError(label, `configuration entry lies outside the log ${firstIndex}..${lastIndex}`);
    }
    while (runPosition + 1 < runs.length && runs[runPosition + 1]!.start <= config.index) runPosition++;
    const term = runs[runPosition]?.term;
    if (config.term !== term) throw new CorruptionError(label, `configuration entry has term ${config.term}, but the term runs say ${String(term)}`);
    const logged = config.index >= tailStart ? tail[config.index - tailStart] : undefined;
    if (logged !== undefined && (logged.type !== 'config' || !Buffer.from(logged.data).equals(config.data))) {
      throw new CorruptionError(label, `configuration entry differs from entry ${config.index} of the log`);
    }
  }
}

/** The newest entries and where the log ends. */
interface Tail {
  /** Ascending, ending at `lastIndex`; bounded by the tail budget. */
  readonly entries: Entry[];
  readonly lastIndex: Index;
}

/**
 * Reads the newest blocks backwards from the last one until `tailBytesMax`
 * bytes of entries are read or the block holding `firstIndex` is reached.
 * The last block ends the log (an empty one ends it just before its key); each
 * block below supplies entries up to the next block's key, and must reach it:
 * a gap is a hole in the log. The log ends at `firstIndex - 1` at the least
 * (a snapshot past every stored entry).
 */
async function readTail(db: LevelDb, firstIndex: Index, tailBytesMax: number): Promise<Tail> {
  const descending: Entry[] = [];
  let bytes = 0;
  let lastIndex = firstIndex - 1;
  /** The lowest index read so far: blocks below supply entries up to `above - 1`. */
  let above: Index | null = null;
  await scanRange(db, { gte: ENTRY_RANGE_START, lt: ENTRY_RANGE_END, reverse: true }, (key, value) => {
    const { first, entries } = decodeBlock(key, value);
    const end = first + entries.length - 1;
    if (above === null) {
      lastIndex = Math.max(end, firstIndex - 1);
      above = lastIndex + 1;
    } else if (end < above - 1 && above - 1 >= firstIndex) {
      throw new CorruptionError(`entry:${end + 1}`, `missing: hole in the log between ${end} and ${above}`);
    }
    for (let index = Math.min(end, above - 1); index >= Math.max(first, firstIndex); index--) {
      const entry = entries[index - first]!;
      descending.push(entry);
      bytes += entrySizeBytes(entry);
    }
    above = Math.min(above, first);
    return bytes < tailBytesMax && first > firstIndex;
  });
  // Blocks are read whole; the tail keeps only the newest entries up to the budget.
  descending.length = entriesWithin(descending, tailBytesMax);
  return { entries: descending.reverse(), lastIndex };
}

/** The run table must cover exactly `firstIndex .. lastIndex`, with a new term at every run. */
function checkTermRuns(runs: readonly TermRun[], firstIndex: Index, lastIndex: Index): void {
  const first = runs[0];
  if (lastIndex >= firstIndex && first?.start !== firstIndex) {
    throw new CorruptionError(`termRun:${firstIndex}`, `missing: no term run starts at the first index ${firstIndex} (first run: ${String(first?.start)})`);
  }
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    if (run.start < firstIndex || run.start > lastIndex) {
      throw new CorruptionError(`termRun:${run.start}`, `term run lies outside the log ${firstIndex}..${lastIndex}`);
    }
    if (i > 0 && runs[i - 1]!.term === run.term) {
      throw new CorruptionError(`termRun:${run.start}`, `term run repeats term ${run.term} of the run before it`);
    }
  }
}

function checkTailTerms(tail: readonly Entry[], runs: readonly TermRun[]): void {
  let runPosition = 0;
  for (const entry of tail) {
    while (runPosition + 1 < runs.length && runs[runPosition + 1]!.start <= entry.index) runPosition++;
    const expected = runs[runPosition]?.term;
    if (entry.term !== expected) {
      throw new CorruptionError(`entry:${entry.index}`, `entry has term ${entry.term}, but the term runs say ${String(expected)}`);
    }
  }
}

/**
 * Entries older than the tail are not read at open. Probe the first index and
 * the start of every term run below the tail: a lost key there is a hole open
 * can see cheaply. Holes elsewhere surface when that range is loaded.
 */
async function probeColdEntries(db: LevelDb, runs: readonly TermRun[], firstIndex: Index, tailStart: Index): Promise<void> {
  for (const run of runs) {
    if (run.start >= tailStart) return;
    const block = await blockAt(db, run.start);
    const entry = block?.entries[run.start - block.first];
    if (entry === undefined) {
      const where = run.start === firstIndex ? 'the first index' : `the start of term ${run.term}`;
      throw new CorruptionError(`entry:${run.start}`, `missing: hole in the log at ${where}`);
    }
    if (entry.term !== run.term) {
      throw new CorruptionError(`entry:${block!.first}`, `entry ${run.start} has term ${entry.term}, but the term run says ${run.term}`);
    }
  }
}

/** The lowest entry key below `firstIndex`: compacted garbage, or the block that holds `firstIndex` and older entries. */
async function findGarbageFloor(db: LevelDb, firstIndex: Index): Promise<Index | null> {
  let floor: Index | null = null;
  await scanRange(db, { gte: ENTRY_RANGE_START, lt: entryKey(firstIndex), limit: 1 }, (key) => {
    floor = isEntryKey(key) ? keyIndex(key) : 0;
    return false;
  });
  return floor;
}
