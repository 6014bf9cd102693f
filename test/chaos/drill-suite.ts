/**
 * The frame every drill file shares: the shared topology (every regional backend alive again) in
 * beforeAll, one test with the drill's budget. Kept apart from chaos-support.ts, which the failover
 * benchmark imports outside vitest.
 */
import { beforeAll, describe, it } from 'vitest';
import { sharedTopology, type FaultHooks, type Topology } from './chaos-support.ts';

const drillTimeoutMs = 600_000;
const topologyTimeoutMs = 300_000;

export function drillSuite(title: string, behaviour: string, drill: (shared: { topology: Topology; faults: FaultHooks }) => Promise<void>): void {
  let shared: { topology: Topology; faults: FaultHooks };
  beforeAll(async () => {
    shared = await sharedTopology();
  }, topologyTimeoutMs);
  describe(title, () => {
    it(behaviour, () => drill(shared), drillTimeoutMs);
  });
}
