/**
 * `npm run bench:failover [samples] [rounds] [background]` (under `flock /tmp/meridian-ports.lock`:
 * it starts `meridian start` on the fixed ports). While eu payments flow (`background` submitters
 * keep eu payments in every window, so the kill lands while windows close and deliver), `kill -9`
 * eu-1, then measure:
 *   - failover_ms: from the kill until an eu payment submitted at the kill reads `settled` (by
 *     eu-2); target ≤ 5,000 ms;
 *   - added_latency_ms: median submit→settled latency of `samples` eu payments once the breaker is
 *     open, minus the same median just before the kill; target ≤ 1,000 ms.
 * Then eu-1 is started again (launcher: kill -USR2), it is preferred again, and the next round
 * kills it again. Prints each round and the medians; appends them to bench/results/failover.jsonl.
 */
import { recordResult, median, round } from './machine.ts';
import { drillFlows, gatewayUrl, sleep, startTopology, submitPayments, timeToSettle, type Topology } from '../test/chaos/chaos-support.ts';
import { PartnerClient } from '../packages/partner-sdk/src/partner-client.ts';

const samples = Number(process.argv[2] ?? '10');
const rounds = Number(process.argv[3] ?? '3');
const backgroundSubmitters = Number(process.argv[4] ?? '2');
const euFlow = drillFlows[0]!;
const statusPollMs = 50;
/** Settled by eu-1 again after its restart, before the next kill (the breaker closed on it). */
const preferredAgainTimeoutMs = 60_000;

interface Latencies {
  latencies: number[];
  regions: string[];
}

async function settleLatencies(count: number): Promise<Latencies> {
  const measured: Latencies = { latencies: [], regions: [] };
  for (let index = 0; index < count; index++) {
    const startedMs = Date.now();
    const submission = await submitPayments(1, [euFlow]);
    const accepted = submission.accepted[0];
    if (accepted === undefined) throw new Error(`an eu payment was refused: ${JSON.stringify(Object.fromEntries(submission.refusedDetails))}`);
    const client = new PartnerClient(accepted.partner, gatewayUrl);
    for (;;) {
      const status = await client.paymentStatus(accepted.uetr);
      if (status.body.status === 'settled') {
        measured.latencies.push(Date.now() - startedMs);
        measured.regions.push(String(status.body.region));
        break;
      }
      await sleep(statusPollMs);
    }
  }
  return measured;
}

/** eu payments in the background until stopped: windows are closing and delivering at the kill. */
function backgroundFlow(): { stop(): Promise<number> } {
  let running = true;
  let submitted = 0;
  const loops = Array.from({ length: backgroundSubmitters }, async () => {
    while (running) {
      await submitPayments(1, [euFlow]);
      submitted += 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return submitted;
    },
  };
}

async function waitUntilSettledBy(region: string): Promise<void> {
  const deadline = Date.now() + preferredAgainTimeoutMs;
  while (Date.now() < deadline) {
    const { regions } = await settleLatencies(1);
    if (regions[0] === region) return;
  }
  throw new Error(`${region} was not preferred again within ${preferredAgainTimeoutMs} ms of its restart`);
}

async function killRound(topology: Topology, roundIndex: number) {
  if (roundIndex > 0) {
    await topology.reviveRegionalBackends();
    await waitUntilSettledBy('eu-1');
  }
  const before = await settleLatencies(samples);
  const killedAtMs = Date.now();
  process.kill(topology.pid('eu-1'), 'SIGKILL');
  const failoverMs = await timeToSettle(euFlow, killedAtMs);
  const after = await settleLatencies(samples);
  const figures = {
    round: roundIndex + 1,
    failover_ms: failoverMs,
    settle_median_before_ms: round(median(before.latencies)),
    settle_median_after_ms: round(median(after.latencies)),
    added_latency_ms: round(median(after.latencies) - median(before.latencies)),
    regions_before: [...new Set(before.regions)],
    regions_after: [...new Set(after.regions)],
  };
  console.log(`failover round ${roundIndex + 1}: ${JSON.stringify(figures)}`);
  return figures;
}

const topology = await startTopology();
try {
  const background = backgroundFlow();
  const results = [];
  try {
    for (let roundIndex = 0; roundIndex < rounds; roundIndex++) results.push(await killRound(topology, roundIndex));
  } finally {
    console.log(`failover: ${await background.stop()} background eu payments submitted`);
  }
  const figures = {
    failover_ms: round(median(results.map((result) => result.failover_ms))),
    failover_ms_max: Math.max(...results.map((result) => result.failover_ms)),
    added_latency_ms: round(median(results.map((result) => result.added_latency_ms))),
    added_latency_ms_max: Math.max(...results.map((result) => result.added_latency_ms)),
    rounds: results,
    samples,
    background_submitters: backgroundSubmitters,
  };
  console.log(`failover: median ${figures.failover_ms} ms (max ${figures.failover_ms_max}), added latency median ${figures.added_latency_ms} ms (max ${figures.added_latency_ms_max})`);
  recordResult('bench/results/failover.jsonl', { bench: 'failover', figures, targets: { failover_ms: 5_000, added_latency_ms: 1_000 } });
} finally {
  await topology.stop();
}
