/** The swarm's progress line on a terminal. */
import { describe, expect, test } from 'vitest';
import { progressLine } from '../../cli/sim-runtime.js';

describe('progressLine', () => {
  test('shows the bar, runs done, failures, the pace and the time left', () => {
    const line = progressLine({ done: 25, total: 100, failing: 2, simulatedSeconds: 250, wallSeconds: 10 });
    expect(line).toBe(`[${'#'.repeat(8)}${'.'.repeat(22)}] 25/100 runs, 2 failing, 25× real time, ~30s left`);
  });

  test('a finished swarm has a full bar and nothing left', () => {
    expect(progressLine({ done: 3, total: 3, failing: 0, simulatedSeconds: 3, wallSeconds: 1 })).toMatch(/^\[#{30}\] 3\/3 runs, 0 failing, 3× real time, ~0s left$/);
  });
});
