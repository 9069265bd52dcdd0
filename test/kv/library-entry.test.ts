/**
 * The library stays free of the service's dependencies: everything
 * `import 'keel'` loads (src/index.ts and the files it reaches) imports
 * neither prom-client nor pino, not even for types; only the `keel/kv` entry
 * (src/kv/index.ts) and the command line do. Imports are read with
 * TypeScript's own pre-processor, so type-only, re-exported and dynamic
 * imports count too.
 */
import { readFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICE_PACKAGES = ['prom-client', 'pino'];

/** Every repository file reachable from `entry` through relative imports, and the packages they import. */
function importGraph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(`${ROOT}${file}`, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith('.')) pending.push(posix.join(dirname(file), fileName).replace(/\.js$/, '.ts'));
      else if (!fileName.startsWith('node:')) packages.set(fileName, file);
    }
  }
  return { files, packages };
}

const isServicePackage = (name: string): boolean => SERVICE_PACKAGES.some((service) => name === service || name.startsWith(`${service}/`));

describe('the keel entry does not load the service\'s dependencies', () => {
  test.each(['src/index.ts', 'src/testing/index.ts'])('%s reaches neither prom-client nor pino', (entry) => {
    const { files, packages } = importGraph(entry);
    expect(files.size).toBeGreaterThan(10);
    const reached = [...packages].filter(([name]) => isServicePackage(name)).map(([name, importer]) => `${importer} imports ${name}`);
    expect(reached).toEqual([]);
  });

  test('src/index.ts still reaches the store, but not the HTTP service, its metrics or its auth', () => {
    const { files } = importGraph('src/index.ts');
    expect(files.has('src/kv/store.ts')).toBe(true);
    for (const service of ['src/kv/http-api.ts', 'src/kv/metrics.ts', 'src/kv/service.ts', 'src/kv/http-auth.ts', 'src/kv/index.ts']) expect(files.has(service), service).toBe(false);
  });

  test('the scan would notice: the keel/kv entry reaches prom-client and the command line reaches pino', () => {
    expect([...importGraph('src/kv/index.ts').packages.keys()]).toContain('prom-client');
    expect([...importGraph('cli/kv.ts').packages.keys()]).toEqual(expect.arrayContaining(['prom-client', 'pino']));
  });

  test('package.json lists both as runtime dependencies (the installed CLI needs them) and exports keel/kv', () => {
    const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string>; exports: Record<string, unknown> };
    for (const name of SERVICE_PACKAGES) expect(manifest.dependencies[name], name).toBeDefined();
    expect(manifest.exports['./kv']).toEqual({ types: './dist/src/kv/index.d.ts', import: './dist/src/kv/index.js' });
  });
});
