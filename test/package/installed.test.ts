/**
 * The published package, as a user gets it: `npm pack`, installed offline
 * into an empty project, then its commands and entry points run from there.
 * It catches what the repository's own tests cannot see: a command that
 * needs a file the package does not ship (`keel bench` once failed with
 * ERR_MODULE_NOT_FOUND for dist/bench/core.js), or an export that points
 * nowhere, or a published type that a strict user project cannot compile.
 * Needs the built dist/ (the global setup builds it).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileConsumer, installOffline, packInto, runCommand, writeStrictConsumer } from './consumer-project.js';
import type { CommandResult } from './consumer-project.js';

describe('the packed keel package installed into an empty project', () => {
  let project = '';
  let packedFiles: readonly string[] = [];

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'keel-installed-'));
    const packed = packInto(project);
    packedFiles = packed.files;
    const install = installOffline(project, packed.filename);
    expect(install.status, `npm ci --offline failed:\n${install.stderr}`).toBe(0);
  });

  afterAll(() => {
    if (project !== '') rmSync(project, { recursive: true, force: true });
  });

  function keel(...args: string[]): CommandResult {
    return runCommand('npx', ['--offline', 'keel', ...args], project);
  }

  test('the tarball holds the compiled CLI, benchmarks and simulator, and none of the tests', () => {
    for (const path of ['bin/keel.js', 'dist/cli/main.js', 'dist/playground/playground.js', 'dist/playground/index.html', 'dist/bench/core.js', 'dist/bench/support/process-cluster.js', 'dist/sim/index.js', 'dist/src/testing/index.d.ts']) {
      expect(packedFiles, path).toContain(path);
    }
    expect(packedFiles.filter((path) => path.startsWith('test/') || path.startsWith('dist/test/'))).toEqual([]);
    expect(packedFiles.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    // The guides ship; the generated API reference (npm run docs, docs/api/) does not, even when it was generated here.
    expect(packedFiles).toContain('docs/api.md');
    expect(packedFiles.filter((path) => path.startsWith('docs/api/'))).toEqual([]);
  });

  test('npx keel --help lists the commands', () => {
    const result = keel('--help');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: keel <command> [options]');
    expect(result.stdout).toMatch(/^ {2}bench +run the benchmarks/m);
    expect(result.stdout).toMatch(/^ {2}playground +serve the playground/m);
  });

  test('npx keel playground --out writes the prebuilt page: an installed package has neither esbuild nor the sources', () => {
    const out = join(project, 'site');
    const result = keel('playground', '--out', out);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`wrote the playground to ${out}`);
    expect(readdirSync(out).sort()).toEqual(['index.html', 'playground.js', 'style.css']);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('<script type="module" src="playground.js">');
  });

  test('npx keel sim --seed 1 runs one simulated world without a violation', () => {
    const result = keel('sim', '--seed', '1');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^violations +0$/m);
    expect(result.stdout).toMatch(/^liveness failures +0$/m);
  });

  test('npx keel bench --quick --only core finds the shipped benchmark and prints its figures', () => {
    const result = keel('bench', '--quick', '--only', 'core');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('== core ==');
    expect(result.stdout).toMatch(/^ +1024 +\d+ +[\d.]+ +[\d,]+$/m);
  });

  test('npx keel kv --help prints the usage of the key-value node', () => {
    const result = keel('kv', '--help');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Usage: keel kv --id ID --peers/);
  });

  test("the entry points 'keel', 'keel/testing' and 'keel/sim' import, and keel/testing elects a leader", () => {
    const script = [
      "import { RaftNode, LevelStorage } from 'keel';",
      "import { CoreCluster, SafetyChecker } from 'keel/testing';",
      "import { runSeed } from 'keel/sim';",
      'const cluster = new CoreCluster({ seed: 7 });',
      "const leader = cluster.elect('n2');",
      'console.log([typeof RaftNode, typeof LevelStorage, typeof SafetyChecker, typeof runSeed].join(" "));',
      'console.log(`leader ${leader} after ${cluster.checker.steps} checked steps`);',
    ].join('\n');
    const result = runCommand(process.execPath, ['--input-type=module', '--eval', script], project);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('function function function function');
    expect(result.stdout).toMatch(/^leader n2 after [1-9]\d* checked steps$/m);
  });

  test("'keel/kv' imports the service; 'keel' loads neither prom-client nor pino at run time", () => {
    // A resolve hook that refuses the service's packages: 'keel' must import without them, 'keel/kv' must not.
    const hook = 'export async function resolve(specifier, context, next) { if (/^(prom-client|pino)(\\/|$)/.test(specifier)) throw new Error(`refused ${specifier}`); return next(specifier, context); }';
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const run = (script: string) => runCommand(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '--eval', script], project);
    const library = run("const keel = await import('keel'); console.log(typeof keel.RaftNode, typeof keel.KvStore);");
    expect(library.status, library.stderr).toBe(0);
    expect(library.stdout.trim()).toBe('function function');
    const service = run("await import('keel/kv');");
    expect(service.status).not.toBe(0);
    expect(service.stderr).toMatch(/refused (prom-client|pino)/);
    const plain = runCommand(process.execPath, ['--input-type=module', '--eval', "const kv = await import('keel/kv'); console.log(typeof kv.KvHttpServer, typeof kv.KvMetrics, typeof kv.HttpTokens);"], project);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toBe('function function function');
  });

  test("'keel' imports and runs on memory storage without LevelDB; LevelStorage.open then rejects with a typed error", () => {
    // A resolve hook that refuses LevelDB's packages, as on a platform where classic-level has no binary.
    const hook = 'export async function resolve(specifier, context, next) { if (/^(level|classic-level)(\\/|$)/.test(specifier)) throw new Error(`refused ${specifier}`); return next(specifier, context); }';
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const script = [
      "const { MemoryStorage, LevelStorage } = await import('keel');",
      'const storage = new MemoryStorage();',
      'await storage.append([{ index: 1, term: 1, type: "normal", data: new Uint8Array([7]) }]);',
      'console.log(`memory ${storage.lastIndex()}`);',
      "const failure = await LevelStorage.open({ location: 'unused-db', nodeId: 'a' }).catch((error) => error);",
      'console.log(`level ${failure.code}`);',
    ].join('\n');
    const result = runCommand(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '--eval', script], project);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('memory 1');
    expect(result.stdout).toContain('level KEEL_STORAGE_IO');
  });

  test('a strict TypeScript project typechecks against the installed types and runs the docs\' examples', () => {
    // strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes, NodeNext, skipLibCheck off; the repository's own TypeScript.
    writeStrictConsumer(project);
    const compiled = compileConsumer(project);
    expect(compiled.status, `tsc failed on the strict consumer:\n${compiled.stdout}${compiled.stderr}`).toBe(0);
    const result = runCommand(process.execPath, ['out/main.js'], project);
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printed).toEqual({
      totals: [15, 15, 15],
      position: 1,
      partitioned: { oldLeader: 'n1', newLeader: expect.stringMatching(/^n[23]$/), applied: [['kept'], ['kept'], ['kept']] },
      elected: 'n2',
      notLeader: 'KEEL_NOT_LEADER',
      firstMember: 'a',
      draw: true,
      simulated: expect.stringMatching(/^seed 1: ok/),
      simulatedOk: true,
      exported: 'function function function',
    });
  });
});
