/**
 * Drill: the eu database goes away (every connection of eu-1 and eu-2 reset, new ones refused),
 * then comes back. Both eu backends fail their commits and their /healthz while it is down, so eu
 * outboxes keep their sealed batches and retry; the edge keeps accepting (admission never touches
 * a regional database). After it is back every eu batch commits once: a commit cut mid-transaction
 * rolled back, and one cut after COMMIT is a replay by digest.
 */
import { expect } from 'vitest';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

drillSuite('chaos: the eu database down, then back', 'settles every accepted eu payment exactly once after the database returns', async ({ faults }) => {
  const result = await runDrill(
    { name: 'database-down', recoveryFlow: drillFlows[0]!, inject: () => faults.euDatabase.down(), heal: () => faults.euDatabase.up() },
    () => ({ connections_reset: faults.euDatabase.resets() }),
  );
  expect(faults.euDatabase.resets()).toBeGreaterThan(0); // the fault reached the backends' connections
  assertReconciled(result, expect);
});
