/**
 * The edge side by side (issue #14): the gateway's admission beside a bare Worker that makes one
 * Durable Object write per request (bench/edge/bare-worker/), each under Miniflare directly (the
 * runtime without the dev proxy: the figure the targets use) and under `wrangler dev` (what
 * `npm start` users see), in one run on the same machine.
 *
 *   node_modules/.bin/node bench/edge/edge.bench.ts [--payments 1000] [--concurrency 16]
 *     [--runtimes miniflare,wrangler-dev] [--cases bare,several,one] [--results <file.jsonl>]
 *     [--redis-url <url> | --embedded-velocity-store]   (env: EDGE_BENCH_PAYMENTS, EDGE_BENCH_REDIS_URL)
 *     [--cpu-profile <dir>]   Miniflare's gateway cases: a V8 CPU profile of the isolate from the first
 *                             payment until they settled (bench/edge/cpu-profile.ts), written to
 *                             <dir>/<case>.cpuprofile and summarised per source file and function
 *
 * Cases, each `--payments` pre-signed Ed25519 payments (message signature and instruction JWS
 * signed before the clock starts) sent from this Node process with `--concurrency` in flight:
 *   bare      the same signed POSTs to the bare Worker: one RPC, one SQLite insert, 202
 *   several   the gateway, three partners × three corridors (eu, us, ap), round-robin
 *   one       the gateway, one partner alone in one corridor (its PartnerState is the ceiling)
 * The gateway's regional backends are real (test/support/regional-fixture.ts on PGlite, in its own
 * process): windows close, deliver and settle. A gateway case's clock for throughput stops at the
 * last answer; its CPU is read after every payment has also settled (workerd quiet, then the
 * sample checked `settled` over GET /v1/payments/{uetr}), so `cpu_ms_per_payment` is workerd CPU
 * per admitted and settled payment — the settlement notice, the window's netting and sealing and
 * the receipt update included; `cpu_ms_per_admission` stops at the last answer.
 *
 * CPU is utime + stime of the workerd processes serving the case (bench/edge/workerd-cpu.ts):
 * under wrangler dev that includes the dev proxy's workerd. The load generator, wrangler's Node
 * and the backends run beside them on the same cores (2 on the reference machine): throughput
 * figures are upper bounds under the recorded load average. Appends one JSON line per run to
 * bench/results/edge.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, recordResult, round } from '../machine.ts';
import { benchRedisUrl, startBackends } from './backends.ts';
import { countSettled, drive, onePartnerFlows, percentile, refusalCounts, severalPartnerFlows, signPayments, type Answer, type PaymentFlow, type SignedPayment } from './load.ts';
import { startCpuProfile, summarizeCpuProfile, writeCpuProfile, type ProfileSession } from './cpu-profile.ts';
import { bundleWorker, freePort, repoRoot, runtimeKinds, startMiniflare, startWranglerDev, writeGatewayConfig, type RunningWorker, type RuntimeKind } from './runtimes.ts';
import { cpuMsOf } from './workerd-cpu.ts';

export type CaseName = 'bare' | 'several' | 'one';
const caseNames: readonly CaseName[] = ['bare', 'several', 'one'];
const caseFlows: Record<Exclude<CaseName, 'bare'>, readonly PaymentFlow[]> = { several: severalPartnerFlows, one: onePartnerFlows };
const caseLabels: Record<CaseName, string> = { bare: 'bare Worker, one DO write', several: 'gateway, 3 partners × 3 corridors', one: 'gateway, one partner alone' };

const warmupPerFlow = 10;
const warmupConcurrency = 4;
const requestTimeoutMs = 30_000;
const progressIntervalMs = 2_000;
/** The gateway's windows close every WINDOW_DURATION_MS (wrangler.toml: 2 s); settlement is awaited past that. */
const settleAfterMs = 2_500;
const settleTimeoutMs = 180_000;
const quietPollMs = 500;
/** workerd counts as quiet when it used less than this share of one core over a poll. */
const quietCoreShare = 0.05;
/** Payments checked `settled` per case: all of a small run, an even spread of a large one. */
const settledSampleMax = 120;
const statusQueryConcurrency = 8;
/** How long a profiled case keeps sampling after its last answer: the windows' close, delivery and notices. */
const profileAfterLastAnswerMs = 6_000;

