/** The keel/testing example in docs/api.md is this file's subject: the doc must show it verbatim, and it must work. */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { partitionedLeader } from '../../examples/partitioned-leader.js';

test('docs/api.md shows examples/partitioned-leader.ts verbatim', () => {
  const example = readFileSync(new URL('../../examples/partitioned-leader.ts', import.meta.url), 'utf8').trim();
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  expect(doc).toContain(example);
});

test.each([1, 2, 3, 4, 5])('seed %i: the partitioned leader commits nothing, and the new leader’s entry is applied everywhere', (seed) => {
  const { oldLeader, newLeader, applied } = partitionedLeader(seed);
  expect(oldLeader).toBe('n1');
  expect(['n2', 'n3']).toContain(newLeader);
  expect(applied).toEqual([['kept'], ['kept'], ['kept']]);
});
