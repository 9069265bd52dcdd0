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
import { readFileSync, writeFileSync } from 'node:fs';
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
  const manifest = { name: 'keel-consumer', version: '1.0.0', private: true, dependencies: { keel: specifier } };
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