export interface CaseResult {
  runtime: RuntimeKind;
  case: CaseName;
  partners: number;
  corridors: number;
  payments: number;
  concurrency: number;
  accepted: number;
  refused: Record<string, number>;
  elapsed_s: number;
  accepted_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  /** workerd CPU from the first request to the last answer, per request sent (refused ones included). */
  cpu_ms_per_request: number;
  /** The same CPU per accepted request: what admitting one payment cost, refusals carried by the accepted. */
  cpu_ms_per_admission: number;
  /** workerd CPU until everything accepted has settled, per accepted payment (bare: = per admission). */
  cpu_ms_per_payment: number;
  settled_checked?: number;
  settled?: number;
  settled_after_s?: number;
}

export interface Ratio {
  runtime: RuntimeKind;
  case: Exclude<CaseName, 'bare'>;
  /** accepted/s of the case ÷ accepted/s of the bare Worker, same runtime. */
  throughput_ratio: number;
  /** CPU per settled payment of the case ÷ CPU per request of the bare Worker. */
  cpu_ratio: number;
}

async function options() {
  const { values } = parseArgs({
    options: {
      payments: { type: 'string', default: process.env.EDGE_BENCH_PAYMENTS ?? '1000' },
      concurrency: { type: 'string', default: '16' },
      runtimes: { type: 'string', default: runtimeKinds.join(',') },
      cases: { type: 'string', default: caseNames.join(',') },
      results: { type: 'string', default: new URL('../results/edge.jsonl', import.meta.url).pathname },
      'redis-url': { type: 'string' },
      'embedded-velocity-store': { type: 'boolean', default: false },
      'cpu-profile': { type: 'string' },
    },
  });
  const payments = Number(values.payments);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(payments) || payments < 1) throw new Error(`--payments must be a positive integer, got ${values.payments}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer, got ${values.concurrency}`);
  const runtimes = values.runtimes.split(',').map((name) => name.trim());
  for (const runtime of runtimes) if (!runtimeKinds.includes(runtime as RuntimeKind)) throw new Error(`--runtimes: unknown runtime ${runtime} (known: ${runtimeKinds.join(', ')})`);
  const cases = values.cases.split(',').map((name) => name.trim());
  for (const name of cases) if (!caseNames.includes(name as CaseName)) throw new Error(`--cases: unknown case ${name} (known: ${caseNames.join(', ')})`);
  return { payments, concurrency, runtimes: runtimes as RuntimeKind[], cases: cases as CaseName[], results: values.results, cpuProfile: values['cpu-profile'], redisUrl: values['embedded-velocity-store'] ? undefined : (values['redis-url'] ?? (await benchRedisUrl())) };
}

function progress(label: string, total: number): { onAnswer: (done: number) => void; stop: () => void } {
  const startedAt = performance.now();
  let done = 0;
  const timer = setInterval(() => {
    const seconds = (performance.now() - startedAt) / 1_000;
    console.log(`    ${label}: ${done}/${total} answered, ${round(done / seconds)}/s`);
  }, progressIntervalMs);
  return { onAnswer: (count) => (done = count), stop: () => clearInterval(timer) };
}

async function warmUp(worker: RunningWorker, flows: readonly PaymentFlow[], target: (payments: SignedPayment[]) => Promise<Request[]>): Promise<void> {
  const payments = await signPayments(flows, worker.url, warmupPerFlow * flows.length);
  const answers = await drive(await target(payments), warmupConcurrency, requestTimeoutMs);
  const refused = refusalCounts(answers);
  // A refusal now and then is the machine (a velocity store timing out under load) and shows in the
  // case's figures; nothing accepted at all is a misconfigured run, not a slow one.
  if (answers.every((answer) => answer.status !== 202)) throw new Error(`warm-up under ${worker.runtime}: every request was refused: ${JSON.stringify(refused)}\n${worker.output().slice(-2_000)}`);
  if (Object.keys(refused).length > 0) console.log(`    warm-up: ${JSON.stringify(refused)} of ${answers.length}`);
}

