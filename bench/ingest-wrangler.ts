/**
 * Ingest throughput of one corridor shard under `wrangler dev` (workerd, local SQLite-backed
 * Durable Objects): signed payments from one partner into a one-shard corridor (EUR-USD, FX), so
 * every payment passes the whole edge pipeline, that partner's PartnerState and the same single
 * CorridorWindow object, which meanwhile closes and seals its 2 s windows.
 *
 *   node_modules/.bin/node bench/ingest-wrangler.ts [payments, default 2000] [concurrency, default 16]
 *
 * It starts its own `wrangler dev` on a free port with a temporary config and `.dev.vars` (as
 * cli/dev/launcher.ts writes them) and `--persist-to` a temporary directory, so it never touches
 * a running `npm start`: its regional backends point at a closed port (windows seal and retry
 * delivery; settlement is not part of this figure). Requests are signed before the clock starts
 * (message signature and instruction JWS), so the figure is the gateway's, not the client's. On
 * this machine client, wrangler and workerd share the same cores. Appends one JSON line to
 * bench/results/ingest.jsonl.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildInstruction } from '../cli/sdk/instruction-builder.ts';
import { signedRequest, signInstruction, type PartnerCredentials } from '../cli/sdk/partner-client.ts';
import { gatewayDevBindings, loadDevPartners } from '../dev/fixtures.ts';
import { median, recordResult, round } from './machine.ts';

const paymentCount = Number(process.argv[2] ?? 2_000);
const concurrency = Number(process.argv[3] ?? 16);
const warmupCount = 50;
const readyTimeoutMs = 90_000;
const requestTimeoutMs = 30_000;
const repoRoot = new URL('..', import.meta.url).pathname;
const deadBackends = JSON.stringify({ eu: [{ region: 'bench-none', url: 'http://127.0.0.1:9' }], us: [{ region: 'bench-none', url: 'http://127.0.0.1:9' }], ap: [{ region: 'bench-none', url: 'http://127.0.0.1:9' }] });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The repository's wrangler.toml with an absolute `main` and bench-only vars (dead backends, no Redis). */
function writeBenchConfig(directory: string): string {
  let config = readFileSync(join(repoRoot, 'wrangler.toml'), 'utf8');
  config = config.replace(/^main = .*$/m, `main = ${JSON.stringify(join(repoRoot, 'workers/index.ts'))}`);
  config = config.replace(/^REGIONAL_BACKENDS = .*$/m, `REGIONAL_BACKENDS = '${deadBackends}'`);
  config = config.replace(/^UPSTASH_REDIS_REST_URL = .*$/m, `UPSTASH_REDIS_REST_URL = "http://127.0.0.1:9"`);
  config = config.replace(/^\[dev\][\s\S]*?(?=^\[)/m, '');
  const path = join(directory, 'wrangler.toml');
  writeFileSync(path, config);
  const devVars = Object.entries(gatewayDevBindings()).map(([name, value]) => {
    if (value.includes("'") || value.includes('\n')) throw new Error(`dev binding ${name} cannot go into .dev.vars`);
    return `${name}='${value}'`;
  });
  writeFileSync(join(directory, '.dev.vars'), `${devVars.join('\n')}\n`);
  return path;
}

async function waitForHealth(url: string, output: () => string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer /healthz in ${readyTimeoutMs} ms:\n${output().slice(-3_000)}`);
}

async function signedPayments(partner: PartnerCredentials & { bic: string }, gatewayUrl: string, count: number): Promise<Request[]> {
  return Promise.all(Array.from({ length: count }, async (_, index) => {
    const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: 'DE', creditorBic: 'CHARUS33XXX', creditorCountry: 'US', amount: `${10 + (index % 900)}.00`, currency: 'EUR', targetCurrency: 'USD' });
    const jws = await signInstruction(partner, instruction);
    return signedRequest(partner, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws, contentType: 'application/jose' });
  }));
}

/** Sends every request with at most `parallel` in flight; returns each one's status and latency. */
async function drive(requests: readonly Request[], parallel: number): Promise<Array<{ status: number; latencyMs: number; window: string | null }>> {
  const results: Array<{ status: number; latencyMs: number; window: string | null }> = [];
  let nextIndex = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (nextIndex < requests.length) {
      const request = requests[nextIndex++]!;
      const startedAt = performance.now();
      const response = await fetch(request, { signal: AbortSignal.timeout(requestTimeoutMs) });
      const body = (await response.json().catch(() => ({}))) as { window?: string };
      results.push({ status: response.status, latencyMs: performance.now() - startedAt, window: body.window ?? null });
    }
  }));
  return results;
}

const stateDirectory = mkdtempSync(join(tmpdir(), 'meridian-bench-ingest-'));
const [port, inspectorPort] = [await freePort(), await freePort()];
const gatewayUrl = `http://127.0.0.1:${port}`;
const wrangler = spawn(
  join(repoRoot, 'node_modules/.bin/wrangler'),
  ['dev', '--config', writeBenchConfig(stateDirectory), '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', join(stateDirectory, 'state'), '--show-interactive-dev-session=false', '--log-level', 'warn'],
  { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` } },
);
let wranglerOutput = '';
wrangler.stdout.on('data', (chunk: Buffer) => (wranglerOutput += chunk.toString()));
wrangler.stderr.on('data', (chunk: Buffer) => (wranglerOutput += chunk.toString()));

try {
  await waitForHealth(gatewayUrl, () => wranglerOutput);
  const alpha = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank')! as unknown as PartnerCredentials & { bic: string };
  const warmup = await drive(await signedPayments(alpha, gatewayUrl, warmupCount), 4);
  if (warmup.some((result) => result.status !== 202)) throw new Error(`warm-up payments were refused: ${JSON.stringify(warmup.find((result) => result.status !== 202))}\n${wranglerOutput.slice(-2_000)}`);

  const requests = await signedPayments(alpha, gatewayUrl, paymentCount);
  const startedAt = performance.now();
  const results = await drive(requests, concurrency);
  const elapsedMs = performance.now() - startedAt;
  const accepted = results.filter((result) => result.status === 202);
  const paymentsPerSecond = accepted.length / (elapsedMs / 1_000);
  const latencies = accepted.map((result) => result.latencyMs).sort((left, right) => left - right);
  const p99Ms = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
  const windows = new Set(accepted.map((result) => result.window));

  console.log(`ingest under wrangler dev: ${paymentCount} signed EUR-USD payments from one partner into one shard, ${concurrency} in flight`);
  console.log(`  ${accepted.length} accepted (202) in ${round(elapsedMs / 1_000, 2)} s → ${round(paymentsPerSecond)} payments/s; latency median ${round(median(latencies))} ms, p99 ${round(p99Ms)} ms; ${windows.size} windows`);
  if (accepted.length !== paymentCount) {
    const refused: Record<string, number> = {};
    for (const result of results) if (result.status !== 202) refused[result.status] = (refused[result.status] ?? 0) + 1;
    console.log(`  refused by status: ${JSON.stringify(refused)}`);
  }

  recordResult(new URL('results/ingest.jsonl', import.meta.url).pathname, {
    bench: 'ingest-wrangler',
    corridor: 'EUR-USD',
    shards: 1,
    payments: paymentCount,
    concurrency,
    figures: { accepted: accepted.length, elapsed_s: round(elapsedMs / 1_000, 2), payments_per_s: round(paymentsPerSecond), latency_median_ms: round(median(latencies)), latency_p99_ms: round(p99Ms), windows: windows.size },
  });
} finally {
  // Only the process group this script started.
  if (wrangler.pid !== undefined) {
    try {
      process.kill(-wrangler.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  rmSync(stateDirectory, { recursive: true, force: true });
}
