/**
 * Drill: `kill -9` of eu-1 while eu payments flow (and so, at this rate, while it commits a batch).
 * The eu outboxes fail over to eu-2 inside the jurisdiction; a batch eu-1 committed before it died
 * is a replay at eu-2 (commit is idempotent by digest, the eu backends share one database).
 */
import { expect } from 'vitest';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

drillSuite('chaos: a regional backend killed mid-commit', 'settles every accepted payment exactly once through eu-2: none lost, none duplicated', async ({ topology }) => {
  const since = topology.output().length;
  const result = await runDrill({ name: 'regional-kill', recoveryFlow: drillFlows[0]!, inject: () => process.kill(topology.pid('eu-1'), 'SIGKILL') });
  expect(topology.output().slice(since)).toMatch(/carrying on without eu-1/);
  assertReconciled(result, expect);
});