/** The same signed POSTs, sent to the bare Worker (it ignores the signatures; the bytes are the gateway's). */
async function retargeted(payments: readonly SignedPayment[], url: string): Promise<Request[]> {
  return Promise.all(payments.map(async ({ request }) => new Request(new URL('/v1/payments', url), { method: 'POST', headers: request.headers, body: await request.text() })));
}

/** Waits until workerd is quiet and the sample of accepted payments reads `settled`; returns the CPU then. */
async function awaitSettlement(worker: RunningWorker, accepted: readonly SignedPayment[], sinceMs: number): Promise<{ cpuMs: number; checked: number; settled: number; afterS: number }> {
  const sample = accepted.length <= settledSampleMax ? accepted : Array.from({ length: settledSampleMax }, (_, index) => accepted[Math.floor((index * accepted.length) / settledSampleMax)]!);
  await new Promise((resolve) => setTimeout(resolve, settleAfterMs));
  const deadline = Date.now() + settleTimeoutMs;
  let settled = 0;
  for (;;) {
    let cpuMs = cpuMsOf(worker.workerdPids());
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, quietPollMs));
      const nowCpuMs = cpuMsOf(worker.workerdPids());
      const quiet = nowCpuMs - cpuMs < quietPollMs * quietCoreShare;
      cpuMs = nowCpuMs;
      if (quiet || Date.now() > deadline) break;
    }
    // Read before the status queries, which are the benchmark's, not the payments' cost.
    settled = await countSettled(sample, worker.url, statusQueryConcurrency);
    if (settled === sample.length || Date.now() > deadline) return { cpuMs, checked: sample.length, settled, afterS: round((performance.now() - sinceMs) / 1_000, 2) };
    console.log(`    ${settled}/${sample.length} sampled payments settled; waiting`);
  }
}

