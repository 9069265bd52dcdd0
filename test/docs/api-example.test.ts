/** The embedding example in docs/api.md is this file's subject: the doc must show it verbatim, and it must work. */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
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
