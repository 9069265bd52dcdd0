import { writeFileSync } from 'node:fs';
import { formatRunReport, formatSwarmReport } from '../sim/runtime/run.js';
import type { RunOptions } from '../sim/runtime/run.js';
import { summarizeSwarm } from '../sim/runtime/report.js';
import { traceSeed } from '../sim/timeline/trace-run.js';
import { UsageError } from './args.js';

/** One seed with its timeline written to `path`; the same output as an untraced run otherwise. */
export async function runTraced(seed: number, options: RunOptions, path: string, json: boolean): Promise<number> {
  const started = performance.now();
  const traced = await traceSeed(seed, options);
  writeTimeline(path, traced.html);
  const swarm = summarizeSwarm([traced.report], (performance.now() - started) / 1000);
  if (!traced.report.ok) process.stderr.write(`${formatRunReport(traced.report)}\n`);
  if (json) {
    const { reports: _reports, ...summary } = swarm;
    process.stdout.write(`${JSON.stringify({ ...summary, traceHash: traced.report.traceHash, timeline: path })}\n`);
  } else {
    process.stdout.write(`${formatSwarmReport(swarm)}\ntimeline: ${path} (${Math.round(traced.html.length / 1024)} KiB; open it in a browser)\n`);
  }
  return swarm.violations + swarm.livenessFailures + swarm.budgetFailures > 0 ? 1 : 0;
}

/** Writes a timeline page; an unwritable path is the user's to fix (exit 2), not a crash. */
export function writeTimeline(path: string, html: string): void {
  try {
    writeFileSync(path, html);
  } catch (error) {
    throw new UsageError(`--trace: cannot write ${path}: ${(error as Error).message}`);
  }
}

