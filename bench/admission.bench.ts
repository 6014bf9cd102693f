/**
 * CPU time per admitted payment at the edge: the partner-trust work a payment costs before it is
 * handed to its PartnerState Durable Object. Runs under Node, in-process, with the gateway's own
 * modules (the real verifyMessageSignature() middleware, instruction JWS and schema). The
 * JavaScript is the same code workerd runs (jose, @noble, zod, structured-headers, Hono, all on
 * V8); the native crypto differs — WebCrypto is OpenSSL in Node and BoringSSL in workerd — so
 * treat Ed25519/AES figures as close, not identical. Storage and network (nonce claim,
 * admission, window enqueue, receipt signing in the Durable Object) are stubbed and not counted.
 *
 *   node_modules/.bin/node bench/admission.bench.ts [iterations per round, default 1000]
 *
 * Prints one table and appends one JSON line to bench/results/admission.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Hono, type MiddlewareHandler } from 'hono';
import { signedRequest, signInstruction, type PartnerCredentials } from '../cli/sdk/partner-client.ts';
import { buildInstruction } from '../cli/sdk/instruction-builder.ts';
import { parsePaymentInstruction } from '../core/instruction.ts';
import { gatewayDevBindings, loadDevPartners } from '../dev/fixtures.ts';
import { partnerRegistry } from '../workers/config/partners.ts';

/*
 * workers/ modules are typed against @cloudflare/workers-types, which the Node type check
 * (tsconfig.json, which covers bench/) does not load. Importing them by a computed specifier keeps
 * this file type-checked under Node without dragging the Worker's types in; the shapes used here
 * are declared below and the Worker code stays type-checked by tsconfig.workers.json.
 */
type Env = Record<string, unknown> & { PARTNERS: string };
const workersModule = (path: string): Promise<Record<string, unknown>> => import(new URL(`../workers/${path}`, import.meta.url).href);
const { verifyMessageSignature } = (await workersModule('message-signature/verify-message-signature.ts')) as { verifyMessageSignature: () => MiddlewareHandler<{ Bindings: Env }> };
const { verifyInstructionJws } = (await workersModule('payments/instruction-jws.ts')) as { verifyInstructionJws: (jws: string, partner: unknown) => Promise<unknown> };

const iterations = Number(process.argv[2] ?? 1_000);
const rounds = 5;
const warmupIterations = 200;
const gatewayUrl = 'https://gateway.meridian.test';
const paymentsUrl = `${gatewayUrl}/v1/payments`;
const resultsFile = new URL('./results/admission.jsonl', import.meta.url);

interface Figure {
  path: string;
  stage: string;
  iterations: number;
  rounds: number;
  /** Median over the rounds of (user + system CPU time) / iterations. */
  cpu_us_per_op: number;
  cpu_us_per_op_min: number;
  wall_us_per_op: number;
}

/** Operations per measurement: warm-up, then `rounds` timed rounds of `iterations` each. */
const operationsPerMeasurement = (): number => warmupIterations + rounds * iterations;

/**
 * Runs `operation` sequentially with a fresh index each time (0, 1, 2 …): warm-up first, then
 * `rounds` timed rounds. CPU is the process's user + system time, which is what a single-threaded
 * isolate is billed; wall time is printed beside it so that a loaded machine shows up.
 */
async function measure(path: string, stage: string, operation: (index: number) => Promise<unknown>): Promise<Figure> {
  let index = 0;
  for (; index < warmupIterations; index += 1) await operation(index);
  const cpuPerOp: number[] = [];
  const wallPerOp: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const cpuBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();
    for (const end = index + iterations; index < end; index += 1) await operation(index);
    const wallNs = Number(process.hrtime.bigint() - wallBefore);
    const cpu = process.cpuUsage(cpuBefore);
    cpuPerOp.push((cpu.user + cpu.system) / iterations);
    wallPerOp.push(wallNs / 1000 / iterations);
  }
  return { path, stage, iterations, rounds, cpu_us_per_op: round1(median(cpuPerOp)), cpu_us_per_op_min: round1(Math.min(...cpuPerOp)), wall_us_per_op: round1(median(wallPerOp)) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The gateway's bindings as the Worker sees them, with the PartnerState nonce claim stubbed (always fresh). */
function benchEnv(): Env {
  const partnerState = { claimNonce: async () => true };
  return {
    ...gatewayDevBindings(),
    PARTNER_STATE: { idFromName: (name: string) => name, get: () => partnerState },
  } as unknown as Env;
}

/** verifyMessageSignature() as mounted in the gateway, on a route that ends right after it. */
function messageSignatureApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.post('/v1/payments', verifyMessageSignature(), (c) => c.body(null, 204));
  app.onError((error) => {
    throw error;
  });
  return app;
}

