import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground, playgroundUrl, runPlayground, servePlayground } from '../../cli/playground.js';
import type { PlaygroundFiles } from '../../cli/playground.js';

describe('keel playground', () => {
  let files: PlaygroundFiles;
  let directory = '';

  beforeAll(async () => {
    files = await buildPlayground();
    directory = mkdtempSync(join(tmpdir(), 'keel-playground-'));
  });

  afterAll(() => {
    if (directory !== '') rmSync(directory, { recursive: true, force: true });
  });

  it('--out writes a static build: the page, its style and one bundled script', async () => {
    const out = join(directory, 'site');
    expect(await runPlayground(['--out', out])).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['index.html', 'playground.js', 'style.css']);
    expect(readFileSync(join(out, 'playground.js')).byteLength).toBeGreaterThan(50_000);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain("default-src 'self'");
  });

  it('serves the page on 127.0.0.1, only its own files, with a policy that keeps it to its origin', async () => {
    const server = await servePlayground(files, 0);
    try {
      const url = playgroundUrl(server);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('Keel playground');
      const script = await fetch(`${url}playground.js`);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await script.arrayBuffer()).byteLength).toBe(files.get('playground.js')!.byteLength);
      expect((await fetch(`${url}../package.json`)).status).toBe(404);
      expect((await fetch(`${url}index.html`, { method: 'POST' })).status).toBe(404);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses --out with --port, and a port out of range, as usage errors', async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await runPlayground(['--out', directory, '--port', '9000'])).toBe(2);
      expect(await runPlayground(['--port', '70000'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain('give --out or --port, not both');
    expect(stderr.join('')).toContain('--port must be an integer from 0 to 65535');
  });
});
