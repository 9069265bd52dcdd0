/**
 * LevelStorage against its ceilings, measured side by side in one run on the
 * same disk:
 *   - synced appends of 128-byte entries in batches of 1, 16, 256 and 1024,
 *     against raw `level` batches of the same keys and payloads (no record
 *     envelope, no term runs, no hard state): the ratio is what Keel's layer costs;
 *   - group commit: many single-entry appends in flight at once;
 *   - open of a large log (1,000,000 entries; 100,000 with `quick`) against a
 *     raw iteration over every record of the same database;
 *   - reads from the tail cache and loads of older ranges;
 *   - process memory before and after, with the caches' own byte counts.
 * Targets (docs/benchmarks.md): ≥ 85 % of raw at batch ≥ 256; open ≤ 5 % of a full scan.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { Entry } from '../src/core/types.js';
import { entrySizeBytes } from '../src/core/types.js';
import { entryKey } from '../src/storage/level-keys.js';
import { LevelStorage } from '../src/storage/level.js';
import type { LevelStorageStats } from '../src/storage/level.js';

/** One batch size of the synced-append comparison. */
export interface AppendRow {
  readonly batchEntries: number;
  readonly batches: number;
  /** Entries per second through `LevelStorage.append` (one synced batch per call, awaited in turn). */
  readonly levelStorageEntriesPerSecond: number;
  /** Entries per second through raw `level` synced batches of the same keys and payloads. */
  readonly rawEntriesPerSecond: number;
  /** levelStorage / raw. */
  readonly ratio: number;
}

/** Many appends in flight at once, merged by group commit. */
export interface GroupCommitResult {
  readonly appendsInFlight: number;
  readonly appends: number;
  readonly batchesWritten: number;
  readonly entriesPerSecond: number;
  /** Single-entry appends per second when each is awaited before the next (batch 1 row above). */
  readonly sequentialEntriesPerSecond: number;
}

/** Opening a large log against reading all of it. */
export interface OpenResult {
  readonly entries: number;
  /** Median of the runs. */
  readonly openMilliseconds: number;
  readonly fullScanMilliseconds: number;
  /** LevelDB's own open of the same database through raw `level` (median): the floor under Keel's open. */
  readonly levelOpenMilliseconds: number;
  /** open / full scan. */
  readonly ratio: number;
  readonly tailEntriesLoadedAtOpen: number;
}

/** Reads through `entries()`. */
export interface ReadResult {
  readonly tailEntriesPerSecond: number;
  readonly tailMegabytesPerSecond: number;
  /** Older entries loaded on demand (entries() then loadsSettled()). */
  readonly coldEntriesPerSecond: number;
}

/** A `process.memoryUsage()` sample, in MiB. */
export interface MemorySample {
  readonly label: string;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
}

/** Everything {@link benchStorage} measures. */
export interface StorageBenchResult {
  readonly payloadBytes: number;
  readonly appends: readonly AppendRow[];
  readonly groupCommit: GroupCommitResult;
  readonly open: OpenResult;
  readonly reads: ReadResult;
  readonly memory: readonly MemorySample[];
  /** Cache sizes after the reads: they must stay within the configured budgets. */
  readonly cacheStats: LevelStorageStats;
}

const PAYLOAD_BYTES = 128;
const BATCH_SIZES = [1, 16, 256, 1024] as const;
/** Batches of each side not counted, per batch size. */
const WARMUP_BATCHES = 5;
const OPEN_RUNS = 5;

