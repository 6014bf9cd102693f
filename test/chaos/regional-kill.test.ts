/**
 * Drill: `kill -9` of eu-1 while eu payments flow (and so, at this rate, while it commits a batch).
 * The eu outboxes fail over to eu-2 inside the jurisdiction; a batch eu-1 committed before it died
 * is a replay at eu-2 (commit is idempotent by digest, the eu backends share one database).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertReconciled, drillFlows, runDrill, sharedTopology, type Topology } from './chaos-support.ts';

let topology: Topology;
beforeAll(async () => {
  ({ topology } = await sharedTopology());
}, 300_000);

describe('chaos: a regional backend killed mid-commit', () => {
  it('settles every accepted payment exactly once through eu-2: none lost, none duplicated', async () => {
    const since = topology.output().length;
    const result = await runDrill({ name: 'regional-kill', recoveryFlow: drillFlows[0]!, inject: () => process.kill(topology.pid('eu-1'), 'SIGKILL') });
    expect(topology.output().slice(since)).toMatch(/carrying on without eu-1/);
    assertReconciled(result, expect);
  }, 600_000);
});
