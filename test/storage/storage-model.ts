/**
 * A deliberately naive model of a node's log (an array after a snapshot) and
 * the fast-check commands that drive LevelStorage and the model side by side.
 * Each command computes its concrete arguments from the model when it runs, so
 * the generated values (offsets, sizes, bumps) stay valid after shrinking.
 */
import * as fc from 'fast-check';
import { expect } from 'vitest';
import { entrySizeBytes, EMPTY_HARD_STATE } from '../../src/core/types.js';
import type { Entry, HardState, Index, SnapshotMeta, Term } from '../../src/core/types.js';
import { CompactedError, InvalidArgumentError, SnapshotOutOfDateError } from '../../src/errors.js';
import { LevelStorage } from '../../src/storage/level.js';
import type { LevelStorageOptions } from '../../src/storage/level.js';
import { plain, readEntries } from './log-builders.js';

/** The model: a snapshot position, the entries after it, a hard state. */
export interface LogModel {
  snapshot: SnapshotMeta;
  entries: Entry[];
  hardState: HardState;
}

/** The system under test, replaced whole on reopen. */
export interface RealStorage {
  storage: LevelStorage;
  readonly options: LevelStorageOptions;
}

type StorageCommand = fc.AsyncCommand<LogModel, RealStorage>;

/** An empty model. */
export function emptyModel(): LogModel {
  return { snapshot: { index: 0, term: 0, membership: { voters: [] } }, entries: [], hardState: EMPTY_HARD_STATE };
}

function lastIndex(model: LogModel): Index {
  return model.snapshot.index + model.entries.length;
}

function termAt(model: LogModel, index: Index): Term {
  if (index === model.snapshot.index) return model.snapshot.term;
  return model.entries[index - model.snapshot.index - 1]!.term;
}

/** Compares everything cheap to read: positions, hard state, snapshot meta. */
function checkPositions(model: LogModel, real: RealStorage): void {
  const storage = real.storage;
  expect(storage.firstIndex()).toBe(model.snapshot.index + 1);
  expect(storage.lastIndex()).toBe(lastIndex(model));
  expect(storage.initialState().hardState).toEqual(model.hardState);
  expect(storage.snapshotMeta()).toMatchObject({ index: model.snapshot.index, term: model.snapshot.term });
}

/** Parameters of one append; the concrete indexes come from the model at run time. */
export interface AppendPlan {
  /** How far before `lastIndex + 1` the append starts (clamped to just after the snapshot). */
  readonly back: number;
  readonly count: number;
  /** Added to the term before the first new entry; later entries may bump again. */
  readonly termBumps: readonly number[];
  readonly sizeBytes: number;
  /** Mixed into the payload so that a rewrite in the same term has different bytes. */
  readonly salt: number;
  /** The hard state to write with the entries; its commit is `commitPercent` % of the last index after the append. */
  readonly hardState: HardStatePlan | null;
}

/** A hard state whose commit is chosen relative to the log, so that it stays meaningful after shrinking. */
export interface HardStatePlan {
  readonly term: Term;
  readonly vote: string | null;
  readonly commitPercent: number;
}

function planEntries(model: LogModel, plan: AppendPlan): Entry[] {
  const start = Math.max(model.snapshot.index + 1, lastIndex(model) + 1 - plan.back);
  let term = Math.max(1, termAt(model, start - 1));
  const entries: Entry[] = [];
  for (let i = 0; i < plan.count; i++) {
    term += plan.termBumps[i % plan.termBumps.length] ?? 0;
    const data = new Uint8Array(plan.sizeBytes).map((_, j) => (start + i + term * 3 + plan.salt + j) & 0xff);
    entries.push({ index: start + i, term, type: 'normal', data });
  }
  return entries;
}

function applyAppend(model: LogModel, entries: readonly Entry[], hardState: HardState | null): void {
  const first = entries[0];
  if (first !== undefined) {
    model.entries.length = first.index - model.snapshot.index - 1;
    model.entries.push(...entries);
  }
  if (hardState !== null) model.hardState = hardState;
}

function planHardState(plan: HardStatePlan | null, lastAfter: Index): HardState | null {
  if (plan === null) return null;
  return { term: plan.term, vote: plan.vote, commit: Math.floor((lastAfter * plan.commitPercent) / 100) };
}

class AppendCommand implements StorageCommand {
  constructor(private readonly plans: readonly AppendPlan[]) {}
  check(): boolean {
    return true;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    // Several appends without awaiting in between: each is visible at once, and group commit may merge them.
    const writes: Promise<void>[] = [];
    for (const plan of this.plans) {
      const entries = planEntries(model, plan);
      const lastAfter = entries[entries.length - 1]?.index ?? lastIndex(model);
      const hardState = planHardState(plan.hardState, lastAfter);
      const write = real.storage.append(entries, hardState ?? undefined);
      if ((hardState ?? model.hardState).commit > lastAfter) {
        // A truncation below the commit index would drop committed entries: refused, nothing changes.
        writes.push(expect(write).rejects.toBeInstanceOf(InvalidArgumentError));
      } else {
        writes.push(write);
        applyAppend(model, entries, hardState);
      }
      checkPositions(model, real);
    }
    await Promise.all(writes);
    checkPositions(model, real);
  }
  toString(): string {
    return `append(${JSON.stringify(this.plans.map((p) => [p.back, p.count, p.termBumps, p.sizeBytes, p.salt, p.hardState]))})`;
  }
}

