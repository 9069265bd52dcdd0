/**
 * docs/api.md's error table is the user's list of what Keel throws: it must
 * name every error class the package exports, and every stable code.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import * as keel from '../../src/index.js';

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const table = doc.slice(doc.indexOf('## Errors'), doc.indexOf('\n## ', doc.indexOf('## Errors') + 1));

/** The first column of each row: the class names, backquoted, comma-separated. */
function classesInTable(): string[] {
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => (line.split('|')[1] ?? '').split(',').map((cell) => cell.trim().replace(/`/g, '')));
}

test('docs/api.md has an error table', () => {
  expect(table).toContain('| class | code | when |');
});

test("every error class exported from 'keel' is in docs/api.md's error table", () => {
  const exported = Object.entries(keel)
    .filter(([, value]) => typeof value === 'function' && (value === keel.KeelError || value.prototype instanceof keel.KeelError))
    .map(([name]) => name)
    .sort();
  expect(exported.length).toBeGreaterThan(30);
  expect(exported.filter((name) => !classesInTable().includes(name))).toEqual([]);
  // And the table lists nothing the package does not export.
  expect(classesInTable().filter((name) => !exported.includes(name))).toEqual([]);
});

test('every KeelErrorCode appears in the table', () => {
  const source = readFileSync(new URL('../../src/errors.ts', import.meta.url), 'utf8');
  const union = source.slice(source.indexOf('export type KeelErrorCode'), source.indexOf(';', source.indexOf('export type KeelErrorCode')));
  const codes = [...union.matchAll(/'(KEEL_[A-Z_]+)'/g)].map((match) => match[1]!);
  expect(codes.length).toBeGreaterThan(25);
  expect(codes.filter((code) => !table.includes(`\`${code}\``))).toEqual([]);
});
