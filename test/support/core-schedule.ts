/** fast-check arbitraries for the core schedules of sim/core-schedule.ts, so failing schedules shrink. */
import fc from 'fast-check';
import { makeStep, NODE_SELECTOR_MAX, PARTITION_MASK_MAX, PICK_SELECTOR_MAX, STEP_WEIGHTS } from '../../sim/core-schedule.js';
import type { ScheduleStep, StepKind } from '../../sim/core-schedule.js';

/** One schedule step, drawn with the same weights as `keel sim`. */
export const scheduleStep: fc.Arbitrary<ScheduleStep> = fc.oneof(
  ...(Object.keys(STEP_WEIGHTS) as StepKind[]).map((kind) => ({
    weight: STEP_WEIGHTS[kind],
    arbitrary: fc
      .tuple(fc.nat({ max: NODE_SELECTOR_MAX }), fc.nat({ max: PICK_SELECTOR_MAX }), fc.nat({ max: PARTITION_MASK_MAX }))
      .map(([node, pick, mask]) => makeStep(kind, node, pick, mask)),
  })),
);