class SnapshotCommand implements StorageCommand {
  constructor(private readonly ahead: number, private readonly matching: boolean) {}
  check(): boolean {
    return true;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    const index = model.snapshot.index + this.ahead;
    const inLog = index <= lastIndex(model);
    const term = inLog && this.matching ? termAt(model, index) : (inLog ? termAt(model, index) : model.snapshot.term) + 1;
    const meta = { index, term, membership: { voters: ['n1', `v${index}`] } };
    const matches = inLog && term === termAt(model, index);
    if (!matches && model.hardState.commit > index) {
      // A conflicting snapshot below the commit index would drop committed entries: refused.
      await expect(real.storage.saveSnapshot(meta)).rejects.toBeInstanceOf(InvalidArgumentError);
      checkPositions(model, real);
      return;
    }
    await real.storage.saveSnapshot(meta);
    model.entries = matches ? model.entries.slice(index - model.snapshot.index) : [];
    model.snapshot = meta;
    checkPositions(model, real);
    expect(real.storage.snapshotMeta()).toEqual(meta);
  }
  toString(): string {
    return `snapshot(+${this.ahead}, ${this.matching ? 'matching' : 'conflicting'})`;
  }
}

class InvalidWriteCommand implements StorageCommand {
  check(): boolean {
    return true;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    const gap = lastIndex(model) + 2;
    await expect(real.storage.append([{ index: gap, term: 99, type: 'normal', data: new Uint8Array(1) }]))
      .rejects.toBeInstanceOf(InvalidArgumentError);
    if (model.snapshot.index > 0) {
      const older = { ...model.snapshot, index: model.snapshot.index - 1 };
      await expect(real.storage.saveSnapshot(older)).rejects.toBeInstanceOf(SnapshotOutOfDateError);
    }
    checkPositions(model, real);
  }
  toString(): string {
    return 'invalidWrites';
  }
}

class ReadRangeCommand implements StorageCommand {
  constructor(private readonly lowOffset: number, private readonly length: number, private readonly maxBytes: number) {}
  check(model: LogModel): boolean {
    return model.entries.length > 0;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    const low = model.snapshot.index + 1 + (this.lowOffset % model.entries.length);
    const high = Math.min(lastIndex(model) + 1, low + 1 + this.length);
    const storage = real.storage;
    const result = await readEntries(storage, low, high, this.maxBytes, () => storage.loadsSettled());
    const expected = model.entries.slice(low - model.snapshot.index - 1, high - model.snapshot.index - 1);
    // At least one entry; a prefix of the range; within maxBytes unless it is the single first entry.
    expect(result.length).toBeGreaterThanOrEqual(1);
    expect(plain(result)).toEqual(plain(expected.slice(0, result.length)));
    const bytes = result.reduce((sum, e) => sum + entrySizeBytes(e), 0);
    if (result.length > 1) expect(bytes).toBeLessThanOrEqual(this.maxBytes);
  }
  toString(): string {
    return `read(+${this.lowOffset}, len ${this.length}, ${this.maxBytes} B)`;
  }
}

class ReadTermsCommand implements StorageCommand {
  check(): boolean {
    return true;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    const storage = real.storage;
    for (let index = model.snapshot.index; index <= lastIndex(model); index++) expect(storage.term(index)).toBe(termAt(model, index));
    if (model.snapshot.index > 0) expect(() => storage.term(model.snapshot.index - 1)).toThrow(CompactedError);
    expect(() => storage.term(lastIndex(model) + 1)).toThrow(InvalidArgumentError);
    return Promise.resolve();
  }
  toString(): string {
    return 'readTerms';
  }
}

class ReopenCommand implements StorageCommand {
  check(): boolean {
    return true;
  }
  async run(model: LogModel, real: RealStorage): Promise<void> {
    await real.storage.close();
    real.storage = await LevelStorage.open(real.options);
    checkPositions(model, real);
  }
  toString(): string {
    return 'closeAndReopen';
  }
}

const hardStateArbitrary: fc.Arbitrary<HardStatePlan> = fc.record({
  term: fc.nat(50),
  vote: fc.option(fc.constantFrom('n1', 'n2', 'n3'), { nil: null }),
  commitPercent: fc.nat(100),
});

const appendPlanArbitrary: fc.Arbitrary<AppendPlan> = fc.record({
  back: fc.oneof(fc.constant(0), fc.nat(8)),
  count: fc.nat(12),
  termBumps: fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.nat(3)), { minLength: 1, maxLength: 4 }),
  sizeBytes: fc.oneof(fc.nat(40), fc.nat(3000)),
  salt: fc.nat(255),
  hardState: fc.option(hardStateArbitrary, { nil: null }),
});

/** Every command the model test draws from, weighted towards appends. */
export const storageCommands: fc.Arbitrary<StorageCommand>[] = [
  fc.array(appendPlanArbitrary, { minLength: 1, maxLength: 1 }).map((plans) => new AppendCommand(plans)),
  fc.array(appendPlanArbitrary, { minLength: 1, maxLength: 4 }).map((plans) => new AppendCommand(plans)),
  fc.tuple(fc.nat(12), fc.boolean()).map(([ahead, matching]) => new SnapshotCommand(ahead, matching)),
  fc.constant(new InvalidWriteCommand()),
  fc.tuple(fc.nat(1000), fc.nat(30), fc.oneof(fc.constant(0), fc.nat(4096))).map(([low, length, bytes]) => new ReadRangeCommand(low, length, bytes)),
  fc.constant(new ReadTermsCommand()),
  fc.constant(new ReopenCommand()),
];
