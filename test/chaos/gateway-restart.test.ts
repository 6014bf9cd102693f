/**
 * Drill: `kill -9` of the gateway (wrangler dev) while payments flow. The launcher restarts it;
 * Durable Object storage persists in the data directory, so every payment answered 202 before the
 * kill settles after it. Partners whose request got no answer retry the same instruction (same
 * UETR) and get the original answer if it had been admitted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillFlows, drillPayments, logSizes, reconcile, recordDrill, startTopology, submitPayments, timeToSettle, type Topology } from './chaos-support.ts';

let topology: Topology;
beforeAll(async () => {
  topology = await startTopology();
}, 200_000);
afterAll(async () => topology?.stop(), 60_000);

describe('chaos: wrangler dev killed and restarted', () => {
  it('loses no accepted payment across the restart and settles none twice', async () => {
    const before = await logSizes();
    let recovery: Promise<number> | undefined;
    const submission = await submitPayments(drillPayments, drillFlows, (done) => {
      if (done !== Math.floor(drillPayments / 2)) return;
      process.kill(topology.pid('gateway'), 'SIGKILL');
      recovery = timeToSettle(drillFlows[2]!, Date.now(), 180_000);
    });
    const recoveryMs = await recovery!;
    await topology.waitForOutput(/meridian: gateway restarted, ready at/, 60_000);
    const reconciliation = await reconcile(drillPayments + 1, submission.accepted, before);
    recordDrill('gateway-restart', reconciliation, recoveryMs, { refused: Object.fromEntries(submission.refused), unanswered: submission.unanswered });
    expect(reconciliation.lost, reconciliation.examples.join('\n')).toBe(0);
    expect(reconciliation.duplicated, reconciliation.examples.join('\n')).toBe(0);
    expect(submission.unanswered).toBe(0);
    expect(reconciliation.settled + reconciliation.held + reconciliation.rejected).toBe(reconciliation.accepted);
  }, 600_000);
});
