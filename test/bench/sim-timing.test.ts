/**
 * The simulator benchmark's production timing: RaftNode's default tick and
 * election, with what a seed drew relative to the election timeout rescaled.
 */
import { describe, expect, test } from 'vitest';
import { productionTiming } from '../../bench/sim.js';
import { drawParams } from '../../sim/world/params.js';
import { FAULT_KINDS } from '../../sim/world/params.js';
import { splitStreams } from '../../sim/world/streams.js';

describe('productionTiming', () => {
  test('sets 100 ms ticks, 10-tick elections, a heartbeat every tick, and rescales the timeouts drawn against the election timeout', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const drawn = drawParams(splitStreams(seed).params, { nodes: 5, faults: FAULT_KINDS });
      const adjusted = productionTiming(drawn);
      const scale = 1000 / (drawn.electionTicks * drawn.tickIntervalMs);
      expect(adjusted).toMatchObject({ tickIntervalMs: 100, electionTicks: 10, heartbeatTicks: 1 });
      expect(adjusted.requestTimeoutMs).toBeCloseTo(drawn.requestTimeoutMs * scale, 9);
      expect(adjusted.downMsMin).toBeCloseTo(drawn.downMsMin * scale, 9);
      expect(adjusted.network.reorderDelayMsMax).toBeCloseTo(drawn.network.reorderDelayMsMax * scale, 9);
      // Latencies are physical, not protocol timing: unchanged.
      expect(adjusted.network.latencyMsMax).toBe(drawn.network.latencyMsMax);
      expect(adjusted.disk).toEqual(drawn.disk);
      expect(adjusted.faults).toEqual(drawn.faults);
    }
  });
});
