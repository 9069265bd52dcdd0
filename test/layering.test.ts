/**
 * Layers import downward only (docs/architecture.md, "Layering"). This test
 * reads the import statements of every TypeScript file and holds them to
 * the rules, so a wrong-way import fails here rather than in a review:
 *
 * - nothing in src/ imports sim/, bench/, cli/, test/ or examples/: the
 *   library does not depend on its tools;
 * - the pure core (src/core) and its helpers (src/quorum, src/progress,
 *   src/confchange) import no runtime, adapter, service or testing code;
 * - the adapters (src/storage, src/transport, src/codec) do not import the
 *   runtime (src/node) or the KV service (src/kv);
 * - the shipped tools (sim/, bench/, cli/) do not import test/, which the
 *   package does not ship.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One rule: files under any of `from` may import nothing under any of `forbidden`. */
interface LayerRule {
  readonly name: string;
  readonly from: readonly string[];
  readonly forbidden: readonly string[];
}

const RULES: readonly LayerRule[] = [
  { name: 'the library does not import its tools', from: ['src/'], forbidden: ['sim/', 'bench/', 'cli/', 'test/', 'examples/'] },
  {
    name: 'the pure core and its helpers import no runtime, adapter, service or testing code',
    from: ['src/core/', 'src/quorum/', 'src/progress/', 'src/confchange/'],
    forbidden: ['src/node/', 'src/host/', 'src/storage/', 'src/transport/', 'src/kv/', 'src/cli/', 'src/testing/'],
  },
  { name: 'adapters do not import the runtime or the KV service', from: ['src/storage/', 'src/transport/', 'src/codec/'], forbidden: ['src/node/', 'src/host/', 'src/kv/'] },
  { name: 'the one-group runtime does not import the multi-group host built on it', from: ['src/node/'], forbidden: ['src/host/'] },
  { name: 'the shipped tools do not import the tests', from: ['sim/', 'bench/', 'cli/'], forbidden: ['test/'] },
];

/**
 * Known wrong-way imports, each exactly one importer → imported pair. None
 * today: the core's port (`LogReader`) now lives in src/core and the clock in
 * src/util. The last test below fails when an entry is no longer needed.
 */
const ALLOWED: readonly string[] = [];

/**
 * The module specifiers a TypeScript source imports: static imports and
 * re-exports (type-only too, over several lines), side-effect imports and
 * dynamic `import('…')` with a literal. Only statements that begin a line
 * count, so an example inside a doc comment (` * import … from 'keel'`) is
 * not an import.
 */
function importSpecifiers(source: string): string[] {
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom[ \t]*['"]([^'"]+)['"]/gm,
    /^[ \t]*import[ \t]*['"]([^'"]+)['"]/gm,
    /\bimport\([ \t]*['"]([^'"]+)['"][ \t]*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

/** Every `.ts` file under `directory` (repository-relative, with `/`), skipping dependencies and build output. */
function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(`${ROOT}${directory}`, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    files.push(relative(ROOT, `${entry.parentPath}${sep}${entry.name}`).split(sep).join('/'));
  }
  return files.sort();
}

/** An import edge between two repository files; bare specifiers (packages, node:) are not files. */
interface Edge {
  readonly importer: string;
  readonly imported: string;
}

/** The repository files `file` imports, compiled `.js` specifiers mapped back to their `.ts` sources. */
function edgesOf(file: string): Edge[] {
  const source = readFileSync(`${ROOT}${file}`, 'utf8');
  return importSpecifiers(source)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({ importer: file, imported: posix.join(dirname(file), specifier).replace(/\.js$/, '.ts') }));
}

const EDGES: readonly Edge[] = ['src', 'sim', 'bench', 'cli'].flatMap((directory) => sourceFiles(directory).flatMap(edgesOf));

function breaks(rule: LayerRule, edge: Edge): boolean {
  const under = (path: string, prefixes: readonly string[]): boolean => prefixes.some((prefix) => path.startsWith(prefix));
  return under(edge.importer, rule.from) && under(edge.imported, rule.forbidden);
}

const format = (edge: Edge): string => `${edge.importer} -> ${edge.imported}`;

describe('layering', () => {
  test('the scanner reads multi-line, type-only, re-export, side-effect and dynamic imports, and skips doc comments', () => {
    const source = [
      '/**',
      " * import { RaftNode } from 'keel';",
      ' */',
      'import {',
      '  a,',
      '  b,',
      "} from './a.js';",
      "import type { C } from '../c.js';",
      "export { d } from './d.js';",
      "export type { E } from './e.js';",
      "import 'node:fs';",
      "const f = await import('../../f.js');",
      "const text = 'from here';",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['../../f.js', '../c.js', './a.js', './d.js', './e.js', 'node:fs'].sort());
  });

  test('the scan sees the whole code base', () => {
    // A scanner that silently found nothing would pass every rule.
    const importers = new Set(EDGES.map((edge) => edge.importer));
    expect(importers.size).toBeGreaterThan(100);
    expect(EDGES).toContainEqual({ importer: 'src/index.ts', imported: 'src/node/raft-node.ts' });
    expect(EDGES).toContainEqual({ importer: 'cli/sim.ts', imported: 'sim/core-schedule.ts' });
    expect(EDGES).toContainEqual({ importer: 'cli/bench.ts', imported: 'bench/core.ts' });
  });

  test.each(RULES.map((rule) => [rule.name, rule] as const))('%s', (_name, rule) => {
    const broken = EDGES.filter((edge) => breaks(rule, edge)).map(format);
    expect(broken.filter((edge) => !ALLOWED.includes(edge))).toEqual([]);
  });

  test('every allowed exception is still needed', () => {
    const present = new Set(EDGES.map(format));
    expect(ALLOWED.filter((edge) => !present.has(edge))).toEqual([]);
  });
});
