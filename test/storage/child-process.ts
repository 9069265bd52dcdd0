/**
 * Helpers for tests that run LevelStorage in a child process: the child is a
 * plain `.mjs` file that imports the built library from dist/.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The built storage module the children import. */
export const BUILT_LEVEL_STORAGE = fileURLToPath(new URL('../../dist/src/storage/level.js', import.meta.url));

/** A running child and every stdout line it has printed so far. */
export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  /** Resolves with the exit code (null) and signal once the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line, already printed or to come, that satisfies `predicate`; rejects if the child exits first. */
  waitForLine(predicate: (line: string) => boolean): Promise<string>;
  /** Everything the child wrote to stderr. */
  stderr(): string;
}

/** Starts `node <script> ...args` with piped stdio. Fails early when dist/ has not been built. */
export function startChild(script: string, args: readonly string[]): Child {
  if (!existsSync(BUILT_LEVEL_STORAGE)) {
    throw new Error(`${BUILT_LEVEL_STORAGE} is missing: build first with \`npx tsc -p tsconfig.build.json\``);
  }
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: 'pipe' });
  const lines: string[] = [];
  let stderr = '';
  const watchers: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const watcher of watchers.splice(0)) {
      if (watcher.predicate(line)) watcher.resolve(line);
      else watchers.push(watcher);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    lines,
    exited,
    stderr: () => stderr,
    waitForLine(predicate) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.push({ predicate, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (code ${String(code)}, signal ${String(signal)}) before the expected line; stderr:\n${stderr}`)),
        );
      });
    },
  };
}
