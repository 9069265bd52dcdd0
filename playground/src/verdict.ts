/** How a session's run stands, in words for the page. */
import type { Session } from './session.js';

/** The run's verdict and, if something was violated, what and when. */
export interface Verdict {
  readonly text: string;
  readonly violation: string | null;
  readonly atMs: number | null;
}

/** The verdict of `session` so far: under way, or how it ended. */
export function describeVerdict(session: Session): Verdict {
  const actions = session.actions.length;
  const own = actions === 0 ? '' : ` (with your ${actions} action${actions === 1 ? '' : 's'}: not the seed's own run)`;
  if (session.error !== null) return { text: `could not run: ${session.error.message}`, violation: null, atMs: null };
  const report = session.report;
  const found = report?.violation ?? session.world?.found ?? null;
  const violation = found === null ? null : `${found.invariant} at ${found.atMs.toFixed(3)} ms: ${found.detail}`;
  const atMs = found?.atMs ?? null;
  if (report === null) return { text: `${found === null ? 'under way' : 'violation found'}${own}`, violation, atMs };
  if (report.violation !== null) return { text: `VIOLATION ${report.violation.invariant}${own}`, violation, atMs };
  if (report.livenessFailure !== null) return { text: `LIVENESS failure: ${report.livenessFailure.detail}${own}`, violation: null, atMs: null };
  if (report.linearizability === 'undecided') return { text: `ended, linearizability undecided${own}`, violation: null, atMs: null };
  return { text: `ended ok: safe, live and linearizable${own}`, violation: null, atMs: null };
}
