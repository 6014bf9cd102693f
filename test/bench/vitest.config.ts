import { defineConfig } from 'vitest/config';

/**
 * Runs test/bench/ on Node until the repository's vitest.config.ts includes it in the `node`
 * project:  npx vitest run --config test/bench/vitest.config.ts
 */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/bench/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 400_000,
  },
});
