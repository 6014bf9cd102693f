/**
 * Cedar decision time inside workerd: one `policyRequest` + `statefulIsAuthorized` against the
 * pre-parsed policy set, as the gateway's policy stage makes it per payment (allow and deny paths),
 * and the one-off engine load per isolate (wasm instantiation, parse and pre-parse of the set).
 * The Worker is bench/policy-worker.ts (config bench/policy-wrangler.toml, the gateway's module
 * rules), bundled by wrangler and run by wrangler's workerd on a random local port.
 *
 *   npm run bench:policy [-- iterations per round, default 2000]
 *
 * Prints one table and appends one JSON line to bench/results/policy.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { unstable_startWorker } from 'wrangler';

const iterations = Number(process.argv[2] ?? 2_000);
const rounds = 5;
const resultsFile = new URL('./results/policy.jsonl', import.meta.url);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round1 = (value: number) => Math.round(value * 10) / 10;

// Its own config (bench/policy-wrangler.toml): the gateway's wrangler.toml binds Durable Objects this Worker does not export.
const worker = await unstable_startWorker({
  config: new URL('./policy-wrangler.toml', import.meta.url).pathname,
  dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, logLevel: 'warn' },
});
try {
  await worker.ready;
  const figures: Record<string, unknown>[] = [];
  let initMs = 0;
  let digest = '';
  let decisionsPerSample = 0;
  for (const variant of ['allow', 'deny'] as const) {
    const samples: number[] = [];
    for (let round = 0; round < rounds + 1; round += 1) {
      const response = await worker.fetch(`http://bench/?iterations=${iterations}&variant=${variant}`);
      if (!response.ok) throw new Error(`bench worker answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { digest: string; init_ms: number; decisions_per_sample: number; samples_us: number[] };
      decisionsPerSample = body.decisions_per_sample;
      if (round === 0 && variant === 'allow') initMs = body.init_ms;
      digest = body.digest;
      if (round > 0) samples.push(...body.samples_us); // round 0 warms the JIT
    }
    samples.sort((a, b) => a - b);
    figures.push({ variant, decisions: samples.length * decisionsPerSample, samples: samples.length, p50_us: round1(percentile(samples, 50)), p99_us: round1(percentile(samples, 99)), max_us: round1(samples.at(-1)!) });
  }
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname }).trim();
  const record = {
    date: new Date().toISOString(),
    bench: 'policy',
    commit,
    machine: { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, loadavg_1m: round1(loadavg()[0]!) },
    policy_set_digest: digest,
    iterations_per_round: iterations,
    rounds,
    decisions_per_sample: decisionsPerSample,
    figures: { engine_load_ms: round1(initMs), decisions: figures },
  };
  console.log(`Cedar policy decision inside workerd (policy set ${digest.slice(0, 12)}…, ${rounds} × ${iterations} per path; per decision, mean of batches of ${decisionsPerSample})`);
  console.log(`  engine load per isolate: ${record.figures.engine_load_ms} ms`);
  for (const figure of figures) console.log(`  ${String(figure.variant).padEnd(6)} p50 ${figure.p50_us} µs   p99 ${figure.p99_us} µs   max ${figure.max_us} µs`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  appendFileSync(resultsFile, `${JSON.stringify(record)}\n`);
} finally {
  await worker.dispose();
}
