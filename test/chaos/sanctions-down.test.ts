/**
 * Drill: the sanctions provider (World-Check One, the local server behind a TCP gate) goes down
 * while payments flow, then comes back. Screening fails closed: every payment screened while it
 * is down is admitted `202 held` (no window, nothing settles unscreened) and stays held until an
 * operator decides; none is refused for it, none lost. After it is back, payments screen clear and
 * settle again. Reconciliation counts the held ones as held with no batch.
 */
import { expect } from 'vitest';
import { assertReconciled, drillFlows, runDrill } from './chaos-support.ts';
import { drillSuite } from './drill-suite.ts';

drillSuite('chaos: the sanctions provider down, then back', 'holds what it cannot screen, settles the rest once, loses nothing', async ({ faults }) => {
  const resetsBefore = faults.sanctionsProvider.resets();
  const result = await runDrill(
    { name: 'sanctions-down', recoveryFlow: drillFlows[1]!, inject: () => faults.sanctionsProvider.down(), heal: () => faults.sanctionsProvider.up() },
    () => ({ provider_connections_refused: faults.sanctionsProvider.resets() - resetsBefore }),
  );
  expect(result.reconciliation.held).toBeGreaterThan(0); // the outage was seen, and held rather than refused
  assertReconciled(result, expect);
});
