/**
 * The docs hang together: docs/README.md indexes every page, and every
 * relative link in README.md and docs/*.md points to a file that exists and,
 * for a link to a heading, to a heading that exists (GitHub's anchors).
 * Links into docs/api/ are left out: that reference is generated, not committed.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(path: string): Set<string> {
  const markdown = readFileSync(join(ROOT, path), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

test('docs/README.md links every page of docs/', () => {
  const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
  const pages = PAGES.filter((path) => path.startsWith('docs/') && path !== 'docs/README.md').map((path) => path.slice('docs/'.length));
  expect(pages.length).toBeGreaterThan(5);
  expect(pages.filter((page) => !index.includes(`](${page})`))).toEqual([]);
});

test.each(PAGES)('%s: every relative link points to an existing file and heading', (page) => {
  const links = [...prose(readFileSync(join(ROOT, page), 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);
  const broken: string[] = [];
  for (const link of links) {
    if (/^[a-z]+:/.test(link)) continue;
    const [file, anchor] = link.split('#') as [string, string | undefined];
    const target = file === '' ? page : normalize(join(dirname(page), file));
    if (target.startsWith('docs/api/')) continue;
    if (!existsSync(join(ROOT, target))) broken.push(`${link}: no file ${target}`);
    else if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(target).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${target}`);
  }
  expect(broken).toEqual([]);
});
