/**
 * Vitest global setup: compiles the library to dist/ once before the tests,
 * because some tests run real child processes (the CLI, the crash test) and
 * those execute compiled JavaScript, not the TypeScript sources. It also
 * writes the prebuilt playground (dist/playground), which the packed package
 * ships, as `npm run build` does.
 * KEEL_SKIP_BUILD=1 skips it for quick iterations on tests that need no dist/.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export default function setup(): void {
  if (process.env['KEEL_SKIP_BUILD'] === '1') return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['bin/keel.js', 'playground', '--out', 'dist/playground'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
