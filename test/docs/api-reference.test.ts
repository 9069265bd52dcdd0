/**
 * The API reference (`npm run docs`, TypeDoc) is generated from the TSDoc.
 * This test runs TypeDoc's validation without writing the pages and fails on
 * any warning: an export or public member without documentation, a type
 * that a public signature uses but no entry point exports, a `{@link}` that
 * resolves to nothing. It also checks that the reference covers exactly the
 * package's entry points.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = new URL('../../', import.meta.url);

interface PackageExport {
  readonly types: string;
}

test('typedoc.json documents every entry point of package.json exports, and only those', () => {
  const manifest = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { exports: Record<string, PackageExport | string> };
  const typedoc = JSON.parse(readFileSync(new URL('typedoc.json', ROOT), 'utf8')) as { entryPoints: string[] };
  // dist/src/index.d.ts is compiled from src/index.ts.
  const sources = Object.values(manifest.exports)
    .filter((target): target is PackageExport => typeof target === 'object')
    .map((target) => target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));
  expect([...typedoc.entryPoints].sort()).toEqual(sources.sort());
});

test('TypeDoc validates the API reference with no warning: every export and public member documented, every link resolved', () => {
  const typedoc = fileURLToPath(new URL('node_modules/typedoc/bin/typedoc', ROOT));
  const result = spawnSync(process.execPath, [typedoc, '--emit', 'none'], { cwd: fileURLToPath(ROOT), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const output = `${result.stdout}${result.stderr}`;
  expect(output).not.toMatch(/\[warning\]|\[error\]/);
  expect(result.status, output).toBe(0);
});