/** Runs the storage benchmark, logging a table as it goes, and returns the numbers. */
export async function benchStorage(options: { quick: boolean; log: (line: string) => void }): Promise<StorageBenchResult> {
  const { quick, log } = options;
  const workDir = await mkdtemp(join(tmpdir(), 'keel-bench-storage-'));
  try {
    const memory: MemorySample[] = [sampleMemory('start')];
    const appends = await benchAppends(workDir, quick, log);
    const groupCommit = await benchGroupCommit(workDir, quick, appends[0]!.levelStorageEntriesPerSecond, log);
    const logEntries = quick ? 100_000 : 1_000_000;
    const location = join(workDir, 'large');
    await buildLargeLog(location, logEntries, log);
    memory.push(sampleMemory(`after writing ${logEntries.toLocaleString('en-US')} entries`));
    const open = await benchOpen(location, logEntries, log);
    const { reads, cacheStats } = await benchReads(location, quick, log);
    memory.push(sampleMemory('after open and reads'));
    log('memory            rss MiB  heapUsed MiB');
    for (const sample of memory) log(`${sample.label.padEnd(34)} ${sample.rssMiB.toFixed(1).padStart(7)}  ${sample.heapUsedMiB.toFixed(1).padStart(7)}`);
    log(`caches after reads: tail ${cacheStats.tailBytes} B (${cacheStats.tailEntries} entries), loaded ${cacheStats.loadedBytes} B in ${cacheStats.loadedSegments} segments`);
    return { payloadBytes: PAYLOAD_BYTES, appends, groupCommit, open, reads, memory, cacheStats };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function makeEntries(first: number, count: number): Entry[] {
  // A Buffer (a Uint8Array) so that the raw side can hand the same payload to level without conversion.
  const data = Buffer.alloc(PAYLOAD_BYTES, first & 0xff);
  return Array.from({ length: count }, (_, i) => ({ index: first + i, term: 1, type: 'normal' as const, data }));
}

async function benchAppends(workDir: string, quick: boolean, log: (line: string) => void): Promise<AppendRow[]> {
  log(`synced appends of ${PAYLOAD_BYTES}-byte entries, LevelStorage vs raw level batches (interleaved batch by batch)`);
  log('batch  batches  LevelStorage entries/s  raw entries/s  ratio');
  const rows: AppendRow[] = [];
  for (const batchEntries of BATCH_SIZES) {
    const batches = Math.max(20, Math.round((quick ? 2_000 : 10_000) / Math.sqrt(batchEntries)));
    const row = await compareAppends(workDir, batchEntries, batches);
    rows.push(row);
    log(`${pad(batchEntries, 5)}  ${pad(row.batches, 7)}  ${pad(Math.round(row.levelStorageEntriesPerSecond), 22)}  ${pad(Math.round(row.rawEntriesPerSecond), 13)}  ${row.ratio.toFixed(2)}`);
  }
  return rows;
}

/**
 * Times `batches` synced appends through LevelStorage and as many raw batches,
 * alternating one of each: the latency of a shared VM disk swings by 2x within
 * seconds, and alternating exposes both sides to the same swings.
 */
async function compareAppends(workDir: string, batchEntries: number, batches: number): Promise<AppendRow> {
  const storage = await LevelStorage.open({ location: join(workDir, `append-${batchEntries}`), nodeId: 'bench' });
  const raw = new Level<Buffer, Buffer>(join(workDir, `raw-${batchEntries}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.open();
  let storageSeconds = 0;
  let rawSeconds = 0;
  // The first WARMUP_BATCHES of each side are not counted: they pay for JIT compilation and file creation.
  for (let batch = -WARMUP_BATCHES; batch < batches; batch++) {
    const first = (batch + WARMUP_BATCHES) * batchEntries + 1;
    const entries = makeEntries(first, batchEntries);
    const storageTime = await timeSeconds(() => storage.append(entries, { term: 1, vote: 'bench', commit: first - 1 }));
    const rawTime = await timeSeconds(() => writeRaw(raw, entries));
    if (batch >= 0) {
      storageSeconds += storageTime;
      rawSeconds += rawTime;
    }
  }
  await storage.close();
  await raw.close();
  const total = batches * batchEntries;
  return {
    batchEntries,
    batches,
    levelStorageEntriesPerSecond: total / storageSeconds,
    rawEntriesPerSecond: total / rawSeconds,
    ratio: rawSeconds / storageSeconds,
  };
}

/**
 * The ceiling: the same entries' keys and payloads in one synced batch,
 * without Keel's records, term runs or hard state. It uses the chained-batch
 * form, the cheaper of level's two batch APIs and the one LevelStorage uses,
 * so that the ratio measures Keel's layer and not a choice of API.
 */
async function writeRaw(raw: Level<Buffer, Buffer>, entries: readonly Entry[]): Promise<void> {
  const batch = raw.batch();
  for (const entry of entries) batch.put(entryKey(entry.index), entry.data as Buffer);
  await batch.write({ sync: true });
}

async function benchGroupCommit(workDir: string, quick: boolean, sequential: number, log: (line: string) => void): Promise<GroupCommitResult> {
  const appendsInFlight = 64;
  const appends = quick ? 4_000 : 20_000;
  const storage = await LevelStorage.open({ location: join(workDir, 'group-commit'), nodeId: 'bench' });
  const seconds = await timeSeconds(async () => {
    const inFlight = new Set<Promise<void>>();
    for (let index = 1; index <= appends; index++) {
      const write = storage.append(makeEntries(index, 1)).then(() => void inFlight.delete(write));
      inFlight.add(write);
      if (inFlight.size >= appendsInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  });
  const batchesWritten = storage.stats().batches;
  await storage.close();
  const result = { appendsInFlight, appends, batchesWritten, entriesPerSecond: appends / seconds, sequentialEntriesPerSecond: sequential };
  log(`group commit: ${appends} single-entry appends, ${appendsInFlight} in flight: ${Math.round(result.entriesPerSecond)} entries/s ` +
    `in ${batchesWritten} synced batches (${(appends / batchesWritten).toFixed(1)} appends per fsync); awaited one by one: ${Math.round(sequential)} entries/s`);
  return result;
}

async function buildLargeLog(location: string, entries: number, log: (line: string) => void): Promise<void> {
  const storage = await LevelStorage.open({ location, nodeId: 'bench' });
  const batch = 10_000;
  const seconds = await timeSeconds(async () => {
    for (let first = 1; first <= entries; first += batch) await storage.append(makeEntries(first, Math.min(batch, entries - first + 1)));
  });
  await storage.close();
  // Replay LevelDB's write-ahead log into tables and compact them now, so that
  // no measured open or scan pays for (or competes with) LevelDB's own
  // housekeeping: both then read the same settled database.
  const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.open();
  // `level` resolves to classic-level on Node, whose compactRange its shared typings leave out.
  await (raw as unknown as { compactRange(start: Buffer, end: Buffer): Promise<void> }).compactRange(Buffer.from([0x00]), Buffer.from([0xff]));
  await raw.close();
  log(`built a ${entries.toLocaleString('en-US')}-entry log in ${seconds.toFixed(1)} s`);
}

async function benchOpen(location: string, entries: number, log: (line: string) => void): Promise<OpenResult> {
  const openTimes: number[] = [];
  const scanTimes: number[] = [];
  const levelOpenTimes: number[] = [];
  let tailEntriesLoadedAtOpen = 0;
  for (let run = 0; run < OPEN_RUNS; run++) {
    let storage: LevelStorage | undefined;
    openTimes.push(await timeSeconds(async () => {
      storage = await LevelStorage.open({ location, nodeId: 'bench' });
    }) * 1000);
    if (storage!.lastIndex() !== entries) throw new Error(`open found lastIndex ${storage!.lastIndex()}, expected ${entries}`);
    tailEntriesLoadedAtOpen = storage!.stats().tailEntries;
    await storage!.close();
    scanTimes.push(await timeSeconds(() => fullScan(location, entries)) * 1000);
    levelOpenTimes.push(await timeLevelOpen(location));
  }
  const openMilliseconds = median(openTimes);
  const fullScanMilliseconds = median(scanTimes);
  const levelOpenMilliseconds = median(levelOpenTimes);
  const result = { entries, openMilliseconds, fullScanMilliseconds, levelOpenMilliseconds, ratio: openMilliseconds / fullScanMilliseconds, tailEntriesLoadedAtOpen };
  log(`open of ${entries.toLocaleString('en-US')} entries: ${openMilliseconds.toFixed(1)} ms (tail of ${tailEntriesLoadedAtOpen} entries) ` +
    `vs full scan ${fullScanMilliseconds.toFixed(1)} ms: ${(result.ratio * 100).toFixed(1)} % (median of ${OPEN_RUNS}); ` +
    `LevelDB's own open ${levelOpenMilliseconds.toFixed(1)} ms (${(levelOpenMilliseconds / fullScanMilliseconds * 100).toFixed(1)} %)`);
  return result;
}

/** Milliseconds for LevelDB alone to open the database (closed again untimed). */
async function timeLevelOpen(location: string): Promise<number> {
  const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const seconds = await timeSeconds(() => raw.open());
  await raw.close();
  return seconds * 1000;
}

/**
 * Opens the database raw and iterates over every record, as an open that
 * scanned the log would (without decoding anything). Entries are stored in
 * blocks, so the check is on bytes: every entry's payload must have been read.
 */
async function fullScan(location: string, entries: number): Promise<void> {
  const raw = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await raw.open();
  let bytes = 0;
  const iterator = raw.iterator();
  for (let chunk = await iterator.nextv(1024); chunk.length > 0; chunk = await iterator.nextv(1024)) {
    for (const [, value] of chunk) bytes += value.byteLength;
  }
  await iterator.close();
  await raw.close();
  if (bytes < entries * PAYLOAD_BYTES) throw new Error(`full scan read ${bytes} bytes, expected at least ${entries * PAYLOAD_BYTES}`);
}

async function benchReads(location: string, quick: boolean, log: (line: string) => void): Promise<{ reads: ReadResult; cacheStats: LevelStorageStats }> {
  const storage = await LevelStorage.open({ location, nodeId: 'bench' });
  const last = storage.lastIndex();
  const tailStart = last - storage.stats().tailEntries + 1;
  let tailEntries = 0;
  let tailBytes = 0;
  const tailSeconds = await timeSeconds(() => {
    for (let pass = 0; pass < (quick ? 20 : 100); pass++) {
      for (let low = tailStart; low <= last;) {
        const chunk = storage.entries(low, last + 1, 64 * 1024)!;
        for (const entry of chunk) tailBytes += entrySizeBytes(entry);
        tailEntries += chunk.length;
        low += chunk.length;
      }
    }
    return Promise.resolve();
  });
  const coldCount = Math.min(quick ? 20_000 : 100_000, tailStart - 1);
  const coldSeconds = await timeSeconds(async () => {
    for (let low = 1; low <= coldCount;) {
      const chunk = storage.entries(low, coldCount + 1, 256 * 1024);
      if (chunk === undefined) await storage.loadsSettled();
      else low += chunk.length;
    }
  });
  const cacheStats = storage.stats();
  await storage.close();
  const reads = {
    tailEntriesPerSecond: tailEntries / tailSeconds,
    tailMegabytesPerSecond: tailBytes / tailSeconds / 1024 / 1024,
    coldEntriesPerSecond: coldCount / coldSeconds,
  };
  log(`tail reads: ${Math.round(reads.tailEntriesPerSecond).toLocaleString('en-US')} entries/s (${reads.tailMegabytesPerSecond.toFixed(0)} MiB/s); ` +
    `older entries loaded on demand: ${Math.round(reads.coldEntriesPerSecond).toLocaleString('en-US')} entries/s`);
  return { reads, cacheStats };
}

async function timeSeconds(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

function sampleMemory(label: string): MemorySample {
  const usage = process.memoryUsage();
  return { label, rssMiB: usage.rss / 1024 / 1024, heapUsedMiB: usage.heapUsed / 1024 / 1024 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width);
}
