/**
 * `keel playground`: builds the playground page (playground/) and serves it
 * on 127.0.0.1, or writes a static build with `--out DIR`.
 *
 * Where the page comes from: in a checkout, esbuild (a dev dependency)
 * bundles playground/src/main.ts for the browser, so the page always runs
 * the code in front of you. An installed package has neither esbuild nor the
 * sources; `npm run build` (and so `npm pack`) puts a prebuilt copy in
 * dist/playground/, which is served instead.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerOption, parseOptions, UsageError, withUsage } from './args.js';

const HELP = `Usage: keel playground [--port N] [--out DIR]

Builds Keel's playground, a page that runs the unchanged RaftNode and the
simulator in the browser (see docs/playground.md), and serves it on
http://127.0.0.1:PORT/ until interrupted.

Options:
  --port N    port to serve on, 0 for any free one (default 8790)
  --out DIR   write a static build (index.html, style.css, playground.js)
              to DIR and exit; host it anywhere
`;

/** The files of the page, by name. */
export type PlaygroundFiles = ReadonlyMap<string, Uint8Array>;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'playground.js': 'text/javascript; charset=utf-8',
};

/** The package root: this file is cli/playground.ts, or dist/cli/playground.js once compiled. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, '..');
  return existsSync(join(up, 'package.json')) ? up : resolve(up, '..');
}

/** `keel playground`. */
export function runPlayground(args: readonly string[]): Promise<number> {
  return withUsage(HELP, async () => {
    const values = parseOptions(args, { port: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help === true) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values.out !== undefined && values.port !== undefined) throw new UsageError('give --out or --port, not both');
    const files = await loadPlayground();
    if (values.out !== undefined) {
      await writePlayground(files, values.out);
      process.stdout.write(`wrote the playground to ${resolve(values.out)}\n`);
      return 0;
    }
    const server = await servePlayground(files, integerOption('port', values.port, 8790, 0, 65_535));
    process.stdout.write(`Keel playground: ${playgroundUrl(server)}\n(Ctrl-C to stop)\n`);
    await new Promise<void>((resolveClosed) => server.on('close', resolveClosed));
    return 0;
  });
}

/** The page: built now from the sources when esbuild and they are at hand, else the prebuilt copy in dist/playground. */
export async function loadPlayground(): Promise<PlaygroundFiles> {
  const root = packageRoot();
  const entry = join(root, 'playground', 'src', 'main.ts');
  if (existsSync(entry)) {
    const esbuild = await import('esbuild').catch(() => null);
    if (esbuild !== null) return buildPlayground(root);
  }
  const prebuilt = join(root, 'dist', 'playground');
  if (!existsSync(join(prebuilt, 'playground.js'))) {
    throw new UsageError('the playground is not built: run `npm run build` in a checkout of Keel (it needs the dev dependency esbuild)');
  }
  const files = new Map<string, Uint8Array>();
  for (const name of Object.keys(CONTENT_TYPES)) files.set(name, await readFile(join(prebuilt, name)));
  return files;
}

/**
 * Bundles the page with esbuild for the browser. `platform: 'browser'` makes
 * any import of a Node built-in (`node:fs`, …) a build error, so a page that
 * builds runs nothing Node-only.
 */
export async function buildPlayground(root: string = packageRoot()): Promise<PlaygroundFiles> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(root, 'playground', 'src', 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    // Errors name themselves after their class (`this.name = new.target.name`), and error names reach the trace:
    // renamed classes would change the trace hash.
    keepNames: true,
    sourcemap: false,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const script = result.outputFiles[0];
  if (script === undefined) throw new Error('esbuild wrote no bundle for the playground');
  return new Map<string, Uint8Array>([
    ['index.html', await readFile(join(root, 'playground', 'index.html'))],
    ['style.css', await readFile(join(root, 'playground', 'style.css'))],
    ['playground.js', script.contents],
  ]);
}

/** Writes the page's files into `directory`. */
export async function writePlayground(files: PlaygroundFiles, directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  for (const [name, contents] of files) await writeFile(join(directory, name), contents);
}

/** Serves the page on 127.0.0.1:`port`; resolves once listening. */
export function servePlayground(files: PlaygroundFiles, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const name = path === '/' ? 'index.html' : path.slice(1);
    const contents = files.get(name);
    if ((request.method !== 'GET' && request.method !== 'HEAD') || contents === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[name] ?? 'application/octet-stream',
      'content-length': contents.byteLength,
      'cache-control': 'no-store',
      // The page may talk to nothing but this server.
      'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:",
    });
    response.end(request.method === 'HEAD' ? undefined : contents);
  });
  return new Promise<Server>((resolveListening, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListening(server));
  });
}

/** The address a server from {@link servePlayground} answers on. */
export function playgroundUrl(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the playground server is not listening on a port');
  return `http://127.0.0.1:${address.port}/`;
}
