/**
 * CPU time per admitted payment at the edge: the partner-trust work a payment costs before it is
 * handed to its PartnerState Durable Object, on three paths — Ed25519 (compact JWS), sealed (the
 * same JWS inside a PQ-session JWE), hybrid (sig1 + ML-DSA-65 sig2, JWS JSON with EdDSA +
 * ML-DSA-65) — and the cost of one session handshake (POST /v1/sessions: HPKE X-Wing
 * decapsulation, exports, ticket). Runs under Node, in-process, with the gateway's own modules
 * (the real verifyMessageSignature() middleware, seal opening, instruction JWS, schema, and the
 * real sessionRoutes() for the handshake). The
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
import { availableParallelism, loadavg } from 'node:os';
import { Hono, type MiddlewareHandler } from 'hono';
import { openPqSession, sealInstruction, signedRequest, signHybridInstruction, signInstruction, type GatewayDiscovery } from '../cli/sdk/partner-client.ts';
import { buildInstruction } from '../cli/sdk/instruction-builder.ts';
import { parsePaymentInstruction } from '../core/instruction.ts';
import { xwingPublicKeyFromSeed } from '../core/pq-session.ts';
import { base64urlDecode, base64urlEncode } from '../core/digest.ts';
import { gatewayDevBindings, loadDevGateway, loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { parsePartnerProfiles } from '../core/partner-profile.ts';
import { partnerRegistry } from '../workers/config/partners.ts';

/*
 * workers/ modules are typed against @cloudflare/workers-types, which the Node type check
 * (tsconfig.json, which covers bench/) does not load. Importing them by a computed specifier keeps
 * this file type-checked under Node without dragging the Worker's types in; the shapes used here
 * are declared below and the Worker code stays type-checked by tsconfig.workers.json.
 */
type Env = Record<string, unknown> & { PARTNERS: string };
type InstructionJws = { form: 'compact' | 'json'; text: string };
const workersModule = (path: string): Promise<Record<string, unknown>> => import(new URL(`../workers/${path}`, import.meta.url).href);
const { verifyMessageSignature } = (await workersModule('message-signature/verify-message-signature.ts')) as { verifyMessageSignature: () => MiddlewareHandler<{ Bindings: Env }> };
const { verifyInstructionJws } = (await workersModule('payments/instruction-jws.ts')) as { verifyInstructionJws: (jws: InstructionJws, partner: unknown) => Promise<unknown> };
const { openSealedInstruction } = (await workersModule('sessions/sealed-body.ts')) as { openSealedInstruction: (c: unknown, jwe: string, nowMs: number) => Promise<string> };
const { sessionRoutes } = (await workersModule('sessions/session-routes.ts')) as { sessionRoutes: () => Hono<{ Bindings: Env }> };

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

interface Plan {
  warmup: number;
  /** Timed operations per round. */
  iterations: number;
}

const paymentPlan: Plan = { warmup: warmupIterations, iterations };
/** ML-DSA-65 verification costs milliseconds in JavaScript: fewer operations give the same precision. */
const hybridPlan: Plan = { warmup: 50, iterations: Math.max(10, Math.round(iterations / 4)) };
/** A handshake costs milliseconds: fewer of them give the same precision. */
const handshakePlan: Plan = { warmup: 10, iterations: Math.max(10, Math.round(iterations / 25)) };

/** Operations one measurement consumes: warm-up, then `rounds` timed rounds. */
const operationsPerMeasurement = (plan: Plan = paymentPlan): number => plan.warmup + rounds * plan.iterations;

/**
 * Runs `operation` sequentially with a fresh index each time (0, 1, 2 …): warm-up first, then
 * `rounds` timed rounds. CPU is the process's user + system time, which is what a single-threaded
 * isolate is billed; wall time is printed beside it so that a loaded machine shows up.
 */
async function measure(path: string, stage: string, operation: (index: number) => Promise<unknown>, plan: Plan = paymentPlan): Promise<Figure> {
  let index = 0;
  for (; index < plan.warmup; index += 1) await operation(index);
  const cpuPerOp: number[] = [];
  const wallPerOp: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const cpuBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();
    for (const end = index + plan.iterations; index < end; index += 1) await operation(index);
    const wallNs = Number(process.hrtime.bigint() - wallBefore);
    const cpu = process.cpuUsage(cpuBefore);
    cpuPerOp.push((cpu.user + cpu.system) / plan.iterations);
    wallPerOp.push(wallNs / 1000 / plan.iterations);
  }
  return { path, stage, iterations: plan.iterations, rounds, cpu_us_per_op: round1(median(cpuPerOp)), cpu_us_per_op_min: round1(Math.min(...cpuPerOp)), wall_us_per_op: round1(median(wallPerOp)) };
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
/**
 * The two Durable Objects the verification path calls, answered in-process: this bench measures the
 * verification code's CPU, not the RPCs (bench/ingest-wrangler.ts measures those under workerd).
 */
