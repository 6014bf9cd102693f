/**
 * `npm run bench:failover` (under `flock /tmp/meridian-ports.lock`: it starts `meridian start` on
 * the fixed ports). With eu payments flowing, `kill -9` eu-1, then:
 *   - failover_ms: from the kill until an eu payment submitted at the kill reads `settled` (by eu-2);
 *     target ≤ 5,000 ms;
 *   - added_latency_ms: median submit→settled latency of eu payments after the breaker is open,
 *     minus the same median before the kill; target ≤ 1,000 ms.
 * Prints both and appends them to bench/results/failover.jsonl.
 */
import { recordResult, median, round } from './machine.ts';
import { drillFlows, gatewayUrl, sleep, startTopology, submitPayments, timeToSettle } from '../test/chaos/chaos-support.ts';
import { PartnerClient } from '../cli/sdk/partner-client.ts';

const samples = Number(process.argv[2] ?? '10');
const euFlow = drillFlows[0]!;

async function settleLatencies(count: number): Promise<{ latencies: number[]; regions: string[] }> {
  const latencies: number[] = [];
  const regions: string[] = [];
  for (let index = 0; index < count; index++) {
    const startedMs = Date.now();
    const submission = await submitPayments(1, [euFlow]);
    const accepted = submission.accepted[0];
    if (accepted === undefined) throw new Error('an eu payment was refused');
    const client = new PartnerClient(accepted.partner, gatewayUrl);
    for (;;) {
      const status = await client.paymentStatus(accepted.uetr);
      if (status.body.status === 'settled') {
        latencies.push(Date.now() - startedMs);
        regions.push(String(status.body.region));
        break;
      }
      await sleep(50);
    }
  }
  return { latencies, regions };
}

const topology = await startTopology();
try {
  const before = await settleLatencies(samples);
  const killedAtMs = Date.now();
  process.kill(topology.pid('eu-1'), 'SIGKILL');
  const failoverMs = await timeToSettle(euFlow, killedAtMs);
  const after = await settleLatencies(samples);
  const figures = {
    failover_ms: failoverMs,
    settle_median_before_ms: round(median(before.latencies)),
    settle_median_after_ms: round(median(after.latencies)),
    added_latency_ms: round(median(after.latencies) - median(before.latencies)),
    regions_before: [...new Set(before.regions)],
    regions_after: [...new Set(after.regions)],
    samples,
  };
  console.log(`failover: ${JSON.stringify(figures)}`);
  recordResult('bench/results/failover.jsonl', { bench: 'failover', figures, targets: { failover_ms: 5_000, added_latency_ms: 1_000 } });
} finally {
  await topology.stop();
}
