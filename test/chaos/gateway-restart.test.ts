/**
 * Drill: `kill -9` of the gateway (wrangler dev) while payments flow. The launcher restarts it;
 * Durable Object storage persists in the data directory, so every payment answered 202 before the
 * kill settles after it. Partners whose request got no answer retry the same instruction (same
 * UETR) and get the original answer if it had been admitted.
 */
import { expect } from 'vitest';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

drillSuite('chaos: wrangler dev killed and restarted', 'loses no accepted payment across the restart and settles none twice', async ({ topology }) => {
  const since = topology.output().length;
  const result = await runDrill({ name: 'gateway-restart', recoveryFlow: drillFlows[2]!, recoveryTimeoutMs: 180_000, inject: () => process.kill(topology.pid('gateway'), 'SIGKILL') });
  await topology.waitForOutput(/meridian: gateway restarted, ready at/, 60_000, since);
  assertReconciled(result, expect);
});
