#!/usr/bin/env node
// Keel's command-line entry. The commands are compiled TypeScript under dist/;
// `npm start`, `npm run bench` and `npm run sim` build it first.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('keel: dist/ is missing; run `npm run build` first (npm start does it for you).\n');
  process.exit(2);
}
// A reader that stops early (`keel sim | head`) is a normal end, not a crash.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
