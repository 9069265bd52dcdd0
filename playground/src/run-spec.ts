/**
 * What a run of the playground is made of: the seed and the options of
 * `keel sim`, read from the page's address, its inputs, or a replay command
 * printed by `keel sim --shrink`. A run spec holds exactly what the command
 * line can say, so the same spec gives the same trace hash in both places.
 */
import { InvalidArgumentError } from '../../src/errors.js';
import { drawSeed } from '../../sim/runtime/run.js';
import type { RunOptions } from '../../sim/runtime/options.js';
import { PLANTED_BUGS } from '../../sim/runtime/planted-bugs.js';
import type { PlantedBugName } from '../../sim/runtime/planted-bugs.js';
import { decodeScenario, encodeScenario } from '../../sim/runtime/scenario-codec.js';
import { FAULT_KINDS } from '../../sim/world/params.js';
import type { FaultKind } from '../../sim/world/params.js';
import type { Scenario } from '../../sim/world/scenario.js';

/** One run: `keel sim --seed <seed>` with these options. */
export interface RunSpec {
  readonly seed: number;
  /** Simulated milliseconds of the fault phase (`--duration`, in seconds there). */
  readonly durationMs: number;
  readonly nodes: number | undefined;
  readonly faults: readonly FaultKind[] | 'all';
  readonly plantedBug: PlantedBugName | undefined;
  /** Replaces the seed's drawn fault schedule (`--schedule`). */
  readonly scenario: Scenario | undefined;
}

/** `keel sim`'s defaults. */
export const DEFAULT_DURATION_MS = 10_000;

/** The spec of `keel sim --seed <seed>` with no other option. */
export function seedSpec(seed: number): RunSpec {
  return { seed, durationMs: DEFAULT_DURATION_MS, nodes: undefined, faults: 'all', plantedBug: undefined, scenario: undefined };
}

/** The simulator's options for a spec. */
export function runOptions(spec: RunSpec): RunOptions {
  return {
    durationMs: spec.durationMs,
    ...(spec.nodes === undefined ? {} : { nodes: spec.nodes }),
    faults: spec.faults,
    ...(spec.plantedBug === undefined ? {} : { plantedBug: spec.plantedBug }),
    ...(spec.scenario === undefined ? {} : { scenario: spec.scenario }),
  };
}

/**
 * Checks that the simulator accepts `spec` (the scenario fits the world the
 * seed draws, the options are in range) by drawing it; returns the scenario
 * the run plays. Throws `InvalidArgumentError` saying what is wrong.
 */
export function checkSpec(spec: RunSpec): Scenario {
  return drawSeed(spec.seed, runOptions(spec)).scenario;
}

/** The command line that replays `spec`. */
export function commandOf(spec: RunSpec): string {
  const parts = [`npx keel sim --seed ${spec.seed}`];
  if (spec.durationMs !== DEFAULT_DURATION_MS) parts.push(`--duration ${spec.durationMs / 1000}`);
  if (spec.nodes !== undefined) parts.push(`--nodes ${spec.nodes}`);
  if (spec.faults !== 'all') parts.push(`--faults ${spec.faults.join(',') || 'none'}`);
  if (spec.plantedBug !== undefined) parts.push(`--plant-bug ${spec.plantedBug}`);
  if (spec.scenario !== undefined) parts.push(`--schedule '${encodeScenario(spec.scenario)}'`);
  return parts.join(' ');
}

/** Parses a seed as `keel sim --seed` does. */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed)) || Number(trimmed) > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`the seed must be an integer from 0 to ${2 ** 31 - 1}, got '${text}'`);
  }
  return Number(trimmed);
}

/**
 * Reads what a person pasted: a replay command (`npx keel sim --seed 13
 * --plant-bug lying-disk --schedule '…'`, what `--shrink` prints) or a bare
 * scenario (`nodes 3 clients 1; at 709 crash n2 down 1039`), which then
 * replaces the schedule of `base`'s seed.
 */
export function parsePasted(text: string, base: RunSpec): RunSpec {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new InvalidArgumentError('paste a scenario or a `keel sim` command');
  if (/^nodes\b/.test(trimmed)) return { ...base, scenario: decodeScenario(trimmed) };
  return parseCommand(trimmed);
}

