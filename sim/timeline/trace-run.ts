/**
 * Runs one seed with a {@link TimelineRecorder} tapped into its world and
 * renders the timeline page: what `keel sim --seed N --trace run.html` does.
 */
import { formatRunReport, runSeedWithTap } from '../runtime/run.js';
import type { RunOptions, RunReport } from '../runtime/run.js';
import { drawSeed } from '../runtime/run.js';
import { renderTimelineHtml } from './render-html.js';
import { TimelineRecorder, TIMELINE_MESSAGES_MAX } from './timeline.js';
import type { Timeline } from './timeline.js';

/** A run and its timeline. */
export interface TracedRun {
  /** The run's report. */
  readonly report: RunReport;
  /** The run's timeline, as data. */
  readonly timeline: Timeline;
  /** The self-contained HTML page. */
  readonly html: string;
}

/** Runs `seed` (the same run as `runSeed` would make) and draws its timeline. */
export async function traceSeed(seed: number, options: RunOptions = {}, messagesMax = TIMELINE_MESSAGES_MAX): Promise<TracedRun> {
  const recorder = new TimelineRecorder(drawSeed(seed, options).params.ids);
  const report = await runSeedWithTap(seed, options, recorder);
  const violation = report.violation === null ? null : { atMs: report.violation.atMs, invariant: report.violation.invariant, detail: report.violation.detail };
  const timeline = recorder.timeline(report.simulatedSeconds * 1000, violation, messagesMax);
  const [summary] = formatRunReport(report).split('\n');
  const lines = [summary ?? '', `replay: ${report.replay}`];
  if (report.livenessFailure !== null) lines.splice(1, 0, `liveness: ${report.livenessFailure.detail}`);
  if (report.budgetFailure !== null) lines.splice(1, 0, `budget: ${report.budgetFailure.detail}`);
  const html = renderTimelineHtml(timeline, { title: `Keel simulator — seed ${seed}`, summary: lines });
  return { report, timeline, html };
}
