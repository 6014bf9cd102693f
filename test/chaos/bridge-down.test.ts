/**
 * Drill: the Upstash-compatible Redis bridge killed while payments flow. The launcher restarts it.
 * Until velocity limits read Redis at the edge (helper A's work), this proves the weaker property
 * the brief asks for now: with the bridge down no accepted payment is lost or settled twice; every
 * refusal is a problem answer, counted by slug.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillFlows, drillPayments, logSizes, reconcile, recordDrill, startTopology, submitPayments, timeToSettle, type Topology } from './chaos-support.ts';

let topology: Topology;
beforeAll(async () => {
  topology = await startTopology();
}, 200_000);
afterAll(async () => topology?.stop(), 60_000);

describe('chaos: the Redis bridge down, then back', () => {
  it('loses no accepted payment while the bridge is down and after it is restarted', async () => {
    const before = await logSizes();
    let recovery: Promise<number> | undefined;
    const submission = await submitPayments(drillPayments, drillFlows, (done) => {
      if (done !== Math.floor(drillPayments / 3)) return;
      process.kill(topology.pid('redis-bridge'), 'SIGKILL');
      recovery = timeToSettle(drillFlows[1]!, Date.now());
    });
    const recoveryMs = await recovery!;
    await topology.waitForOutput(/meridian: redis-bridge restarted, ready at/, 60_000);
    const reconciliation = await reconcile(drillPayments + 1, submission.accepted, before);
    recordDrill('bridge-down', reconciliation, recoveryMs, { refused: Object.fromEntries(submission.refused), unanswered: submission.unanswered });
    expect(reconciliation.lost, reconciliation.examples.join('\n')).toBe(0);
    expect(reconciliation.duplicated, reconciliation.examples.join('\n')).toBe(0);
    expect(reconciliation.settled + reconciliation.held + reconciliation.rejected).toBe(reconciliation.accepted);
  }, 600_000);
});
