/**
 * Velocity check latency through the Upstash-compatible bridge: the Worker's own checkVelocity
 * (workers/velocity/) calling the bridge over HTTP with @upstash/redis, one atomic script per
 * payment, once with the embedded store (ioredis-mock, Lua through fengari) and once with real
 * Redis behind the bridge (REDIS_URL, default redis://127.0.0.1:6379; skipped if unreachable).
 * Runs under Node; the bridge listens on a free port, so no fixed port is taken.
 *
 *   node_modules/.bin/node bench/velocity.bench.ts [checks per round, default 1000] [in flight, default 8]
 *
 * Each backend gets one sequential round (latency) and one concurrent round (throughput). Prints
 * p50/p99 and appends one JSON line per backend to bench/results/velocity.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startRedisBridge } from '../cli/dev/redis-bridge.ts';
import { parsePartnerProfiles } from '../core/partner-profile.ts';
import { gatewayDevBindings } from '../dev/fixtures.ts';
import { recordResult, round } from './machine.ts';

/* workers/ modules are typed against the Workers types; a computed specifier keeps this file on the Node type check (see admission.bench.ts). */
type VelocityPayment = { uetr: string; corridor: string; amount_minor: bigint; source_currency: string; debtor_account: string; creditor_account: string };
type CheckVelocity = (env: Record<string, string>, partner: unknown, payment: VelocityPayment) => Promise<{ ok: boolean }>;
const workersModule = (path: string): Promise<Record<string, unknown>> => import(new URL(`../workers/${path}`, import.meta.url).href);
const { checkVelocity } = (await workersModule('velocity/check-velocity.ts')) as { checkVelocity: CheckVelocity };

const checksPerRound = Number(process.argv[2] ?? 1_000);
const inFlight = Number(process.argv[3] ?? 8);
const token = 'velocity-bench-token';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const resultsFile = new URL('results/velocity.jsonl', import.meta.url).pathname;

// alpha-bank: limits of 100,000 a minute, far above a round, so every check counts (the full script path).
const alphaBank = parsePartnerProfiles(gatewayDevBindings().PARTNERS!).find((partner) => partner.partner_id === 'alpha-bank')!;

function payment(): VelocityPayment {
  return { uetr: randomUUID(), corridor: 'EUR-EUR', amount_minor: 12_540n, source_currency: 'EUR', debtor_account: `DE00DEBT${randomUUID()}`, creditor_account: `FR00CRED${randomUUID()}` };
}

function percentile(sortedMs: readonly number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(fraction * sortedMs.length))]!;
}

async function timedChecks(env: Record<string, string>, count: number, concurrency: number): Promise<{ latenciesMs: number[]; wallMs: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next += 1;
      const before = performance.now();
      const result = await checkVelocity(env, alphaBank, payment());
      latenciesMs.push(performance.now() - before);
      if (!result.ok) throw new Error(`velocity check refused during the bench: ${JSON.stringify(result, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latenciesMs: latenciesMs.sort((left, right) => left - right), wallMs: performance.now() - started };
}

async function benchBackend(backend: 'embedded' | 'redis'): Promise<void> {
  let bridge: Awaited<ReturnType<typeof startRedisBridge>>;
  try {
    bridge = await startRedisBridge({ port: 0, token, ...(backend === 'redis' ? { redisUrl, redisConnectTimeoutMs: 1_000 } : {}), log: () => {} });
  } catch (error) {
    console.log(`${backend.padEnd(8)} skipped: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  try {
    const env = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token };
    await timedChecks(env, 50, 1); // warm-up: script cache, connections, JIT
    const sequential = await timedChecks(env, checksPerRound, 1);
    const concurrent = await timedChecks(env, checksPerRound, inFlight);
    const figures = {
      backend,
      checks: checksPerRound,
      sequential_p50_ms: round(percentile(sequential.latenciesMs, 0.5), 2),
      sequential_p99_ms: round(percentile(sequential.latenciesMs, 0.99), 2),
      in_flight: inFlight,
      concurrent_p50_ms: round(percentile(concurrent.latenciesMs, 0.5), 2),
      concurrent_p99_ms: round(percentile(concurrent.latenciesMs, 0.99), 2),
      concurrent_checks_per_s: Math.round(checksPerRound / (concurrent.wallMs / 1000)),
    };
    console.log(`${backend.padEnd(8)} sequential p50 ${figures.sequential_p50_ms} ms, p99 ${figures.sequential_p99_ms} ms; ${inFlight} in flight p50 ${figures.concurrent_p50_ms} ms, p99 ${figures.concurrent_p99_ms} ms, ${figures.concurrent_checks_per_s} checks/s`);
    recordResult(resultsFile, { commit: gitCommit(), ...figures });
  } finally {
    await bridge.stop();
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

console.log(`velocity check through the bridge: ${checksPerRound} checks per round`);
await benchBackend('embedded');
await benchBackend('redis');