async function runCase(worker: RunningWorker, name: CaseName, payments: number, concurrency: number, profileDirectory?: string): Promise<CaseResult> {
  const flows = name === 'bare' ? severalPartnerFlows : caseFlows[name];
  const label = `${worker.runtime} ${name}`;
  const target = name === 'bare' ? (signed: SignedPayment[]) => retargeted(signed, worker.url) : async (signed: SignedPayment[]) => signed.map((payment) => payment.request);
  await warmUp(worker, flows, target);
  const signed = await signPayments(flows, worker.url, payments);
  const requests = await target(signed);
  console.log(`  ${label}: ${caseLabels[name]}, ${payments} signed payments, ${concurrency} in flight`);
  const meter = progress(label, payments);
  // The profiler's own cost lands in the CPU figures: a profiled run is for the breakdown, not the figures.
  const profiling: ProfileSession | undefined = profileDirectory !== undefined && worker.inspectorPort !== undefined && name !== 'bare' ? await startCpuProfile(worker.inspectorPort, 'bench-subject') : undefined;
  const cpuBeforeMs = cpuMsOf(worker.workerdPids());
  const startedAt = performance.now();
  let answers: Answer[];
  try {
    answers = await drive(requests, concurrency, requestTimeoutMs, meter.onAnswer);
  } finally {
    meter.stop();
  }
  const elapsedMs = performance.now() - startedAt;
  const cpuAdmittedMs = cpuMsOf(worker.workerdPids()) - cpuBeforeMs;
  const acceptedPayments = signed.filter((_, index) => answers[index]!.status === 202);
  const accepted = acceptedPayments.length;
  const latencies = answers.filter((answer) => answer.status === 202).map((answer) => answer.latencyMs).sort((left, right) => left - right);
  const result: CaseResult = {
    runtime: worker.runtime,
    case: name,
    partners: new Set(flows.map((flow) => flow.partner)).size,
    corridors: new Set(flows.map((flow) => `${flow.currency}-${flow.target}`)).size,
    payments,
    concurrency,
    accepted,
    refused: refusalCounts(answers),
    elapsed_s: round(elapsedMs / 1_000, 2),
    accepted_per_s: round(accepted / (elapsedMs / 1_000)),
    latency_p50_ms: round(median(latencies.length > 0 ? latencies : [0])),
    latency_p99_ms: round(percentile(latencies, 0.99)),
    cpu_ms_per_request: round(cpuAdmittedMs / payments, 2),
    cpu_ms_per_admission: accepted > 0 ? round(cpuAdmittedMs / accepted, 2) : 0,
    cpu_ms_per_payment: accepted > 0 ? round(cpuAdmittedMs / accepted, 2) : 0,
  };
  if (profiling !== undefined) {
    // A fixed span after the last answer, long enough for the windows to close, deliver and notify
    // (WINDOW_DURATION_MS is 2 s): the background after that (health probes every second, the
    // profiler's own sampling) would otherwise fill the profile and keep workerd from going quiet.
    await new Promise((resolve) => setTimeout(resolve, profileAfterLastAnswerMs));
    const profile = await profiling.stop();
    profiling.close();
    writeCpuProfile(join(profileDirectory!, `${name}.cpuprofile`), profile);
    console.log(summarizeCpuProfile(profile, worker.sourceMapPath, label, accepted));
  }
  if (name !== 'bare' && accepted > 0) {
    const settlement = await awaitSettlement(worker, acceptedPayments, startedAt);
    result.cpu_ms_per_payment = round((settlement.cpuMs - cpuBeforeMs) / accepted, 2);
    result.settled_checked = settlement.checked;
    result.settled = settlement.settled;
    result.settled_after_s = settlement.afterS;
  }
  console.log(`    ${result.accepted}/${payments} accepted in ${result.elapsed_s} s → ${result.accepted_per_s}/s; p50 ${result.latency_p50_ms} ms, p99 ${result.latency_p99_ms} ms; workerd CPU ${result.cpu_ms_per_request} ms per request, ${result.cpu_ms_per_admission} ms per admission` +
    (name === 'bare' ? '' : `, ${result.cpu_ms_per_payment} ms per settled payment (${result.settled}/${result.settled_checked} sampled settled after ${result.settled_after_s} s)`) +
    (Object.keys(result.refused).length > 0 ? `; refused ${JSON.stringify(result.refused)}` : ''));
  return result;
}

function ratios(results: readonly CaseResult[]): Ratio[] {
  const found: Ratio[] = [];
  for (const result of results) {
    if (result.case === 'bare') continue;
    const bare = results.find((candidate) => candidate.runtime === result.runtime && candidate.case === 'bare');
    if (bare === undefined || bare.accepted_per_s === 0 || bare.cpu_ms_per_payment === 0) continue;
    found.push({ runtime: result.runtime, case: result.case, throughput_ratio: round(result.accepted_per_s / bare.accepted_per_s, 2), cpu_ratio: round(result.cpu_ms_per_payment / bare.cpu_ms_per_payment, 2) });
  }
  return found;
}

function printTable(results: readonly CaseResult[], found: readonly Ratio[]): void {
  console.log('');
  console.log('| runtime | case | accepted/s | p50 ms | p99 ms | workerd CPU ms per request | … per admitted and settled payment | refused | ratio to bare (throughput) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const result of results) {
    const ratio = found.find((candidate) => candidate.runtime === result.runtime && candidate.case === result.case);
    console.log(`| ${result.runtime} | ${caseLabels[result.case]} | ${result.accepted_per_s} | ${result.latency_p50_ms} | ${result.latency_p99_ms} | ${result.cpu_ms_per_request} | ${result.case === 'bare' ? '–' : result.cpu_ms_per_payment} | ${result.payments - result.accepted} | ${ratio?.throughput_ratio ?? '–'} |`);
  }
}

