/**
 * Drill: the Upstash-compatible Redis bridge killed while payments flow; the launcher restarts it.
 * Once velocity limits are a stage of the pipeline (the seam at workers/payments/payment-routes.ts)
 * they fail closed, `velocity-unavailable`, while it is down: payments submitted meanwhile may be
 * refused with a problem, never accepted and lost. Every refusal is counted by slug in the record.
 */
import { expect } from 'vitest';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

drillSuite('chaos: the Redis bridge down, then back', 'loses no accepted payment while the bridge is down and after it is restarted', async ({ topology }) => {
  const since = topology.output().length;
  const result = await runDrill({ name: 'bridge-down', recoveryFlow: drillFlows[1]!, inject: () => process.kill(topology.pid('redis-bridge'), 'SIGKILL') });
  await topology.waitForOutput(/meridian: redis-bridge restarted, ready at/, 60_000, since);
  assertReconciled(result, expect);
});
