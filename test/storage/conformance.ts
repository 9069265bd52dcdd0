/**
 * The one storage conformance suite: every {@link LogStorage} implementation
 * runs it (memory.test.ts, level.test.ts). It pins down the contract in
 * src/storage/storage.ts; an implementation that passes it can back a node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMembership } from '../../src/confchange/encoding.js';
import { RawNode } from '../../src/core/raw-node.js';
import { entrySizeBytes, EMPTY_HARD_STATE } from '../../src/core/types.js';
import type { Entry, HardState, SnapshotMeta } from '../../src/core/types.js';
import { CompactedError, InvalidArgumentError, SnapshotOutOfDateError, StorageClosedError } from '../../src/errors.js';
import type { LogStorage } from '../../src/storage/storage.js';
import { SeededRandom } from '../../src/util/random.js';
import { entry, log, payload, plain, readAll, readEntries } from './log-builders.js';

/** How the suite makes, reopens and waits on the storage under test. */
export interface StorageHarness {
  /** A new, empty storage. */
  create(): Promise<LogStorage>;
  /** Closes `storage` and opens the same durable state again. Omitted for storages without durability. */
  reopen?(storage: LogStorage): Promise<LogStorage>;
  /** Waits for background loads started by `entries()`. Omitted when `entries()` never returns undefined. */
  settle?(storage: LogStorage): Promise<void>;
}

