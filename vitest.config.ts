import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The package's own names, as the examples import them, resolved to the sources (as tsconfig.json's paths do for the typecheck). */
function source(path: string): string {
  return fileURLToPath(new URL(path, import.meta.url));
}

export default defineConfig({
  resolve: {
    alias: [
      { find: /^keel$/, replacement: source('./src/index.ts') },
      { find: /^keel\/sim$/, replacement: source('./sim/index.ts') },
      { find: /^keel\/testing$/, replacement: source('./src/testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/setup/build-dist.ts'],
  },
});
