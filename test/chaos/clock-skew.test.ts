/**
 * Drill: eu-1's wall clock steps ahead of the edge's (clock-skew-preload.ts), first by less than
 * the settlement token's tolerance, then by more than the token's whole lifetime, then back. The
 * edge mints each token with iat = its own now and exp = iat + settlementTokenTtlSeconds; eu-1
 * accepts up to clockToleranceSeconds of disagreement. Within it nothing changes; beyond it eu-1
 * answers 401 to every delivery, its breaker opens and eu windows settle through eu-2, until the
 * clock is back and eu-1 is preferred again. A refused token commits nothing, so nothing is lost
 * and nothing settles twice.
 */
import { expect } from 'vitest';
import { settlementTokenTtlSeconds } from '../../core/settlement-batch.ts';
import { clockToleranceSeconds } from '../../regional/edge-token.ts';
import { assertReconciled, drillFlows, runDrill, sleep, timeToSettle } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

const withinToleranceMs = (clockToleranceSeconds - 2) * 1_000;
const beyondLifetimeMs = (settlementTokenTtlSeconds + clockToleranceSeconds + 15) * 1_000;

drillSuite('chaos: clock skew between the edge and a regional backend', 'settles within the tolerance as before, fails over beyond it, and loses or duplicates nothing', async ({ faults }) => {
  faults.skewClock('eu-1', withinToleranceMs);
  await sleep(500);
  const withinMs = await timeToSettle(drillFlows[0]!, Date.now());
  const result = await runDrill(
    { name: 'clock-skew', recoveryFlow: drillFlows[0]!, inject: () => faults.skewClock('eu-1', beyondLifetimeMs), heal: () => faults.skewClock('eu-1', 0) },
    () => ({ skew_within_ms: withinToleranceMs, skew_beyond_ms: beyondLifetimeMs, settle_within_tolerance_ms: withinMs }),
  );
  assertReconciled(result, expect);
});
