/** The embedding example in docs/api.md is this file's subject: the doc must show it verbatim, and it must work. */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { ChatLog } from '../../examples/chat-log.js';
import { runCounterCluster } from '../../examples/counter-cluster.js';
import { VirtualClock } from '../../src/util/clock.js';

test('docs/api.md shows examples/counter-cluster.ts verbatim', () => {
  const example = readFileSync(new URL('../../examples/counter-cluster.ts', import.meta.url), 'utf8').trim();
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  expect(doc).toContain(example);
});

test('the embedding example replicates the counter to every node', async () => {
  const clock = new VirtualClock();
  // Drive virtual time in the background instead of sleeping on the wall clock.
  let running = true;
  const driver = (async () => {
    while (running) await clock.advance(10);
  })();
  try {
    expect(await runCounterCluster(clock)).toEqual([15, 15, 15]);
  } finally {
    running = false;
    await driver;
  }
});

test('docs/api.md shows examples/chat-log.ts verbatim', () => {
  const example = readFileSync(new URL('../../examples/chat-log.ts', import.meta.url), 'utf8').trim();
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  expect(doc).toContain(example);
});

test('the chat log captures a point-in-time view and restores it with its position', async () => {
  const log = new ChatLog();
  const say = (index: number, message: string): number => log.apply({ index, term: 1, command: new TextEncoder().encode(message) });
  for (let i = 1; i <= 2500; i++) say(i, `m${i}`);
  const source = log.capture();
  // Applied while the snapshot streams: not part of it.
  say(2501, 'late');
  const copy = new ChatLog();
  await copy.restore(source.chunks(), { index: 2500, term: 1 });
  expect(copy.messages).toEqual(log.messages.slice(0, 2500));
  expect(copy.restoredAt).toEqual({ index: 2500, term: 1 });
  expect(log.messages.at(-1)).toBe('late');
});
