import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { gatewayDevBindings } from './dev/fixtures.ts';

/**
 * The regional backends the workerd suites settle into (started by test/workers/global-setup.ts)
 * listen on three consecutive ports picked per run, so parallel runs on one machine don't collide.
 * The config and the global setup run in the same process; the env variable carries the choice.
 * Below Linux's ephemeral range (32768–60999), where any outgoing connection could hold the port
 * (test/support/free-ports.ts; this config is synchronous, so it cannot probe).
 */
process.env.MERIDIAN_WORKERS_TEST_PORT ??= String(20_000 + Math.floor(Math.random() * 12_000));
export const workersTestRegionalPort = Number(process.env.MERIDIAN_WORKERS_TEST_PORT);
/** The Upstash-compatible bridge of the workerd suites (velocity limits), on the port after the backends'. */
export const workersTestBridgePort = workersTestRegionalPort + 3;

// Two projects, two runtimes: `workers` runs inside workerd (the same runtime as production),
// `node` runs core/, regional/, cli/ and the end-to-end suites on Node.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/core/**/*.test.ts', 'test/regional/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/conformance/node/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/policies/**/*.test.ts', 'test/evidence/**/*.test.ts', 'test/infra/**/*.test.ts', 'test/sdk/**/*.test.ts', 'test/bench/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        // The ops console in Chromium against `meridian start`, whose ports are fixed: after every
        // other project (groupOrder), one file at a time, so it never overlaps test/e2e/.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 200_000,
          pool: 'forks',
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Chaos drills (test/chaos/) kill parts of `meridian start` on its fixed ports: after the
        // browser project, one file at a time. MERIDIAN_CHAOS_PAYMENTS sets the count (`npm run chaos`: 1,000).
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 240_000,
          pool: 'forks',
          fileParallelism: false,
          // One process for every drill file, so they share one `meridian start` (test/chaos/global-setup.ts stops it).
          isolate: false,
          globalSetup: ['test/chaos/global-setup.ts'],
          sequence: { groupOrder: 2 },
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ...gatewayDevBindings(),
                UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${workersTestBridgePort}`,
                REGIONAL_BACKENDS: JSON.stringify({
                  eu: [{ region: 'eu-down', url: 'http://127.0.0.1:9' }, { region: 'eu-1', url: `http://127.0.0.1:${workersTestRegionalPort}` }],
                  us: [{ region: 'us-1', url: `http://127.0.0.1:${workersTestRegionalPort + 1}` }],
                  ap: [{ region: 'ap-1', url: `http://127.0.0.1:${workersTestRegionalPort + 2}` }],
                }),
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts', 'test/conformance/workers/**/*.test.ts'],
          globalSetup: ['test/workers/global-setup.ts', 'test/support/world-check-global-setup.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