async function ed25519Path(alpha: PartnerCredentials & { bic: string }, env: Env): Promise<Figure[]> {
  const partner = partnerRegistry(env.PARTNERS).byKeyId(alpha.keyid)!.partner;
  const instruction = buildInstruction({ debtorBic: alpha.bic, debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '125.40', currency: 'EUR', targetCurrency: 'EUR', remittanceInfo: 'invoice 2026-4711' });
  const jws = await signInstruction(alpha, instruction);
  const signed = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: jws });
  const headers = new Headers(signed.headers);
  // Requests are built before timing: a body can be read once, and building them is the client's cost.
  const requests = () => Array.from({ length: operationsPerMeasurement() }, () => new Request(paymentsUrl, { method: 'POST', headers, body: jws }));
  const app = messageSignatureApp();

  const signatureRequests = requests();
  const signature = await measure('ed25519', 'message signature (RFC 9421 + Content-Digest)', async (index) => {
    const response = await app.request(signatureRequests[index]!, undefined, env);
    if (response.status !== 204) throw new Error(`message signature refused: ${response.status} ${await response.text()}`);
  });
  const instructionJws = await measure('ed25519', 'instruction JWS (EdDSA)', () => verifyInstructionJws(jws, partner));
  const decoded = await verifyInstructionJws(jws, partner);
  const schema = await measure('ed25519', 'instruction schema', async () => {
    if (!parsePaymentInstruction(decoded).ok) throw new Error('schema refused the bench instruction');
  });
  const totalRequests = requests();
  const total = await measure('ed25519', 'total: signature + JWS + schema', async (index) => {
    const request = totalRequests[index]!;
    const response = await app.request(request, undefined, env);
    if (response.status !== 204) throw new Error(`message signature refused: ${response.status}`);
    const parsed = parsePaymentInstruction(await verifyInstructionJws(jws, partner));
    if (!parsed.ok) throw new Error('schema refused the bench instruction');
  });
  return [signature, instructionJws, schema, total];
}

function printFigures(figures: Figure[]): void {
  const width = Math.max(...figures.map((figure) => `${figure.path} / ${figure.stage}`.length));
  console.log(`${'path / stage'.padEnd(width)}  CPU µs/op (median)  CPU µs/op (min)  wall µs/op  ops/s/core`);
  for (const figure of figures) {
    const perCore = Math.round(1_000_000 / figure.cpu_us_per_op);
    const cells = [figure.cpu_us_per_op, figure.cpu_us_per_op_min, figure.wall_us_per_op, perCore];
    console.log(`${`${figure.path} / ${figure.stage}`.padEnd(width)}  ${String(cells[0]).padStart(18)}  ${String(cells[1]).padStart(15)}  ${String(cells[2]).padStart(10)}  ${String(cells[3]).padStart(10)}`);
  }
  console.log(`${iterations} operations per round, ${rounds} rounds, ${warmupIterations} warm-up; Node ${process.version}, ${availableParallelism()} CPUs`);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const partners = loadDevPartners();
  const alpha = partners.find((partner) => partner.partner_id === 'alpha-bank')!;
  const env = benchEnv();
  const figures = [...(await ed25519Path(alpha, env))];
  printFigures(figures);
  const record = {
    date: new Date().toISOString(),
    bench: 'admission',
    commit: gitCommit(),
    nproc: availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    iterations,
    rounds,
    figures,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  appendFileSync(resultsFile, `${JSON.stringify(record)}\n`);
  console.log(`appended to ${resultsFile.pathname}`);
}

await main();
