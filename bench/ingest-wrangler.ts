/**
 * Ingest throughput of one corridor shard under `wrangler dev` (workerd, local SQLite-backed
 * Durable Objects): signed payments from one partner into a one-shard corridor (EUR-USD, FX), so
 * every payment passes the whole edge pipeline, that partner's PartnerState and the same single
 * CorridorWindow object, which meanwhile closes and seals its 2 s windows.
 *
 *   node_modules/.bin/node bench/ingest-wrangler.ts [payments, default 2000] [concurrency, default 16]
 *
 * It starts its own `wrangler dev` on a free port with a temporary config and `.dev.vars` (as
 * cli/dev/launcher.ts writes them; bench/edge/runtimes.ts) and `--persist-to` a temporary directory, so it never touches
 * a running `npm start`: its regional backends point at a closed port (windows seal and retry
 * delivery; settlement is not part of this figure). Requests are signed before the clock starts
 * (message signature and instruction JWS), so the figure is the gateway's, not the client's. On
 * this machine client, wrangler and workerd share the same cores. Appends one JSON line to
 * bench/results/ingest.jsonl.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drive, percentile, refusalCounts, signPayments, type PaymentFlow } from './edge/load.ts';
import { startWranglerDev, writeGatewayConfig } from './edge/runtimes.ts';
import { median, recordResult, round } from './machine.ts';

const paymentCount = Number(process.argv[2] ?? 2_000);
const concurrency = Number(process.argv[3] ?? 16);
const warmupCount = 50;
const requestTimeoutMs = 30_000;
const closedPort = 'http://127.0.0.1:9';
const deadBackend = [{ region: 'bench-none', url: closedPort }];
/** EUR-USD: the one-shard FX corridor, so every payment meets the same CorridorWindow object. */
const flow: PaymentFlow = { partner: 'alpha-bank', debtorCountry: 'DE', creditorBic: 'CHARUS33XXX', creditorCountry: 'US', currency: 'EUR', target: 'USD' };

const stateDirectory = mkdtempSync(join(tmpdir(), 'meridian-bench-ingest-'));
mkdirSync(join(stateDirectory, 'state'));
const config = writeGatewayConfig(stateDirectory, { regionalBackends: { eu: deadBackend, us: deadBackend, ap: deadBackend }, upstashUrl: closedPort });
const gateway = await startWranglerDev(config, join(stateDirectory, 'state'));

try {
  const warmup = await drive((await signPayments([flow], gateway.url, warmupCount)).map((payment) => payment.request), 4, requestTimeoutMs);
  if (warmup.some((answer) => answer.status !== 202)) throw new Error(`warm-up payments were refused: ${JSON.stringify(refusalCounts(warmup))}\n${gateway.output().slice(-2_000)}`);

  const payments = await signPayments([flow], gateway.url, paymentCount);
  const startedAt = performance.now();
  const answers = await drive(payments.map((payment) => payment.request), concurrency, requestTimeoutMs);
  const elapsedMs = performance.now() - startedAt;
  const latencies = answers.filter((answer) => answer.status === 202).map((answer) => answer.latencyMs).sort((left, right) => left - right);
  const paymentsPerSecond = latencies.length / (elapsedMs / 1_000);
  const p99Ms = percentile(latencies, 0.99);

  console.log(`ingest under wrangler dev: ${paymentCount} signed EUR-USD payments from one partner into one shard, ${concurrency} in flight`);
  console.log(`  ${latencies.length} accepted (202) in ${round(elapsedMs / 1_000, 2)} s → ${round(paymentsPerSecond)} payments/s; latency median ${round(median(latencies))} ms, p99 ${round(p99Ms)} ms`);
  if (latencies.length !== paymentCount) console.log(`  refused by status: ${JSON.stringify(refusalCounts(answers))}`);

  recordResult(new URL('results/ingest.jsonl', import.meta.url).pathname, {
    bench: 'ingest-wrangler',
    corridor: 'EUR-USD',
    shards: 1,
    payments: paymentCount,
    concurrency,
    figures: { accepted: latencies.length, elapsed_s: round(elapsedMs / 1_000, 2), payments_per_s: round(paymentsPerSecond), latency_median_ms: round(median(latencies)), latency_p99_ms: round(p99Ms) },
  });
} finally {
  await gateway.stop();
  rmSync(stateDirectory, { recursive: true, force: true });
}
