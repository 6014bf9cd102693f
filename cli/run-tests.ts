/**
 * `npm test`: the type checks for both runtimes, then every vitest suite (workerd and Node), then
 * one plain summary line `N passed, N failed[, N skipped]` that CI reads.
 *
 * Suites that need PostgreSQL or Redis run against them when DATABASE_URL / REDIS_URL are set
 * (.ci/run sets both); without them those suites run on the embedded defaults.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  success: boolean;
}

const bin = 'node_modules/.bin';
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
let passed = 0;
let failed = 0;

for (const project of ['tsconfig.json', 'tsconfig.workers.json']) {
  const check = spawnSync(`${bin}/tsc`, ['-p', project, '--noEmit'], { stdio: 'inherit', env });
  if (check.status === 0) {
    passed += 1;
    console.log(`type check ${project}: ok`);
  } else {
    failed += 1;
    console.log(`type check ${project}: FAILED`);
  }
}

mkdirSync('.data', { recursive: true });
const reportPath = '.data/vitest-report.json';
const extra = process.argv.slice(2);
const run = spawnSync(`${bin}/vitest`, ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...extra], { stdio: 'inherit', env });
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as VitestReport;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that failed to load has no failed test of its own: count it so the line cannot read green.
  if (report.numFailedTestSuites > 0 && report.numFailedTests === 0) failed += report.numFailedTestSuites;
} catch (cause) {
  console.error(`vitest wrote no report (${(cause as Error).message}); counting the run as failed`);
  failed += 1;
}
if (run.status !== 0 && failed === 0) failed += 1;

console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
