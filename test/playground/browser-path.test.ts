/**
 * The runtime and the simulator import nothing Node-only on the browser's
 * path, enforced rather than kept by convention: esbuild bundles the
 * playground for the browser (where an import of a Node built-in is a build
 * error), and every source file of src/ and sim/ that ends up in the bundle is
 * searched for Node-only globals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Node-only globals. `Buffer`, `process`, `setImmediate` and friends exist in
 * Node only; code on the browser path uses Uint8Array, TextEncoder, the Web
 * Crypto global and the turn scheduler of sim/world/turns.ts instead.
 */
const NODE_GLOBALS = /\bBuffer\s*[.(]|\bnew\s+Buffer\b|(?<![.\w])process\s*\.|\b(?:setImmediate|clearImmediate)\s*\(|\brequire\s*\(|\b__dirname\b|\b__filename\b/;

/**
 * Files allowed to use one, and why: the system clock is Node's timers (a
 * page runs the runtime on a clock of its own, the simulator's virtual one;
 * nothing there calls SystemClock).
 */
const ALLOWED = new Map([['src/util/clock.ts', 'SystemClock, the real clock, is never started in a page']]);

/** Source text without comments, so that prose about `process.nextTick` does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('the browser path (the playground bundle)', () => {
  it('bundles for the browser with no Node built-in, and covers the runtime, the core and the simulator', async () => {
    const result = await build({
      entryPoints: [join(ROOT, 'playground', 'src', 'main.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((input) => input.startsWith('node:'))).toEqual([]);
    for (const module of ['src/node/raft-node.ts', 'src/core/raft.ts', 'src/core/raw-node.ts', 'src/quorum/majority.ts', 'src/kv/store.ts', 'sim/world/world.ts', 'sim/runtime/run.ts', 'src/testing/invariants.ts']) {
      expect(inputs).toContain(module);
    }
    const offenders = inputs
      .filter((input) => (input.startsWith('src/') || input.startsWith('sim/')) && !ALLOWED.has(input))
      .filter((input) => NODE_GLOBALS.test(code(readFileSync(join(ROOT, input), 'utf8'))));
    expect(offenders).toEqual([]);
  });

  it('refuses a Node built-in on that path: the check has teeth', async () => {
    const failure = await build({
      stdin: { contents: "import { EventEmitter } from 'node:events'; export const emitter = new EventEmitter();", resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toContain('Could not resolve "node:events"');
    expect(NODE_GLOBALS.test(code('const bytes = Buffer.from(text);'))).toBe(true);
    expect(NODE_GLOBALS.test(code('process.nextTick(resolve);'))).toBe(true);
    expect(NODE_GLOBALS.test(code('// process.nextTick is Node-only\nconst x = 1;'))).toBe(false);
    expect(NODE_GLOBALS.test(code('const view = new ArrayBuffer(8);'))).toBe(false);
  });
});