function benchEnv(): Env {
  const bindings = gatewayDevBindings();
  const partnerState = { claimRequest: async () => ({ kind: 'claimed', revokedProfileKeyids: [] }) };
  const control = { partnerDirectory: async () => parsePartnerProfiles(bindings.PARTNERS!) };
  return {
    ...bindings,
    PARTNER_STATE: { idFromName: (name: string) => name, get: () => partnerState },
    CONTROL: { idFromName: (name: string) => name, get: () => control },
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

interface PaymentPath {
  path: string;
  signer: DevPartner;
  /** What the partner sends: the body and its media type. */
  body: string;
  contentType: string;
  /** What the gateway does after the message signature, up to the decoded instruction. */
  openBody: (request: Request) => Promise<unknown>;
  openStage: string;
  plan: Plan;
}

/**
 * One path: the message signature alone, the body-opening stage alone, the schema alone, and the
 * three together per payment (what the edge spends before admission).
 */
async function measurePath(env: Env, path: PaymentPath): Promise<Figure[]> {
  const signed = await signedRequest(path.signer, { method: 'POST', url: paymentsUrl, body: path.body, contentType: path.contentType });
  const headers = new Headers(signed.headers);
  // Requests are built before timing: a body can be read once, and building them is the client's cost.
  const requests = () => Array.from({ length: operationsPerMeasurement(path.plan) }, () => new Request(paymentsUrl, { method: 'POST', headers, body: path.body }));
  const app = messageSignatureApp();
  const verifySignature = async (request: Request) => {
    const response = await app.request(request, undefined, env);
    if (response.status !== 204) throw new Error(`${path.path}: message signature refused: ${response.status} ${await response.text()}`);
  };
  const signatureRequests = requests();
  const signature = await measure(path.path, 'message signature (RFC 9421 + Content-Digest)', (index) => verifySignature(signatureRequests[index]!), path.plan);
  const openRequest = signatureRequests[0]!;
  const opening = await measure(path.path, path.openStage, () => path.openBody(openRequest), path.plan);
  const decoded = await path.openBody(openRequest);
  const schema = await measure(path.path, 'instruction schema', async () => {
    if (!parsePaymentInstruction(decoded).ok) throw new Error(`${path.path}: schema refused the bench instruction`);
  }, path.plan);
  const totalRequests = requests();
  const total = await measure(path.path, 'total per payment', async (index) => {
    const request = totalRequests[index]!;
    await verifySignature(request);
    if (!parsePaymentInstruction(await path.openBody(request)).ok) throw new Error(`${path.path}: schema refused the bench instruction`);
  }, path.plan);
  return [signature, opening, schema, total];
}

function instructionFrom(partner: DevPartner, counterparty: { bic: string; country: string }, currency: string, targetCurrency: string, debtorCountry: string) {
  return buildInstruction({ debtorBic: partner.bic, debtorCountry, creditorBic: counterparty.bic, creditorCountry: counterparty.country, amount: '125.40', currency, targetCurrency, remittanceInfo: 'invoice 2026-4711' });
}

function ed25519Path(env: Env, alpha: DevPartner, jws: string): PaymentPath {
  const partner = partnerRegistry(env.PARTNERS).byKeyId(alpha.keyid)!.partner;
  return {
    path: 'ed25519',
    signer: alpha,
    body: jws,
    contentType: 'application/jose',
    openStage: 'instruction JWS (compact EdDSA)',
    plan: paymentPlan,
    openBody: () => verifyInstructionJws({ form: 'compact', text: jws }, partner),
  };
}

function hybridPath(env: Env, delta: DevPartner, jws: string): PaymentPath {
  const partner = partnerRegistry(env.PARTNERS).byKeyId(delta.keyid)!.partner;
  return {
    path: 'hybrid ML-DSA-65',
    signer: delta,
    body: jws,
    contentType: 'application/jose+json',
    openStage: 'instruction JWS JSON (EdDSA + ML-DSA-65)',
    plan: hybridPlan,
    openBody: () => verifyInstructionJws({ form: 'json', text: jws }, partner),
  };
}

/** The sealed path: the seal is opened with the real openSealedInstruction on a context carrying what the signature middleware set. */
function sealedPath(env: Env, alpha: DevPartner, jwe: string): PaymentPath {
  const entry = partnerRegistry(env.PARTNERS).byKeyId(alpha.keyid)!;
  const context = (request: Request) => ({
    env,
    req: { method: 'POST', url: request.url, header: (name: string) => request.headers.get(name) ?? undefined },
    var: { partner: entry.partner, partnerKey: entry.key, body: new TextEncoder().encode(jwe), signatureAlgorithms: ['ed25519'] },
  });
  return {
    path: 'sealed (PQ session)',
    signer: alpha,
    body: jwe,
    contentType: 'application/jose',
    openStage: 'open seal (ticket + A256GCM) + instruction JWS',
    plan: paymentPlan,
    openBody: async (request) => verifyInstructionJws({ form: 'compact', text: await openSealedInstruction(context(request), jwe, Date.now()) }, entry.partner),
  };
}

/** The session handshake through the real POST /v1/sessions route, and a session to seal with. */
async function sessionHandshake(env: Env, alpha: DevPartner): Promise<{ figure: Figure; sessionFor: () => ReturnType<typeof openPqSession> }> {
  const app = new Hono<{ Bindings: Env }>();
  app.route('/v1/sessions', sessionRoutes());
  app.onError((error) => {
    throw error;
  });
  const gateway = loadDevGateway();
  const discovery: GatewayDiscovery = {
    gateway_id: gateway.gateway_id,
    xwing: { kid: gateway.xwing.kid, public_key: base64urlEncode(await xwingPublicKeyFromSeed(base64urlDecode(gateway.xwing.seed))) },
    session_suite: { kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' },
    signature_algorithms: ['ed25519', 'ml-dsa-65'],
    min_tls_version: '1.3',
  };
  const sessionFor = () => openPqSession({ credentials: alpha, baseUrl: gatewayUrl, discovery, reportedTls: 'TLSv1.3', send: async (request) => app.request(request, undefined, env) });
  // The client's own work (encapsulation, signing) is prepared outside the timed region.
  const handshakes: Request[] = [];
  const captureApp = async (request: Request) => {
    handshakes.push(request);
    return new Response(JSON.stringify({}), { status: 599 });
  };
  for (let index = 0; index < operationsPerMeasurement(handshakePlan); index += 1) {
    await openPqSession({ credentials: alpha, baseUrl: gatewayUrl, discovery, reportedTls: 'TLSv1.3', send: captureApp }).catch(() => undefined);
  }
  const figure = await measure('per session', 'session handshake (X-Wing decapsulation, exports, ticket)', async (index) => {
    const response = await app.request(handshakes[index]!, undefined, env);
    if (response.status !== 201) throw new Error(`session handshake refused: ${response.status} ${await response.text()}`);
  }, handshakePlan);
  return { figure, sessionFor };
}

function printFigures(figures: Figure[]): void {
  const width = Math.max(...figures.map((figure) => `${figure.path} / ${figure.stage}`.length));
  console.log(`${'path / stage'.padEnd(width)}  CPU µs/op (median)  CPU µs/op (min)  wall µs/op  ops/s/core`);
  for (const figure of figures) {
    const perCore = Math.round(1_000_000 / figure.cpu_us_per_op);
    const cells = [figure.cpu_us_per_op, figure.cpu_us_per_op_min, figure.wall_us_per_op, perCore];
    console.log(`${`${figure.path} / ${figure.stage}`.padEnd(width)}  ${String(cells[0]).padStart(18)}  ${String(cells[1]).padStart(15)}  ${String(cells[2]).padStart(10)}  ${String(cells[3]).padStart(10)}`);
  }
  console.log(`${iterations} payments (${hybridPlan.iterations} hybrid, ${handshakePlan.iterations} handshakes) per round, ${rounds} rounds after warm-up; Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0]?.toFixed(1)}`);
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
  const partnerNamed = (id: string) => partners.find((partner) => partner.partner_id === id)!;
  const [alpha, bravo, delta, echo] = [partnerNamed('alpha-bank'), partnerNamed('banque-bravo'), partnerNamed('delta-sg'), partnerNamed('echo-jp')];
  const env = benchEnv();
  const eurPayment = instructionFrom(alpha, { bic: bravo.bic, country: 'FR' }, 'EUR', 'EUR', 'DE');
  const sgdPayment = instructionFrom(delta, { bic: echo.bic, country: 'JP' }, 'SGD', 'JPY', 'SG');
  const { figure: handshake, sessionFor } = await sessionHandshake(env, alpha);
  const session = await sessionFor();
  const compactJws = await signInstruction(alpha, eurPayment);
  const figures = [
    ...(await measurePath(env, ed25519Path(env, alpha, compactJws))),
    ...(await measurePath(env, sealedPath(env, alpha, await sealInstruction(session, compactJws)))),
    ...(await measurePath(env, hybridPath(env, delta, await signHybridInstruction(delta, sgdPayment)))),
    handshake,
  ];
  printFigures(figures);
  const record = {
    date: new Date().toISOString(),
    bench: 'admission',
    commit: gitCommit(),
    nproc: availableParallelism(),
    load_average_1m: Math.round((loadavg()[0] ?? 0) * 10) / 10,
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
