import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { encodeKvCommand } from '../../src/kv/commands.js';
import type { KvCommand, KvResult } from '../../src/kv/commands.js';
import { KvStore } from '../../src/kv/store.js';
import { kvCommand } from './arbitraries.js';

/** Where the snapshots restored here claim to be in the log (the store does not depend on it). */
const POINT = { index: 1, term: 1 };

function apply(store: KvStore, command: KvCommand, index = 1): KvResult {
  return store.apply({ index, term: 1, command: encodeKvCommand(command) });
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Replays `bytes` split at the given cut points. */
async function* rechunked(bytes: Buffer, cuts: readonly number[]): AsyncIterable<Uint8Array> {
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(at, cut);
    at = cut;
  }
  yield bytes.subarray(at);
}

describe('KvStore', () => {
  it('answers like a plain map for every operation', () => {
    fc.assert(fc.property(fc.array(kvCommand, { maxLength: 60 }), (commands) => {
      const store = new KvStore();
      const model = new Map<string, string>();
      commands.forEach((command, i) => {
        const current = model.get(command.key) ?? null;
        let expected: KvResult = null;
        if (command.op === 'get') expected = current;
        else if (command.op === 'put') model.set(command.key, command.value);
        else if (command.op === 'delete') model.delete(command.key);
        else if (command.op === 'append') model.set(command.key, (current ?? '') + command.value);
        else if (current === command.expect) {
          model.set(command.key, command.value);
          expected = { status: 'swapped' };
        } else {
          expected = { status: 'mismatch', actual: current };
        }
        expect(apply(store, command, i + 1)).toEqual(expected);
      });
      expect(store.size).toBe(model.size);
      for (const [key, value] of model) expect(store.get(key)).toBe(value);
    }));
  });

  it('restores from its own snapshot however the stream is cut, with the same digest', async () => {
    await fc.assert(fc.asyncProperty(
      fc.dictionary(fc.string(), fc.string({ unit: 'grapheme' })), fc.array(fc.nat(), { maxLength: 8 }),
      async (pairs, cuts) => {
        const store = new KvStore();
        Object.entries(pairs).forEach(([key, value], i) => apply(store, { op: 'put', key, value }, i + 1));
        const bytes = await collect(store.capture().chunks());
        const restored = new KvStore();
        apply(restored, { op: 'put', key: 'stale', value: 'gone after restore' });
        await restored.restore(rechunked(bytes, cuts), POINT);

        expect(restored.size).toBe(Object.keys(pairs).length);
        for (const [key, value] of Object.entries(pairs)) expect(restored.get(key)).toBe(value);
        expect(restored.digest()).toBe(store.digest());
        expect(await collect(restored.capture().chunks())).toEqual(bytes);
      },
    ), { numRuns: 60 });
  });

  it('streams a large store in several chunks', async () => {
    const store = new KvStore();
    for (let i = 0; i < 2000; i++) apply(store, { op: 'put', key: `key-${i}`, value: 'v'.repeat(500) }, i + 1);
    const chunks: Uint8Array[] = [];
    for await (const chunk of store.capture().chunks()) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThan(3);
    expect(Math.max(...chunks.map((chunk) => chunk.byteLength))).toBeLessThan(300 * 1024);
  });

  it('refuses a damaged or truncated snapshot and keeps its state', async () => {
    const store = new KvStore();
    apply(store, { op: 'put', key: 'a', value: '1' });
    apply(store, { op: 'put', key: 'b', value: '2' });
    const bytes = await collect(store.capture().chunks());
    const damaged = [
      Buffer.concat([Buffer.from('NOTKV!!!'), bytes.subarray(8)]),
      bytes.subarray(0, bytes.byteLength - 3),
      bytes.subarray(0, 5),
      Buffer.concat([bytes.subarray(0, bytes.byteLength - 4), Buffer.from([0, 0, 0, 9])]),
    ];
    for (const bad of damaged) {
      const target = new KvStore();
      apply(target, { op: 'put', key: 'kept', value: 'yes' });
      await expect(target.restore(rechunked(bad, []), POINT)).rejects.toThrow(CorruptionError);
      expect(target.get('kept')).toBe('yes');
      expect(target.size).toBe(1);
    }
  });

  it('capture is a point-in-time view: writes applied after it are not in the snapshot, and the live store keeps them', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(kvCommand, { maxLength: 30 }), fc.array(kvCommand, { maxLength: 30 }), fc.array(kvCommand, { maxLength: 10 }),
      async (before, during, afterRelease) => {
        const store = new KvStore();
        const expected = new KvStore();
        before.forEach((command, i) => {
          apply(store, command, i + 1);
          apply(expected, command, i + 1);
        });
        const captured = store.capture();
        // Writes land while the capture is still unread: they must not leak into it.
        during.forEach((command, i) => apply(store, command, before.length + i + 1));
        const bytes = await collect(captured.chunks());
        captured.release?.();
        afterRelease.forEach((command, i) => apply(store, command, before.length + during.length + i + 1));

        expect(bytes).toEqual(await collect(expected.capture().chunks()));
        const live = new KvStore();
        [...before, ...during, ...afterRelease].forEach((command, i) => apply(live, command, i + 1));
        expect(store.digest()).toBe(live.digest());
        expect(store.size).toBe(live.size);
      },
    ), { numRuns: 100 });
  });

  it('a view stays intact across a restore and a second capture taken before it is released', async () => {
    const store = new KvStore();
    apply(store, { op: 'put', key: 'a', value: '1' });
    const first = store.capture();
    apply(store, { op: 'delete', key: 'a' });
    apply(store, { op: 'put', key: 'b', value: '2' });
    const second = store.capture();
    const donor = new KvStore();
    apply(donor, { op: 'put', key: 'c', value: '3' });
    await store.restore(donor.capture().chunks(), { index: 9, term: 2 });
    apply(store, { op: 'put', key: 'd', value: '4' });

    const only = (pairs: Record<string, string>): Promise<Buffer> => {
      const model = new KvStore();
      for (const [key, value] of Object.entries(pairs)) apply(model, { op: 'put', key, value });
      return collect(model.capture().chunks());
    };
    expect(await collect(first.chunks())).toEqual(await only({ a: '1' }));
    expect(await collect(second.chunks())).toEqual(await only({ b: '2' }));
    first.release?.();
    second.release?.();
    expect([store.get('a'), store.get('b'), store.get('c'), store.get('d'), store.size]).toEqual([null, null, '3', '4', 2]);
  });
});