/** A worker started for one case set: the gateway (shared by its cases) or the bare Worker. */
async function startSubject(runtime: RuntimeKind, configPath: string, bundleDirectory: string, persistDirectory: string, profiled = false): Promise<RunningWorker> {
  mkdirSync(persistDirectory, { recursive: true });
  return runtime === 'wrangler-dev' ? startWranglerDev(configPath, persistDirectory) : startMiniflare(configPath, bundleDirectory, persistDirectory, profiled ? await freePort() : undefined);
}

async function main(): Promise<void> {
  const settings = await options();
  const workDirectory = mkdtempSync(join(tmpdir(), 'meridian-bench-edge-'));
  const results: CaseResult[] = [];
  const gatewayCases = settings.cases.filter((name): name is Exclude<CaseName, 'bare'> => name !== 'bare');
  const runsBare = settings.cases.includes('bare');
  const bundlesNeeded = settings.runtimes.includes('miniflare');
  const bareConfig = join(repoRoot, 'bench/edge/bare-worker/wrangler.toml');
  const bundles = { bare: join(workDirectory, 'bare-bundle'), gateway: join(workDirectory, 'gateway-bundle') };
  console.log(`edge side by side: ${settings.payments} payments per case, ${settings.concurrency} in flight; runtimes ${settings.runtimes.join(', ')}; cases ${settings.cases.join(', ')}; velocity store ${settings.redisUrl ?? 'embedded (the bridge\'s own)'}`);
  console.log(`starting the regional backends${bundlesNeeded ? ' and bundling as wrangler deploy does' : ''}…`);
  // In parallel: each takes tens of seconds on a loaded machine. The bundle does not depend on the
  // vars, so the gateway is bundled from the repository's own wrangler.toml.
  const [started, ...bundled] = await Promise.allSettled([
    gatewayCases.length > 0 ? startBackends(settings.redisUrl) : Promise.resolve(undefined),
    bundlesNeeded && runsBare ? bundleWorker(bareConfig, bundles.bare) : Promise.resolve(),
    bundlesNeeded && gatewayCases.length > 0 ? bundleWorker(join(repoRoot, 'wrangler.toml'), bundles.gateway) : Promise.resolve(),
  ]);
  const backends = started.status === 'fulfilled' ? started.value : undefined;
  try {
    for (const outcome of [started, ...bundled]) if (outcome.status === 'rejected') throw outcome.reason;
    const gatewayConfig = backends === undefined ? undefined : writeGatewayConfig(workDirectory, backends);
    for (const runtime of settings.runtimes) {
      if (runsBare) {
        console.log(`${runtime}: starting the bare Worker…`);
        const bare = await startSubject(runtime, bareConfig, bundles.bare, join(workDirectory, `bare-${runtime}-state`));
        try {
          results.push(await runCase(bare, 'bare', settings.payments, settings.concurrency));
        } finally {
          await bare.stop();
        }
      }
      if (gatewayConfig === undefined) continue;
      console.log(`${runtime}: starting the gateway…`);
      const gateway = await startSubject(runtime, gatewayConfig, bundles.gateway, join(workDirectory, `gateway-${runtime}-state`), settings.cpuProfile !== undefined);
      if (settings.cpuProfile !== undefined) mkdirSync(settings.cpuProfile, { recursive: true });
      try {
        for (const name of gatewayCases) results.push(await runCase(gateway, name, settings.payments, settings.concurrency, settings.cpuProfile));
      } finally {
        await gateway.stop();
      }
    }
  } finally {
    await backends?.stop();
    rmSync(workDirectory, { recursive: true, force: true });
  }
  const found = ratios(results);
  printTable(results, found);
  for (const ratio of found) console.log(`  ${ratio.runtime} ${ratio.case}: admission / bare = ${ratio.throughput_ratio} (throughput), CPU ${ratio.cpu_ratio}× the bare Worker's`);
  recordResult(settings.results, { bench: 'edge', commit: gitCommit(), payments: settings.payments, concurrency: settings.concurrency, settlement: 'regional-fixture (PGlite), windows settle before CPU is read', velocity_store: settings.redisUrl === undefined ? 'embedded' : 'redis', cases: results, ratios: found });
  console.log(`recorded in ${settings.results}`);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

await main();
