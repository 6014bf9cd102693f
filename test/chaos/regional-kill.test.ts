/**
 * Drill: `kill -9` of eu-1 while eu payments flow (and so, at this rate, while it commits a batch).
 * The eu outboxes fail over to eu-2 inside the jurisdiction; a batch eu-1 committed before it died
 * is a replay at eu-2 (commit is idempotent by digest, the eu backends share one database).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillFlows, drillPayments, logSizes, reconcile, recordDrill, startTopology, submitPayments, timeToSettle, type Topology } from './chaos-support.ts';

let topology: Topology;
beforeAll(async () => {
  topology = await startTopology();
}, 200_000);
afterAll(async () => topology?.stop(), 60_000);

describe('chaos: a regional backend killed mid-commit', () => {
  it('settles every accepted payment exactly once through eu-2: none lost, none duplicated', async () => {
    const before = await logSizes();
    let faultAtMs = 0;
    let recovery: Promise<number> | undefined;
    const submission = await submitPayments(drillPayments, drillFlows, (done) => {
      if (done !== Math.floor(drillPayments / 3)) return;
      process.kill(topology.pid('eu-1'), 'SIGKILL');
      faultAtMs = Date.now();
      recovery = timeToSettle(drillFlows[0]!, faultAtMs);
    });
    const recoveryMs = await recovery!;
    const reconciliation = await reconcile(drillPayments + 1, submission.accepted, before);
    recordDrill('regional-kill', reconciliation, recoveryMs, { refused: Object.fromEntries(submission.refused), unanswered: submission.unanswered });
    expect(topology.output()).toMatch(/carrying on without eu-1/);
    expect(reconciliation.lost, reconciliation.examples.join('\n')).toBe(0);
    expect(reconciliation.duplicated, reconciliation.examples.join('\n')).toBe(0);
    // Every request was answered (202 or a problem); refusals are counted by slug in the record.
    expect(submission.unanswered).toBe(0);
    expect(reconciliation.settled + reconciliation.held + reconciliation.rejected).toBe(reconciliation.accepted);
  }, 600_000);
});
