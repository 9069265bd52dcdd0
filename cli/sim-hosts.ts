/**
 * `keel sim --hosts`: the multi-group simulator (sim/hosts/). Each seed is a
 * world of 3 to 5 hosts running the production `RaftHost` with 1 to 64
 * groups of three replicas; faults strike hosts. Prints failing seeds as
 * they are found and a summary with the single-group and the multi-group
 * coverage marks.
 */
import { runHostSwarm } from '../sim/hosts/host-run.js';
import type { HostRunOptions, HostRunReport, HostSwarmReport } from '../sim/hosts/host-run.js';
import { HOST_FAULT_KINDS } from '../sim/hosts/host-params.js';
import { formatRunReport, formatSwarmReport } from '../sim/runtime/report.js';
import type { FaultKind } from '../sim/world/params.js';
import { InvalidArgumentError } from '../src/errors.js';
import { integerOption, UsageError } from './args.js';

/** What `keel sim --hosts` was asked to run. */
export interface HostSimRequest {
  readonly first: number;
  readonly last: number;
  readonly duration: string | undefined;
  /** Hosts (`--nodes`), 3 to 5. */
  readonly hosts: string | undefined;
  readonly groups: string | undefined;
  readonly faults: string | undefined;
  /** `--max-events` and `--max-held-items`: the runs' budgets. */
  readonly maxEvents?: string | undefined;
  readonly maxHeldItems?: string | undefined;
  /** `--rebalance` (true), `--no-rebalance` (false), or drawn per seed. */
  readonly rebalance?: boolean | undefined;
  readonly json: boolean;
}

/** Runs the multi-group simulator over a seed range; exit code 0 when nothing was found, 1 otherwise. */
export async function runHostSim(request: HostSimRequest): Promise<number> {
  const options = hostRunOptions(request);
  const onReport = (report: HostRunReport): void => {
    if (!report.ok) process.stderr.write(`${formatRunReport(report)}\n`);
  };
  const seeds = Array.from({ length: request.last - request.first + 1 }, (_, i) => request.first + i);
  const swarm = await runHostSwarm(seeds, options, onReport).catch((error: unknown) => {
    if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
    throw error;
  });
  if (request.json) {
    const { reports, ...summary } = swarm;
    const single = reports.length === 1 ? { traceHash: reports[0]!.traceHash } : {};
    process.stdout.write(`${JSON.stringify({ ...summary, ...single })}\n`);
  } else {
    process.stdout.write(`${formatHostSwarm(swarm)}\n`);
  }
  return swarm.violations + swarm.livenessFailures > 0 ? 1 : 0;
}

/** The swarm summary, then the groups run and every multi-group coverage mark. */
export function formatHostSwarm(swarm: HostSwarmReport): string {
  const rows: [string, string | number][] = [
    ['groups (total, min..max)', `${swarm.groups.total}, ${swarm.groups.min}..${swarm.groups.max}`],
    ...Object.entries(swarm.hostCoverage).map(([mark, count]): [string, number] => [`hosts coverage: ${mark}`, count]),
  ];
  const missed = Object.entries(swarm.hostCoverage).filter(([, count]) => count === 0).map(([mark]) => mark);
  const table = rows.map(([label, value]) => `${label.padEnd(28)} ${value}`).join('\n');
  return `${formatSwarmReport(swarm)}\n${table}${missed.length > 0 ? `\nhosts never reached: ${missed.join(', ')}` : ''}`;
}

function hostRunOptions(request: HostSimRequest): HostRunOptions {
  const seconds = request.duration === undefined ? 10 : Number(request.duration);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError(`--duration must be a number of seconds in (0, 3600], got '${request.duration}'`);
  const options: { -readonly [K in keyof HostRunOptions]: HostRunOptions[K] } = { durationMs: Math.round(seconds * 1000) };
  if (request.hosts !== undefined) options.hosts = integerOption('nodes', request.hosts, 3, 3, 5);
  if (request.groups !== undefined) options.groups = integerOption('groups', request.groups, 1, 1, 64);
  if (request.faults !== undefined) options.faults = parseHostFaults(request.faults);
  if (request.maxEvents !== undefined) options.maxEvents = integerOption('max-events', request.maxEvents, 1, 1, 1e15);
  if (request.rebalance !== undefined) options.rebalance = request.rebalance;
  if (request.maxHeldItems !== undefined) options.maxHeldItems = integerOption('max-held-items', request.maxHeldItems, 1, 1, 1e15);
  return options;
}

function parseHostFaults(list: string): readonly FaultKind[] | 'all' {
  if (list === 'all') return 'all';
  if (list === 'none') return [];
  const kinds = list.split(',').map((kind) => kind.trim()).filter((kind) => kind.length > 0);
  for (const kind of kinds) {
    if (!(HOST_FAULT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--hosts: unknown or unsupported fault kind '${kind}'; known: ${HOST_FAULT_KINDS.join(', ')}, or all`);
  }
  return kinds as FaultKind[];
}
