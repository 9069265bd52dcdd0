/**
 * The parameters a seed draws respect the assumptions the runtime is
 * configured with: two node clocks never drift apart by more than the lease's
 * allowance (`maxClockDriftTicks`) during one election timeout.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { drawParams, driftTicksPerElection, FAULT_KINDS } from '../../../sim/world/params.js';
import { splitStreams } from '../../../sim/world/streams.js';

describe('drawn world parameters', () => {
  test('the drawn clock drift stays inside the drift allowance every node is configured with', () => {
    const seed = 20261124;
    console.log(`fast-check seed ${seed}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (worldSeed) => {
        const params = drawParams(splitStreams(worldSeed).params, { faults: FAULT_KINDS });
        expect(params.maxClockDriftTicks).toBeLessThan(params.electionTicks);
        expect(driftTicksPerElection(params)).toBeLessThan(params.maxClockDriftTicks);
      }),
      { seed, numRuns: 2000 },
    );
  });

  test('a world without the drift fault runs every clock at the same rate', () => {
    const params = drawParams(splitStreams(5).params, { faults: ['crash'] });
    expect(params.driftMax).toBe(0);
  });
});
