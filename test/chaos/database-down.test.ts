/**
 * Drill: the eu database goes away (every connection of eu-1 and eu-2 reset, new ones refused),
 * then comes back. Both eu backends fail their commits and their /healthz while it is down, so eu
 * outboxes keep their sealed batches and retry; the edge keeps accepting (admission never touches
 * a regional database). After it is back every eu batch commits once: a commit cut mid-transaction
 * rolled back, and one cut after COMMIT is a replay by digest.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertReconciled, drillFlows, runDrill, sharedTopology, type FaultHooks } from './chaos-support.ts';

let faults: FaultHooks;
beforeAll(async () => {
  ({ faults } = await sharedTopology());
}, 300_000);

describe('chaos: the eu database down, then back', () => {
  it('settles every accepted eu payment exactly once after the database returns', async () => {
    const result = await runDrill(
      { name: 'database-down', recoveryFlow: drillFlows[0]!, inject: () => faults.euDatabase.down(), heal: () => faults.euDatabase.up() },
      () => ({ connections_reset: faults.euDatabase.resets() }),
    );
    expect(faults.euDatabase.resets()).toBeGreaterThan(0); // the fault reached the backends' connections
    assertReconciled(result, expect);
  }, 600_000);
});
