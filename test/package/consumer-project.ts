/**
 * An empty project that installs Keel's packed tarball, as a user's project
 * would, without the network.
 *
 * A fresh `npm install <tarball> --offline` needs the registry's full
 * metadata of every dependency, which the npm cache need not hold (a
 * lockfile install only stores the tarballs). So the project gets a
 * lockfile: Keel's own production entries, which name exactly the tarballs
 * (by integrity) that installing Keel's dependencies put in the cache, and
 * `npm ci --offline` installs from the cache alone or fails.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../', import.meta.url);

/** What a finished command printed and how it ended. */
export interface CommandResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args` in `cwd` to the end; a command past `timeoutMs` is killed and has a null status. */
export function runCommand(command: string, args: readonly string[], cwd: string, timeoutMs = 120_000): CommandResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error ?? '') };
}

/** One file of `npm pack --json`'s listing. */
interface PackedFile {
  readonly path: string;
}

/** Packs the already-built package into `directory`; returns the tarball's file name and the paths it holds. */
export function packInto(directory: string): { readonly filename: string; readonly files: readonly string[] } {
  // --ignore-scripts: prepack would clean and rebuild dist/, under the feet of the other test files using it.
  const result = runCommand('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', directory], fileURLToPath(ROOT));
  if (result.status !== 0) throw new Error(`npm pack exited ${result.status}: ${result.stderr}`);
  const [packed] = JSON.parse(result.stdout) as { filename: string; files: PackedFile[] }[];
  if (packed === undefined) throw new Error(`npm pack listed no package: ${result.stdout}`);
  return { filename: packed.filename, files: packed.files.map((file) => file.path) };
}

/** Writes a project in `directory` that depends on the tarball `directory/filename`, with its lockfile, and installs it offline. */
export function installOffline(directory: string, filename: string): CommandResult {
  const keel = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as Record<string, unknown>;
  const specifier = `file:${filename}`;
  const manifest = { name: 'keel-consumer', version: '1.0.0', private: true, type: 'module', dependencies: { keel: specifier } };
  writeFileSync(join(directory, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(directory, 'package-lock.json'), JSON.stringify(consumerLock(manifest, keel, specifier), null, 2));
  // --ignore-scripts: the native modules load their bundled prebuilds at run time; an install script could reach for the network.
  return runCommand('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], directory);
}

/** The consumer's lockfile: its root, Keel from the tarball, and Keel's own lock entries for everything Keel depends on at run time. */
function consumerLock(manifest: { readonly name: string; readonly version: string }, keel: Record<string, unknown>, specifier: string): unknown {
  const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const packages: Record<string, unknown> = {
    '': { ...manifest },
    'node_modules/keel': {
      version: keel['version'],
      resolved: specifier,
      license: keel['license'],
      dependencies: keel['dependencies'],
      bin: keel['bin'],
      engines: keel['engines'],
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry['dev'] === true) continue;
    // "devOptional": optional for a production install, needed only by Keel's dev tools otherwise.
    const { devOptional, ...rest } = entry;
    packages[path] = devOptional === true ? { ...rest, optional: true } : rest;
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

/** The compiler options of the strictest TypeScript project a user is likely to have. */
export const STRICT_COMPILER_OPTIONS = {
  target: 'ES2023',
  lib: ['ES2023'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  noPropertyAccessFromIndexSignature: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  // Keel's own .d.ts files are checked too, as a user's compiler sees them.
  skipLibCheck: false,
  types: ['node'],
} as const;

/** The examples from the docs, which import 'keel', 'keel/sim' and 'keel/testing' by name as a user's code does. */
const EXAMPLES = ['counter-cluster.ts', 'chat-log.ts', 'partitioned-leader.ts', 'sim-counter.ts'] as const;

/**
 * Writes a strict TypeScript consumer into `directory` (which has Keel
 * installed): the docs' examples, unchanged, and a main module that runs each
 * of them and prints what they returned as JSON. Keel's type declarations use
 * Node's (`node:net`, `Buffer`), so like any Node project the consumer needs
 * `@types/node`; it is taken from this clone's `node_modules` so that nothing
 * is downloaded.
 */
export function writeStrictConsumer(directory: string): void {
  const sources = join(directory, 'src');
  mkdirSync(sources, { recursive: true });
  for (const example of EXAMPLES) copyFileSync(new URL(`examples/${example}`, ROOT), join(sources, example));
  writeFileSync(join(sources, 'main.ts'), CONSUMER_MAIN);
  const typeRoots = [fileURLToPath(new URL('node_modules/@types', ROOT))];
  const tsconfig = { compilerOptions: { ...STRICT_COMPILER_OPTIONS, typeRoots, rootDir: 'src', outDir: 'out' }, include: ['src'] };
  writeFileSync(join(directory, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
}

/** Runs the repository's own TypeScript compiler on `directory`'s tsconfig.json, emitting to out/. */
export function compileConsumer(directory: string): CommandResult {
  const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', ROOT));
  return runCommand(process.execPath, [tsc, '-p', join(directory, 'tsconfig.json')], directory);
}

/**
 * The consumer's entry point: every example, plus uses of the public types
 * that strict options are hard on (optional properties under
 * exactOptionalPropertyTypes, indexed access under noUncheckedIndexedAccess,
 * the error classes and their codes).
 */
const CONSUMER_MAIN = `import { KeelError, NotLeaderError, RaftNode, SeededRandom, VirtualClock } from 'keel';
import type { KeelErrorCode, NodeStatus, RaftNodeOptions } from 'keel';
import { formatRunReport } from 'keel/sim';
import type { RunReport } from 'keel/sim';
import { CoreCluster, SafetyViolation } from 'keel/testing';
import { ChatLog } from './chat-log.js';
import { runCounterCluster } from './counter-cluster.js';
import { partitionedLeader } from './partitioned-leader.js';
import { simulateCounter } from './sim-counter.js';

function codeOf(error: unknown): KeelErrorCode | 'not a KeelError' {
  return error instanceof KeelError ? error.code : 'not a KeelError';
}

function leaderOf(status: NodeStatus): string {
  return status.leader ?? 'none';
}

const options: Pick<RaftNodeOptions<number>, 'id' | 'members'> = { id: 'a', members: ['a', 'b', 'c'] };
const clock = new VirtualClock();
let running = true;
const driver = (async (): Promise<void> => {
  while (running) await clock.advance(10);
})();
const totals = await runCounterCluster(clock);
running = false;
await driver;

const chat = new ChatLog();
const position = chat.apply({ index: 1, term: 1, command: new TextEncoder().encode('hello') });

const cluster = new CoreCluster({ ids: ['n1', 'n2', 'n3'], seed: 3 });
const elected = cluster.elect('n2');
let notLeader = 'not thrown';
try {
  cluster.raw('n1').propose(new TextEncoder().encode('x'));
} catch (error) {
  notLeader = error instanceof NotLeaderError ? codeOf(error) : String(error);
}

const reports: RunReport[] = await simulateCounter([1], 1500);
const firstReport = reports[0];

console.log(JSON.stringify({
  totals,
  position,
  partitioned: partitionedLeader(1),
  elected,
  notLeader,
  firstMember: options.members?.[0] ?? 'none',
  draw: new SeededRandom(1).nextInt(10) < 10,
  simulated: firstReport === undefined ? 'no report' : formatRunReport(firstReport).split('\\n')[0],
  simulatedOk: firstReport?.ok ?? false,
  exported: [typeof RaftNode, typeof SafetyViolation, typeof leaderOf].join(' '),
}));
`;