const HARD_STATE: HardState = { term: 3, vote: 'n2', commit: 0 };
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** Registers the conformance suite for the storage made by `harness`. */
export function describeStorageConformance(name: string, harness: StorageHarness): void {
  describe(`LogStorage conformance: ${name}`, () => {
    const open: LogStorage[] = [];

    afterEach(async () => {
      for (const storage of open.splice(0)) await storage.close();
    });

    async function create(): Promise<LogStorage> {
      const storage = await harness.create();
      open.push(storage);
      return storage;
    }

    /** Reopens when the storage is durable, so that every assertion after it also checks persistence. */
    async function reopen(storage: LogStorage): Promise<LogStorage> {
      if (harness.reopen === undefined) return storage;
      const reopened = await harness.reopen(storage);
      open.push(reopened);
      return reopened;
    }

    function read(storage: LogStorage, low: number, high: number, maxBytes = UNLIMITED): Promise<readonly Entry[]> {
      return readEntries(storage, low, high, maxBytes, harness.settle && (() => harness.settle!(storage)));
    }

    async function whole(storage: LogStorage): Promise<Entry[]> {
      return readAll(storage, harness.settle && (() => harness.settle!(storage)));
    }

    describe('empty log', () => {
      it('starts at firstIndex 1, lastIndex 0, term(0) = 0 and the empty hard state', async () => {
        const storage = await create();

        expect(storage.firstIndex()).toBe(1);
        expect(storage.lastIndex()).toBe(0);
        expect(storage.term(0)).toBe(0);
        expect(storage.entries(1, 1, UNLIMITED)).toEqual([]);
        expect(storage.initialState().hardState).toEqual(EMPTY_HARD_STATE);
        expect(storage.snapshotMeta()).toMatchObject({ index: 0, term: 0 });
      });

      it('rejects term(1) and entries(1, 2) past the end', async () => {
        const storage = await create();

        expect(() => storage.term(1)).toThrow(InvalidArgumentError);
        expect(() => storage.entries(1, 2, UNLIMITED)).toThrow(InvalidArgumentError);
      });
    });

    describe('append and read', () => {
      it('returns appended entries with their exact bytes and terms, also after reopen', async () => {
        let storage = await create();
        const entries = log(1, [1, 1, 2, 2, 3]);

        await storage.append(entries);
        storage = await reopen(storage);

        expect(storage.firstIndex()).toBe(1);
        expect(storage.lastIndex()).toBe(5);
        expect([0, 1, 2, 3, 4, 5].map((index) => storage.term(index))).toEqual([0, 1, 1, 2, 2, 3]);
        expect(plain(await read(storage, 1, 6))).toEqual(plain(entries));
        expect(plain(await read(storage, 2, 4))).toEqual(plain(entries.slice(1, 3)));
      });

      it('makes a write visible to reads before its promise resolves', async () => {
        const storage = await create();

        const first = storage.append(log(1, [1, 1]));
        const second = storage.append(log(3, [2]), HARD_STATE);

        expect(storage.lastIndex()).toBe(3);
        expect(storage.term(3)).toBe(2);
        expect(storage.initialState().hardState).toEqual(HARD_STATE);
        expect(plain(storage.entries(1, 4, UNLIMITED))).toEqual(plain(log(1, [1, 1, 2])));
        await Promise.all([first, second]);
      });

      it('limits entries() to maxBytes but always returns at least one entry', async () => {
        const storage = await create();
        const entries = log(1, [1, 1, 1, 1], 100);
        await storage.append(entries);
        const size = entrySizeBytes(entries[0]!);

        expect((await read(storage, 1, 5, 0)).length).toBe(1);
        expect((await read(storage, 1, 5, size - 1)).length).toBe(1);
        expect((await read(storage, 1, 5, 2 * size)).length).toBe(2);
        expect((await read(storage, 1, 5, 2 * size + size - 1)).length).toBe(2);
        expect((await read(storage, 1, 5, 4 * size)).length).toBe(4);
        expect((await read(storage, 2, 5, 3 * size)).map((e) => e.index)).toEqual([2, 3, 4]);
      });

      it('truncates a conflicting suffix and appends the new entries (§5.3)', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 2, 2, 2]));

        await storage.append(log(4, [3, 3, 3]));
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(6);
        expect([1, 2, 3, 4, 5, 6].map((index) => storage.term(index))).toEqual([1, 1, 2, 3, 3, 3]);
        expect(plain(await whole(storage))).toEqual(plain([...log(1, [1, 1, 2]), ...log(4, [3, 3, 3])]));
      });

      it('truncates to a shorter log when the new entries end before the old last index', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 1, 1, 1, 1]));

        await storage.append([entry(3, 2)]);
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(3);
        expect(storage.term(3)).toBe(2);
        expect(() => storage.term(4)).toThrow(InvalidArgumentError);
        expect(plain(await whole(storage))).toEqual(plain([...log(1, [1, 1]), entry(3, 2)]));
      });

      it('rewrites the entries after a truncation in the same term with new bytes', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 1]));
        const replacement = { index: 2, term: 1, type: 'normal' as const, data: Uint8Array.of(9, 9, 9) };

        await storage.append([replacement]);
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(2);
        expect(plain(await whole(storage))).toEqual(plain([entry(1, 1), replacement]));
      });
    });

    describe('hard state', () => {
      it('stores the hard state alone or with entries, and keeps it over reopen', async () => {
        let storage = await create();

        await storage.append([], HARD_STATE);
        storage = await reopen(storage);
        expect(storage.initialState().hardState).toEqual(HARD_STATE);

        const next: HardState = { term: 4, vote: null, commit: 3 };
        await storage.append(log(1, [4, 4, 4]), next);
        storage = await reopen(storage);
        expect(storage.initialState().hardState).toEqual(next);
        expect(storage.lastIndex()).toBe(3);
      });

      it('keeps the hard state when an append carries none', async () => {
        let storage = await create();
        await storage.append([], HARD_STATE);

        await storage.append(log(1, [3]));
        storage = await reopen(storage);

        expect(storage.initialState().hardState).toEqual(HARD_STATE);
      });
    });

    describe('ranges', () => {
      it('throws CompactedError below the first index and InvalidArgumentError past the end', async () => {
        const storage = await create();
        await storage.append(log(1, [1, 1, 2, 2, 2, 3]));
        await storage.saveSnapshot(snapshot(3, 2));

        expect(storage.firstIndex()).toBe(4);
        expect(storage.term(3)).toBe(2);
        expect(() => storage.term(2)).toThrow(CompactedError);
        expect(() => storage.entries(3, 5, UNLIMITED)).toThrow(CompactedError);
        expect(() => storage.entries(1, 2, UNLIMITED)).toThrow(CompactedError);
        expect(() => storage.term(7)).toThrow(InvalidArgumentError);
        expect(() => storage.entries(4, 8, UNLIMITED)).toThrow(InvalidArgumentError);
        expect(() => storage.entries(6, 5, UNLIMITED)).toThrow(InvalidArgumentError);
        expect(storage.entries(7, 7, UNLIMITED)).toEqual([]);
        expect(plain(await read(storage, 4, 7))).toEqual(plain(log(4, [2, 2, 3])));
      });

      it('rejects negative and non-integer indexes', async () => {
        const storage = await create();
        await storage.append(log(1, [1, 1]));

        expect(() => storage.term(-1)).toThrow(InvalidArgumentError);
        expect(() => storage.term(1.5)).toThrow(InvalidArgumentError);
        expect(() => storage.term(Number.NaN)).toThrow(InvalidArgumentError);
        expect(() => storage.entries(-1, 2, UNLIMITED)).toThrow(InvalidArgumentError);
        expect(() => storage.entries(1, 2.5, UNLIMITED)).toThrow(InvalidArgumentError);
      });
    });

    describe('snapshots', () => {
      it('keeps the suffix after a snapshot that matches the log (local compaction)', async () => {
        let storage = await create();
        const entries = log(1, [1, 1, 2, 2, 3, 3]);
        await storage.append(entries);

        await storage.saveSnapshot(snapshot(4, 2, ['a', 'b']));
        storage = await reopen(storage);

        expect(storage.firstIndex()).toBe(5);
        expect(storage.lastIndex()).toBe(6);
        expect(storage.term(4)).toBe(2);
        expect(storage.snapshotMeta()).toEqual(snapshot(4, 2, ['a', 'b']));
        expect(storage.initialState().membership).toEqual({ voters: ['a', 'b'] });
        expect(plain(await whole(storage))).toEqual(plain(entries.slice(4)));
      });

      it('discards the whole log when the snapshot does not match it', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 2, 2, 2, 2]));

        await storage.saveSnapshot(snapshot(4, 5));
        storage = await reopen(storage);

        expect(storage.firstIndex()).toBe(5);
        expect(storage.lastIndex()).toBe(4);
        expect(storage.term(4)).toBe(5);
        expect(() => storage.term(5)).toThrow(InvalidArgumentError);

        await storage.append(log(5, [5, 6]));
        storage = await reopen(storage);
        expect(plain(await whole(storage))).toEqual(plain(log(5, [5, 6])));
      });

      it('discards the log for a snapshot past its end', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1]));

        await storage.saveSnapshot(snapshot(10, 4));
        storage = await reopen(storage);

        expect(storage.firstIndex()).toBe(11);
        expect(storage.lastIndex()).toBe(10);
        expect(storage.term(10)).toBe(4);
        expect(() => storage.term(9)).toThrow(CompactedError);
      });

      it('rejects a snapshot older than the stored one and changes nothing', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 1, 2, 2]));
        await storage.saveSnapshot(snapshot(3, 1));

        await expect(storage.saveSnapshot(snapshot(2, 1))).rejects.toBeInstanceOf(SnapshotOutOfDateError);
        storage = await reopen(storage);

        expect(storage.snapshotMeta().index).toBe(3);
        expect(storage.firstIndex()).toBe(4);
        expect(plain(await whole(storage))).toEqual(plain(log(4, [2, 2])));
      });

      it('accepts a snapshot at the same index again', async () => {
        const storage = await create();
        await storage.append(log(1, [1, 1, 2]));
        await storage.saveSnapshot(snapshot(2, 1));

        await storage.saveSnapshot(snapshot(2, 1));

        expect(storage.firstIndex()).toBe(3);
        expect(storage.lastIndex()).toBe(3);
      });

      it('rejects an append at or below the snapshot index', async () => {
        const storage = await create();
        await storage.append(log(1, [1, 1, 1]));
        await storage.saveSnapshot(snapshot(2, 1));

        await expect(storage.append([entry(2, 1)])).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(storage.lastIndex()).toBe(3);
      });
    });

    describe('invalid arguments change nothing', () => {
      const invalidAppends: [string, Entry[]][] = [
        ['a gap after the last index', [entry(5, 2)]],
        ['non-contiguous entries', [entry(3, 2), entry(5, 2)]],
        ['a term of 0', [entry(3, 0)]],
        ['decreasing terms inside the batch', [entry(3, 3), entry(4, 2)]],
        ['data that is not a Uint8Array', [{ index: 3, term: 2, type: 'normal', data: [1, 2] as unknown as Uint8Array }]],
        ['a non-integer index', [{ ...entry(3, 2), index: 3.5 }]],
        ['a term below the term of the entry it follows', [entry(3, 1)]],
      ];

      for (const [what, entries] of invalidAppends) {
        it(`rejects an append with ${what}`, async () => {
          let storage = await create();
          await storage.append(log(1, [1, 2]), HARD_STATE);

          await expect(storage.append(entries, { term: 9, vote: null, commit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
          storage = await reopen(storage);

          expect(storage.lastIndex()).toBe(2);
          expect(storage.initialState().hardState).toEqual(HARD_STATE);
          expect(plain(await whole(storage))).toEqual(plain(log(1, [1, 2])));
        });
      }

      it('rejects a malformed hard state and changes nothing', async () => {
        let storage = await create();
        await storage.append(log(1, [1]), { term: 1, vote: null, commit: 0 });

        await expect(storage.append([entry(2, 1)], { term: -1, vote: null, commit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(storage.append([], { term: 1, vote: '', commit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(1);
        expect(storage.initialState().hardState).toEqual({ term: 1, vote: null, commit: 0 });
      });

      it('refuses writes that would leave commit past the last index (commitIndex <= lastIndex) and changes nothing', async () => {
        let storage = await create();
        await storage.append(log(1, [1, 1, 1, 1]), { term: 1, vote: null, commit: 3 });

        await expect(storage.append([], { term: 1, vote: null, commit: 5 })).rejects.toThrow(/commit 5 would lie past the last index 4/);
        await expect(storage.append([entry(2, 2)])).rejects.toThrow(/commit 3 would lie past the last index 2/);
        await expect(storage.saveSnapshot(snapshot(2, 7))).rejects.toThrow(/commit 3 would lie past the last index 2/);
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(4);
        expect(storage.firstIndex()).toBe(1);
        expect(storage.initialState().hardState).toEqual({ term: 1, vote: null, commit: 3 });
        await expect(storage.append([entry(4, 2)])).resolves.toBeUndefined();
      });

      it('rejects an append right after a snapshot with a term below the snapshot\'s', async () => {
        let storage = await create();
        await storage.saveSnapshot(snapshot(5, 3));

        await expect(storage.append([entry(6, 2)])).rejects.toBeInstanceOf(InvalidArgumentError);
        storage = await reopen(storage);

        expect(storage.lastIndex()).toBe(5);
        await expect(storage.append([entry(6, 3)])).resolves.toBeUndefined();
      });

      it('rejects a snapshot with a negative index and changes nothing', async () => {
        const storage = await create();
        await storage.append(log(1, [1, 2]));

        await expect(storage.saveSnapshot(snapshot(-1, 1))).rejects.toBeInstanceOf(InvalidArgumentError);

        expect(storage.firstIndex()).toBe(1);
        expect(storage.lastIndex()).toBe(2);
      });
    });

    describe('close', () => {
      it('is idempotent and makes every other method fail with StorageClosedError', async () => {
        const storage = await create();
        await storage.append(log(1, [1]));

        await storage.close();
        await storage.close();

        expect(() => storage.firstIndex()).toThrow(StorageClosedError);
        expect(() => storage.lastIndex()).toThrow(StorageClosedError);
        expect(() => storage.term(1)).toThrow(StorageClosedError);
        expect(() => storage.entries(1, 2, UNLIMITED)).toThrow(StorageClosedError);
        expect(() => storage.snapshotMeta()).toThrow(StorageClosedError);
        expect(() => storage.initialState()).toThrow(StorageClosedError);
        await expect(storage.append([entry(2, 1)])).rejects.toBeInstanceOf(StorageClosedError);
        await expect(storage.append([], HARD_STATE)).rejects.toBeInstanceOf(StorageClosedError);
        await expect(storage.saveSnapshot(snapshot(1, 1))).rejects.toBeInstanceOf(StorageClosedError);
      });

      // Only a durable storage can show this; a volatile one has no state after close.
      const durableOnly = harness.reopen === undefined ? [] : ['lets writes made before close become durable'];
      for (const title of durableOnly) it(title, async () => {
        const storage = await create();

        const pending = storage.append(log(1, [1, 1, 1]), HARD_STATE);
        const reopened = await reopen(storage);
        await pending;

        expect(reopened.lastIndex()).toBe(3);
        expect(reopened.initialState().hardState).toEqual(HARD_STATE);
      });
    });

    describe('ready at open', () => {
      /** A config entry whose bytes, like the builders' payloads, tell index and term apart. */
      function config(index: number, term: number): Entry {
        return { index, term, type: 'config', data: encodeMembership({ voters: ['n1', `n${index}x${term}`] }) };
      }

      /** Where the config entries sit in a log of `length` entries: the first, a few far below the end, the last. */
      function logWithConfigs(length: number, term: number, at: readonly number[]): Entry[] {
        return log(1, Array<number>(length).fill(term), 64).map((e) => (at.includes(e.index) ? config(e.index, term) : e));
      }

      it('lists every config entry of the log, oldest first, through truncation, compaction and reopen', async () => {
        let storage = await create();
        await storage.append(logWithConfigs(300, 1, [1, 40, 250, 300]));
        // A conflicting suffix from 200 takes the config entries at 250 and 300 with it (§5.3).
        await storage.append([entry(200, 2), config(201, 2), entry(202, 2)]);
        storage = await reopen(storage);
        expect(plain(storage.configEntries())).toEqual(plain([config(1, 1), config(40, 1), config(201, 2)]));

        // Compaction drops the config entries it covers; the snapshot's membership stands for them.
        await storage.saveSnapshot({ index: 100, term: 1, membership: { voters: ['n1'] } });
        storage = await reopen(storage);
        expect(plain(storage.configEntries())).toEqual(plain([config(201, 2)]));

        // A snapshot that does not match the log discards it with its config entries.
        await storage.saveSnapshot({ index: 201, term: 3, membership: { voters: ['n1'] } });
        storage = await reopen(storage);
        expect(storage.configEntries()).toEqual([]);
      });

      it('answers everything a core reads at construction the moment it is handed out, without entries()', async () => {
        let storage = await create();
        const membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
        const entries = logWithConfigs(2000, 1, []);
        entries[9] = { index: 10, term: 1, type: 'config', data: encodeMembership(membership) };
        await storage.append(entries, { term: 1, vote: 'n1', commit: 2000 });
        storage = await reopen(storage);
        const reopened = storage;
        const noEntries = new Proxy(reopened, {
          get(target, property) {
            if (property === 'entries') return () => expect.fail('entries() called while the core was constructed');
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });

        const raw = new RawNode({ id: 'n1', voters: ['n1'], storage: noEntries, random: new SeededRandom(7) });

        expect(raw.status().membership).toEqual(membership);
        expect(raw.status().configIndex).toBe(10);
        expect(raw.status().term).toBe(1);
        expect(reopened.term(2000)).toBe(1);
      });
    });

    it('stores payloads of every size byte for byte, including empty no-op entries', async () => {
      let storage = await create();
      const entries = [0, 1, 255, 256, 65_536].map((size, i) => entry(i + 1, 1, size));
      entries.push({ index: 6, term: 1, type: 'normal', data: payload(6, 1, 0) });

      await storage.append(entries);
      storage = await reopen(storage);

      expect(plain(await whole(storage))).toEqual(plain(entries));
    });

    it('keeps the type of config entries and a joint configuration with learners in snapshot meta', async () => {
      let storage = await create();
      const config = new TextEncoder().encode('{"voters":["n1","n2"]}');
      await storage.append([entry(1, 1, 3), { index: 2, term: 1, type: 'config', data: config }, entry(3, 1, 3)]);
      const joint = { voters: ['n2', 'n3'], learners: ['n4'], outgoingVoters: ['n1', 'n2'], autoLeave: false };
      await storage.saveSnapshot({ index: 1, term: 1, membership: joint });
      storage = await reopen(storage);

      expect((await whole(storage)).map((e) => e.type)).toEqual(['config', 'normal']);
      expect(storage.snapshotMeta().membership).toEqual(joint);
      expect(storage.initialState().membership).toEqual(joint);
    });
  });
}

function snapshot(index: number, term: number, voters: string[] = ['n1']): SnapshotMeta {
  return { index, term, membership: { voters } };
}
