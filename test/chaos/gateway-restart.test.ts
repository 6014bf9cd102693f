/**
 * Drill: `kill -9` of the gateway (wrangler dev) while payments flow. The launcher restarts it;
 * Durable Object storage persists in the data directory, so every payment answered 202 before the
 * kill settles after it. Partners whose request got no answer retry the same instruction (same
 * UETR) and get the original answer if it had been admitted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertReconciled, drillFlows, runDrill, sharedTopology, type Topology } from './chaos-support.ts';

let topology: Topology;
beforeAll(async () => {
  ({ topology } = await sharedTopology());
}, 300_000);

describe('chaos: wrangler dev killed and restarted', () => {
  it('loses no accepted payment across the restart and settles none twice', async () => {
    const since = topology.output().length;
    const result = await runDrill({ name: 'gateway-restart', recoveryFlow: drillFlows[2]!, recoveryTimeoutMs: 180_000, inject: () => process.kill(topology.pid('gateway'), 'SIGKILL') });
    await topology.waitForOutput(/meridian: gateway restarted, ready at/, 60_000, since);
    assertReconciled(result, expect);
  }, 600_000);
});
