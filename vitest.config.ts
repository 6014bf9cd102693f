import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Two projects, two runtimes: `workers` runs inside workerd (the same runtime as production),
// `node` runs core/, regional/, cli/ and the end-to-end suites on Node.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/core/**/*.test.ts', 'test/regional/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/conformance/node/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts', 'test/conformance/workers/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