/** Parses `[npx] keel sim --seed N [--duration S] [--nodes N] [--faults LIST] [--plant-bug NAME] [--schedule '…']`. */
export function parseCommand(text: string): RunSpec {
  const words = splitWords(text);
  while (words.length > 0 && (words[0] === 'npx' || words[0] === 'keel' || words[0] === 'sim' || words[0] === '$')) words.shift();
  let spec: Partial<{ -readonly [K in keyof RunSpec]: RunSpec[K] }> = {};
  for (let i = 0; i < words.length; i += 2) {
    const flag = words[i]!;
    const value = words[i + 1];
    if (!PLAYGROUND_FLAGS.includes(flag)) throw new InvalidArgumentError(`unknown option ${flag} (the playground reads ${PLAYGROUND_FLAGS.join(', ')})`);
    if (value === undefined) throw new InvalidArgumentError(`${flag} needs a value`);
    spec = { ...spec, ...parseFlag(flag, value) };
  }
  if (spec.seed === undefined) throw new InvalidArgumentError('the command names no --seed');
  return { ...seedSpec(spec.seed), ...spec } as RunSpec;
}

/** The options of `keel sim` a run spec holds. */
const PLAYGROUND_FLAGS: readonly string[] = ['--seed', '--duration', '--nodes', '--faults', '--plant-bug', '--schedule'];

function parseFlag(flag: string, value: string): Partial<RunSpec> {
  switch (flag) {
    case '--seed':
      return { seed: parseSeed(value) };
    case '--duration': {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) throw new InvalidArgumentError(`--duration must be a number of seconds from 0 to 600, got '${value}'`);
      return { durationMs: seconds * 1000 };
    }
    case '--nodes': {
      const nodes = Number(value);
      if (!Number.isSafeInteger(nodes) || nodes < 3 || nodes > 7) throw new InvalidArgumentError(`--nodes must be an integer from 3 to 7, got '${value}'`);
      return { nodes };
    }
    case '--faults':
      return { faults: parseFaults(value) };
    case '--plant-bug':
      return { plantedBug: parseBug(value) };
    case '--schedule':
      return { scenario: decodeScenario(value) };
    default:
      throw new InvalidArgumentError(`unknown option ${flag} (the playground reads ${PLAYGROUND_FLAGS.join(', ')})`);
  }
}

/** Parses `--faults`: `all`, `none`, or kinds separated by commas. */
export function parseFaults(value: string): readonly FaultKind[] | 'all' {
  if (value === 'all') return 'all';
  if (value === 'none') return [];
  const kinds = value.split(',').map((kind) => kind.trim());
  const unknown = kinds.find((kind) => !(FAULT_KINDS as readonly string[]).includes(kind));
  if (unknown !== undefined) throw new InvalidArgumentError(`unknown fault kind '${unknown}' (${FAULT_KINDS.join(', ')})`);
  return kinds as FaultKind[];
}

/** Parses a planted bug's name. */
export function parseBug(value: string): PlantedBugName {
  if (!Object.hasOwn(PLANTED_BUGS, value)) throw new InvalidArgumentError(`unknown planted bug '${value}' (${Object.keys(PLANTED_BUGS).join(', ')})`);
  return value as PlantedBugName;
}

/** Splits a command line on spaces, keeping single- or double-quoted words whole. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) words.push(match[1] ?? match[2] ?? match[3]!);
  return words;
}

/**
 * The spec an address asks for: `?seed=N`, `&scenario=…` (a bare scenario or
 * a replay command), `&bug=NAME`, `&duration=S`, `&nodes=N`, `&faults=LIST`.
 * Null when it names no seed and no scenario.
 */
export function specOfQuery(query: URLSearchParams): RunSpec | null {
  const seedText = query.get('seed');
  const scenarioText = query.get('scenario');
  if (seedText === null && scenarioText === null) return null;
  let spec = seedSpec(seedText === null ? 1 : parseSeed(seedText));
  if (scenarioText !== null) spec = parsePasted(scenarioText, spec);
  const flags: [string, string][] = [
    ['duration', '--duration'],
    ['nodes', '--nodes'],
    ['faults', '--faults'],
    ['bug', '--plant-bug'],
  ];
  for (const [name, flag] of flags) {
    const value = query.get(name);
    if (value !== null) spec = { ...spec, ...parseFlag(flag, value) };
  }
  return spec;
}
