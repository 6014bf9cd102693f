/**
 * CPU time per admitted payment at the edge: every stage of the payment pipeline's own code
 * (workers/payments/payment-routes.ts) a new payment costs, on three paths — Ed25519 (compact
 * JWS), sealed (the same JWS inside a PQ-session JWE), hybrid (sig1 + ML-DSA-65 sig2, JWS JSON with
 * EdDSA + ML-DSA-65) — and the cost of one session handshake (POST /v1/sessions: HPKE X-Wing
 * decapsulation, exports, ticket). Runs under Node, in-process, with the gateway's own modules:
 *
 *   message signature   the real verifyMessageSignature() middleware (RFC 9421 + Content-Digest)
 *   instruction         openInstruction(): seal, JWS, schema, debtor agent
 *   policy              decidePaymentPolicy(): Cedar (the web build of @cedar-policy/cedar-wasm, as
 *                       in workerd), facts, request construction, the decision record
 *   screening           screenPayment() with the in-process provider on the bundled list, and the
 *                       evidence PartnerState records (screeningEvidence)
 *   velocity            checkVelocity(): counters, account digests, the Upstash client's request and
 *                       the reply parse. The Redis round trip and the script's evaluation inside
 *                       Redis are I/O, not the isolate's CPU: the client's fetch is answered
 *                       in-process with the script's `counted` reply (bench/velocity.bench.ts
 *                       measures the store)
 *   receipt             signAcceptanceReceipt() with the gateway's key (EdDSA compact JWS)
 *
 * "total per payment" runs all of them in order in one Hono route, as the gateway mounts them. It
 * is more than the sum of the stages measured alone (by about 1 ms under load), and that is no
 * stage of its own: timed stage by stage inside the route (process.cpuUsage between stages), every
 * stage costs 1.5-2× its figure alone, Hono's own dispatch and the transport posture about 20 µs
 * each, the garbage collector about 45 µs. A stage timed alone runs one hot loop over the same input;
 * interleaved, the pipeline's code and data no longer fit the caches (2 cores shared with other
 * work here). Read the total; the stage figures rank the stages.
 *
 * Floors, in the same run: the three Ed25519 operations a payment needs with nothing around them,
 * under Node through node:crypto (sync, KeyObjects: OpenSSL's own cost) and through WebCrypto (as
 * the pipeline calls it), and inside workerd (bench/ed25519-workerd.ts: WebCrypto and node:crypto
 * under nodejs_compat, both BoringSSL, and one native ML-DSA-65 verification); ML-DSA-65 under Node
 * through node:crypto and @noble/post-quantum. "the pipeline's own code" is the Ed25519 total less
 * the WebCrypto floor, and beside it that figure plus workerd's floor.
 * Not counted: the Durable Object round trips and storage writes (nonce claim, prior answer,
 * admission, enqueue: bench/ingest-wrangler.ts measures those under workerd); the routing stage's
 * Control read is a per-isolate cache and is replaced by its pure part (corridorRoute()).
 *
 * The JavaScript is the same code workerd runs (jose, @noble, zod, structured-headers, Hono,
 * Cedar's wasm, all on V8); the native crypto differs — WebCrypto is OpenSSL in Node and BoringSSL
 * in workerd — so treat Ed25519/AES/ML-DSA figures as close, not identical.
 *
 *   node_modules/.bin/node bench/admission.bench.ts [iterations per round, default 1000] [paths] [total]
 *
 * `paths` (comma-separated: ed25519, sealed, hybrid, session; default all) narrows a run, and
 * `total` leaves out the stages measured alone, e.g. for
 * `node --cpu-prof bench/admission.bench.ts 2000 ed25519 total`.
 *
 * Prints one table and appends one JSON line to bench/results/admission.jsonl.
 */
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { openPqSession, sealInstruction, signedRequest, signHybridInstruction, signInstruction, type GatewayDiscovery } from '../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../packages/partner-sdk/src/instruction-builder.ts';
import { signAcceptanceReceipt } from '../core/acceptance-receipt.ts';
import { corridorFile } from '../core/corridor-config.ts';
import { gatewayKey } from '../core/gateway-key.ts';
import { parsePaymentInstruction, type PaymentInstruction } from '../core/instruction.ts';
import { xwingPublicKeyFromSeed } from '../core/pq-session.ts';
import { base64urlDecode, base64urlEncode } from '../core/digest.ts';
import { mlDsa65KeyPairFromSeed, signMlDsa65, verifyMlDsa65 } from '../core/ml-dsa.ts';
import { gatewayDevBindings, loadDevGateway, loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { parsePartnerProfiles, type PartnerProfile } from '../core/partner-profile.ts';
import { corridorRoute, type CorridorRoute } from '../durable-objects/control/corridor-route.ts';
import { partnerRegistry } from '../workers/config/partners.ts';
import { workerdEd25519Floor } from './ed25519-workerd.ts';

/*
 * What wrangler's module rules do for the Worker bundle (wrangler.toml `[[rules]]`), done for Node
 * before the first workers/ module loads: Cedar's `.wasm?module` is a compiled WebAssembly.Module,
 * policy files and the sanctions CSVs are text, and a JSON import is its value.
 */
const textModule = /\.(cedar|cedarschema|csv)$/;
registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('.wasm?module')) {
      const wasmUrl = JSON.stringify(url.slice(0, -'?module'.length));
      return { format: 'module', shortCircuit: true, source: `import { readFileSync } from 'node:fs'; export default new WebAssembly.Module(readFileSync(new URL(${wasmUrl})));` };
    }
    if (textModule.test(url)) return { format: 'module', shortCircuit: true, source: `export default ${JSON.stringify(readFileSync(fileURLToPath(url), 'utf8'))};` };
    if (url.endsWith('.json') && context.importAttributes.type !== 'json') return { format: 'module', shortCircuit: true, source: `export default ${readFileSync(fileURLToPath(url), 'utf8')};` };
    return nextLoad(url, context);
  },
});

/*
 * workers/ modules are typed against @cloudflare/workers-types, which the Node type check
 * (tsconfig.json, which covers bench/) does not load. Importing them by a computed specifier keeps
 * this file type-checked under Node without dragging the Worker's types in; the shapes used here
 * are declared below and the Worker code stays type-checked by tsconfig.workers.json.
 */
type Env = Record<string, unknown> & { PARTNERS: string; CORRIDORS: string; GATEWAY_SIGNING_JWK: string };
type InstructionJws = { form: 'compact' | 'json'; text: string };
type StageResult<T> = { ok: true; value: T } | { ok: false; reason: unknown };
type OpenedInstruction = { instruction: PaymentInstruction; amountMinor: bigint; corridor: string; jws: string; instructionSha256: string };
type PipelineContext = Context<{ Bindings: Env; Variables: { partner: PartnerProfile; tls: unknown } }>;
const workersModule = (path: string): Promise<Record<string, unknown>> => import(new URL(`../workers/${path}`, import.meta.url).href);
const { verifyMessageSignature } = (await workersModule('message-signature/verify-message-signature.ts')) as { verifyMessageSignature: () => MiddlewareHandler<{ Bindings: Env }> };
const { enforceTransportPosture } = (await workersModule('downgrade/enforce-transport-posture.ts')) as { enforceTransportPosture: () => MiddlewareHandler<{ Bindings: Env }> };
const { verifyInstructionJws } = (await workersModule('payments/instruction-jws.ts')) as { verifyInstructionJws: (jws: InstructionJws, partner: unknown) => Promise<unknown> };
const { openInstruction } = (await workersModule('payments/open-instruction.ts')) as { openInstruction: (c: unknown, mediaType: string) => Promise<StageResult<OpenedInstruction>> };
const { openSealedInstruction } = (await workersModule('sessions/sealed-body.ts')) as { openSealedInstruction: (c: unknown, jwe: string, nowMs: number) => Promise<string> };
const { sessionRoutes } = (await workersModule('sessions/session-routes.ts')) as { sessionRoutes: () => Hono<{ Bindings: Env }> };
const { decidePaymentPolicy } = (await workersModule('policy/decide-payment-policy.ts')) as { decidePaymentPolicy: (env: Env, input: unknown) => Promise<StageResult<unknown>> };
const { screenPayment } = (await workersModule('screening/screen-payment.ts')) as { screenPayment: (env: Env, payment: PaymentInstruction) => Promise<{ kind: 'clear' | 'hold' }> };
const { screeningEvidence } = (await workersModule('payments/screening-evidence.ts')) as { screeningEvidence: (uetr: string, instruction: PaymentInstruction, outcome: unknown) => unknown };
const { mlDsa65Spki } = (await workersModule('message-signature/ml-dsa-65.ts')) as { mlDsa65Spki: (publicKey: Uint8Array) => Uint8Array };
const { checkVelocity } = (await workersModule('velocity/check-velocity.ts')) as { checkVelocity: (env: Env, partner: PartnerProfile, payment: unknown) => Promise<StageResult<null>> };

const iterations = Number(process.argv[2] ?? 1_000);
const pathNames = ['ed25519', 'sealed', 'hybrid', 'session'] as const;
const selectedPaths = new Set((process.argv[3] ?? pathNames.join(',')).split(','));
for (const name of selectedPaths) if (!(pathNames as readonly string[]).includes(name)) throw new Error(`admission bench: unknown path ${name} (one of ${pathNames.join(', ')})`);
const runs = (name: (typeof pathNames)[number]) => selectedPaths.has(name);
/** `total` after the paths: only `total per payment` (and the references), e.g. for `node --cpu-prof`. */
const totalOnly = process.argv[4] === 'total';
const rounds = 5;
const warmupIterations = 200;
/** Issue #14 item 3: CPU per admitted payment on the Ed25519 path, every stage on. */
const admissionCpuTargetUs = 300;
const gatewayUrl = 'https://gateway.meridian.test';
const paymentsUrl = `${gatewayUrl}/v1/payments`;
const upstashUrl = 'https://upstash.bench.invalid';
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
 * isolate is billed; wall time is printed beside it so that a loaded machine shows up. `prepare`
 * builds the inputs of the indexes about to run before each round's clock starts (only one round's
 * worth is alive at a time, so the garbage collector of a timed round does not trace them all).
 */
async function measure(path: string, stage: string, operation: (index: number) => Promise<unknown>, plan: Plan = paymentPlan, prepare?: (first: number, count: number) => void): Promise<Figure> {
  prepare?.(0, plan.warmup);
  let index = 0;
  for (; index < plan.warmup; index += 1) await operation(index);
  const cpuPerOp: number[] = [];
  const wallPerOp: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    prepare?.(index, plan.iterations);
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

/** Signed requests for `measure`, built a round at a time: a body can be read once, and building a request is the client's cost. */
function requestBatch(build: () => Request) {
  let first = 0;
  let batch: Request[] = [];
  return {
    prepare: (start: number, count: number) => {
      first = start;
      batch = Array.from({ length: count }, build);
    },
    at: (index: number) => batch[index - first]!,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * The gateway's bindings as the Worker sees them, with the Durable Object calls of the verification
 * path (the nonce claim, always fresh; Control's partner directory) answered in-process: this bench
 * measures the pipeline's code, not the RPCs (bench/ingest-wrangler.ts measures those under workerd).
 */
function benchEnv(): Env {
  const bindings = gatewayDevBindings();
  const partnerState = { claimRequest: async () => ({ kind: 'claimed', revokedProfileKeyids: [] }) };
  const profiles = parsePartnerProfiles(bindings.PARTNERS!);
  // An RPC answer is a structured clone: the directory gets fresh objects, as from Control.
  const control = { partnerDirectory: async () => structuredClone(profiles) };
  return {
    ...bindings,
    UPSTASH_REDIS_REST_URL: upstashUrl,
    PARTNER_STATE: { idFromName: (name: string) => name, get: () => partnerState },
    CONTROL: { idFromName: (name: string) => name, get: () => control },
  } as unknown as Env;
}

/**
 * The velocity script's Redis round trip, answered in-process: `[1, 0]` is its `counted` reply
 * (workers/velocity/velocity-script.ts). Everything before and after the fetch is the client's
 * work and is counted; any other fetch is a bench bug.
 */
function answerUpstashInProcess(): void {
  const counted = JSON.stringify({ result: [1, 0] });
  globalThis.fetch = async (input: string | URL | Request) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(upstashUrl)) throw new Error(`admission bench: unexpected fetch of ${url}`);
    return new Response(counted, { headers: { 'content-type': 'application/json' } });
  };
}

function mediaTypeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** Throws on a refusal: every payment of this bench must be admitted, or the figure measures the wrong path. */
function admitted<T>(stage: string, result: StageResult<T>): T {
  if (!result.ok) throw new Error(`admission bench: ${stage} refused the payment: ${JSON.stringify(result.reason, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`);
  return result.value;
}

/** The stages after verifyRequest, as payment-routes.ts runs them for a new payment (the Durable Object calls left out). */
interface AdmissionStages {
  route: (opened: OpenedInstruction, partner: PartnerProfile) => CorridorRoute;
  policy: (env: Env, partner: PartnerProfile, opened: OpenedInstruction, route: CorridorRoute, tls: unknown) => Promise<unknown>;
  screening: (env: Env, opened: OpenedInstruction) => Promise<unknown>;
  velocity: (env: Env, partner: PartnerProfile, opened: OpenedInstruction) => Promise<unknown>;
  receipt: (env: Env, partner: PartnerProfile, opened: OpenedInstruction, route: CorridorRoute) => Promise<string>;
}

function admissionStages(env: Env): AdmissionStages {
  const corridors = corridorFile(env.CORRIDORS);
  return {
    route: (opened, partner) => {
      const config = corridors.corridors.find((candidate) => candidate.id === opened.corridor);
      if (config === undefined || config.state !== 'open' || !config.jurisdictions.includes(partner.jurisdiction)) throw new Error(`admission bench: corridor ${opened.corridor} does not take ${partner.partner_id}`);
      return corridorRoute(config, partner.jurisdiction, opened.instruction.uetr, corridors.fx_rate_scale);
    },
    policy: async (stageEnv, partner, opened, route, tls) =>
      admitted('policy', await decidePaymentPolicy(stageEnv, { partner, opened, route, residencyExceptions: [], tls, nowMs: Date.now() })),
    screening: async (stageEnv, { instruction }) => {
      const outcome = await screenPayment(stageEnv, instruction);
      if (outcome.kind !== 'clear') throw new Error(`admission bench: screening held the bench payment (${JSON.stringify(outcome)})`);
      return screeningEvidence(instruction.uetr, instruction, outcome);
    },
    velocity: async (stageEnv, partner, { instruction, corridor, amountMinor }) =>
      admitted('velocity', await checkVelocity(stageEnv, partner, {
        uetr: instruction.uetr, corridor, amount_minor: amountMinor, source_currency: instruction.amount.currency,
        debtor_account: instruction.debtor.account, creditor_account: instruction.creditor.account,
      })),
    receipt: async (stageEnv, partner, opened, route) =>
      signAcceptanceReceipt(await gatewayKey(stageEnv.GATEWAY_SIGNING_JWK), {
        gateway: 'gateway.meridian.test', partner_id: partner.partner_id, uetr: opened.instruction.uetr, instruction_sha256: opened.instructionSha256,
        status: 'accepted', window: route.windowName, accepted_at: new Date().toISOString(),
      }),
  };
}

/** A route that ends right after `middlewares`, as the gateway mounts them, with `handler` (204 by default) last. */
function pipelineApp(middlewares: MiddlewareHandler<{ Bindings: Env }>[], handler: (c: PipelineContext) => Promise<Response> = async (c) => c.body(null, 204)) {
  const app = new Hono<{ Bindings: Env }>();
  for (const middleware of middlewares) app.use('/v1/payments', middleware);
  app.post('/v1/payments', (c) => handler(c as unknown as PipelineContext));
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
 * One path: each stage alone (the message signature, the body opening, the schema, policy,
 * screening, velocity, receipt), then every stage together per payment in one route.
 */
async function measurePath(env: Env, path: PaymentPath): Promise<Figure[]> {
  const signed = await signedRequest(path.signer, { method: 'POST', url: paymentsUrl, body: path.body, contentType: path.contentType });
  const headers = new Headers(signed.headers);
  const signedRequests = () => requestBatch(() => new Request(paymentsUrl, { method: 'POST', headers, body: path.body }));
  const respondsNoContent = (app: Hono<{ Bindings: Env }>) => async (request: Request) => {
    const response = await app.request(request, undefined, env);
    if (response.status !== 204) throw new Error(`${path.path}: refused: ${response.status} ${await response.text()}`);
  };
  const figures: Figure[] = [];
  const timed = async (stage: string, operation: (index: number) => Promise<unknown>, prepare?: (first: number, count: number) => void) => {
    figures.push(await measure(path.path, stage, operation, path.plan, prepare));
  };

  if (totalOnly) return [await timedTotal(env, path, respondsNoContent, signedRequests)];
  const verifySignature = respondsNoContent(pipelineApp([verifyMessageSignature()]));
  const signatureRequests = signedRequests();
  await timed('message signature (RFC 9421 + Content-Digest)', (index) => verifySignature(signatureRequests.at(index)), signatureRequests.prepare);
  const openRequest = new Request(paymentsUrl, { method: 'POST', headers, body: path.body });
  await timed(path.openStage, () => path.openBody(openRequest));
  const decoded = await path.openBody(openRequest);
  await timed('instruction schema', async () => admitted('schema', parsePaymentInstruction(decoded)));

  const stages = admissionStages(env);
  let opened: OpenedInstruction | undefined;
  let tls: unknown;
  const capture = respondsNoContent(pipelineApp([verifyMessageSignature(), enforceTransportPosture()], async (c) => {
    opened = admitted('openInstruction', await openInstruction(c, mediaTypeOf(path.contentType)));
    tls = c.var.tls;
    return c.body(null, 204);
  }));
  await capture(new Request(paymentsUrl, { method: 'POST', headers, body: path.body }));
  const partner = partnerRegistry(env.PARTNERS).byKeyId(path.signer.keyid)!.partner;
  const route = stages.route(opened!, partner);
  await timed('policy (Cedar decision + record)', () => stages.policy(env, partner, opened!, route, tls));
  await timed('sanctions screening (bundled list)', () => stages.screening(env, opened!));
  await timed('velocity (client side; Redis round trip not counted)', () => stages.velocity(env, partner, opened!));
  await timed('acceptance receipt signing', () => stages.receipt(env, partner, opened!, route));

  figures.push(await timedTotal(env, path, respondsNoContent, signedRequests));
  return figures;
}

/** Every stage in order per payment, in one route, as the gateway mounts them. */
async function timedTotal(env: Env, path: PaymentPath, respondsNoContent: (app: Hono<{ Bindings: Env }>) => (request: Request) => Promise<void>, signedRequests: () => ReturnType<typeof requestBatch>): Promise<Figure> {
  const stages = admissionStages(env);
  const everyStage = respondsNoContent(pipelineApp([verifyMessageSignature(), enforceTransportPosture()], async (c) => {
    const payment = admitted('openInstruction', await openInstruction(c, mediaTypeOf(path.contentType)));
    const paymentRoute = stages.route(payment, c.var.partner);
    await stages.policy(c.env, c.var.partner, payment, paymentRoute, c.var.tls);
    await stages.screening(c.env, payment);
    await stages.velocity(c.env, c.var.partner, payment);
    await stages.receipt(c.env, c.var.partner, payment, paymentRoute);
    return c.body(null, 204);
  }));
  const totalRequests = signedRequests();
  return measure(path.path, 'total per payment', (index) => everyStage(totalRequests.at(index)), path.plan, totalRequests.prepare);
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

/**
 * The floor under the Ed25519 path on this machine at this moment: the three Ed25519 operations a
 * payment needs (message signature and instruction JWS verified, receipt signed) over a 1,000-byte
 * message, on keys imported once, with nothing around them. Measured in the same run, so a loaded
 * machine inflates them as much as the stages, and `total per payment` can be read against them:
 *
 *   node:crypto     crypto.verify / crypto.sign on KeyObjects, synchronous: what OpenSSL itself costs
 *   WebCrypto       crypto.subtle on CryptoKeys, as the pipeline calls it (core/ed25519.ts): the same
 *                   OpenSSL work plus Node's job and promise machinery around each operation
 *
 * Neither is workerd's figure: workerd's WebCrypto is BoringSSL, run synchronously inside the
 * isolate; workerdFloor() below measures that.
 */
async function nativeCryptoFloors(env: Env, signer: DevPartner): Promise<Figure[]> {
  const { d: _private, ...publicJwk } = signer.private_jwk;
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, { name: 'Ed25519' }, false, ['verify']);
  const { privateKey } = await gatewayKey(env.GATEWAY_SIGNING_JWK);
  const message = new TextEncoder().encode('x'.repeat(1_000));
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, await crypto.subtle.importKey('jwk', signer.private_jwk, { name: 'Ed25519' }, false, ['sign']), message));
  const nodePublicKey = createPublicKey({ key: publicJwk as NodeJsonWebKey, format: 'jwk' });
  const nodePrivateKey = createPrivateKey({ key: JSON.parse(env.GATEWAY_SIGNING_JWK) as NodeJsonWebKey, format: 'jwk' });
  const nodeCrypto = await measure('reference', 'Ed25519 floor: node:crypto, sync, KeyObjects (2 verify + 1 sign)', async () => {
    if (!(nodeVerify(null, message, nodePublicKey, signature) && nodeVerify(null, message, nodePublicKey, signature))) throw new Error('admission bench: the reference signature does not verify');
    nodeSign(null, message, nodePrivateKey);
  });
  const webCrypto = await measure('reference', 'Ed25519 floor: WebCrypto, imported CryptoKeys (2 verify + 1 sign)', async () => {
    const verified = (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, message)) && (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, message));
    if (!verified) throw new Error('admission bench: the reference signature does not verify');
    await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, message);
  });
  return [nodeCrypto, webCrypto];
}

/** A hybrid partner's ML-DSA-65 key, a 1,000-byte message and its signature: the sample every ML-DSA reference figure verifies. */
function mlDsa65Sample(hybrid: DevPartner): { publicKey: Uint8Array; spki: Uint8Array; message: Uint8Array; signature: Uint8Array } {
  const { publicKey, secretKey } = mlDsa65KeyPairFromSeed(base64urlDecode(hybrid.ml_dsa_65!.seed));
  const message = new TextEncoder().encode('x'.repeat(1_000));
  return { publicKey, spki: mlDsa65Spki(publicKey), message, signature: signMlDsa65(secretKey, message) };
}

/**
 * One ML-DSA-65 verification under Node, both ways the hybrid path can take
 * (workers/message-signature/ml-dsa-65.ts): node:crypto (OpenSSL 3.5), which it uses once a key's
 * native verifier has agreed with @noble, and @noble/post-quantum, the fallback.
 */
async function mlDsa65References(hybrid: DevPartner): Promise<Figure[]> {
  const sample = mlDsa65Sample(hybrid);
  const nativeKey = createPublicKey({ key: Buffer.from(sample.spki), format: 'der', type: 'spki' });
  const native = await measure('reference', 'ML-DSA-65 verify: node:crypto (OpenSSL)', async () => {
    if (!nodeVerify(null, sample.message, nativeKey, sample.signature)) throw new Error('admission bench: the ML-DSA-65 reference does not verify natively');
  }, hybridPlan);
  const noble = await measure('reference', 'ML-DSA-65 verify: @noble/post-quantum', async () => {
    if (!verifyMlDsa65(sample.publicKey, sample.message, sample.signature)) throw new Error('admission bench: the ML-DSA-65 reference does not verify under @noble');
  }, hybridPlan);
  return [native, noble];
}

/** The same floor inside workerd (bench/ed25519-workerd.ts): workerd's own CPU, WebCrypto and node:crypto under nodejs_compat, and native ML-DSA-65. */
async function workerdFloor(signer: DevPartner, hybrid: DevPartner): Promise<{ figures: Figure[]; workerd: string; nodeCryptoAvailable: boolean; nativeMlDsaAvailable: boolean }> {
  const sample = mlDsa65Sample(hybrid);
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const floor = await workerdEd25519Floor(signer.private_jwk as unknown as Record<string, unknown>, { spki: base64(sample.spki), message: base64(sample.message), signature: base64(sample.signature) });
  const figure = (stage: string, cpu: { medianUs: number; minUs: number }): Figure => ({ path: 'reference (workerd)', stage, iterations: floor.operations, rounds: floor.rounds, cpu_us_per_op: cpu.medianUs, cpu_us_per_op_min: cpu.minUs, wall_us_per_op: Number.NaN });
  const figures = [figure('Ed25519 floor: WebCrypto in workerd (2 verify + 1 sign)', floor.webcrypto)];
  if (floor.nodeCrypto !== null) figures.push(figure('Ed25519 floor: node:crypto in workerd (2 verify + 1 sign)', floor.nodeCrypto));
  if (floor.mlDsa65Verify !== null) figures.push(figure('ML-DSA-65 verify: node:crypto in workerd (BoringSSL)', floor.mlDsa65Verify));
  return { figures, workerd: floor.workerdVersion, nodeCryptoAvailable: floor.nodeCrypto !== null, nativeMlDsaAvailable: floor.mlDsa65Verify !== null };
}

function printFigures(figures: Figure[]): void {
  const width = Math.max(...figures.map((figure) => `${figure.path} / ${figure.stage}`.length));
  console.log(`${'path / stage'.padEnd(width)}  CPU µs/op (median)  CPU µs/op (min)  wall µs/op  ops/s/core`);
  for (const figure of figures) {
    const perCore = Math.round(1_000_000 / figure.cpu_us_per_op);
    const cells = [figure.cpu_us_per_op, figure.cpu_us_per_op_min, Number.isNaN(figure.wall_us_per_op) ? '–' : figure.wall_us_per_op, perCore];
    console.log(`${`${figure.path} / ${figure.stage}`.padEnd(width)}  ${String(cells[0]).padStart(18)}  ${String(cells[1]).padStart(15)}  ${String(cells[2]).padStart(10)}  ${String(cells[3]).padStart(10)}`);
  }
  console.log(`${iterations} payments (${hybridPlan.iterations} hybrid, ${handshakePlan.iterations} handshakes) per round, ${rounds} rounds after warm-up; Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0]?.toFixed(1)}`);
}

/**
 * The Ed25519 path's total against its floors: what the pipeline's own code (everything but the
 * three Ed25519 operations) costs, under Node, and what the same payment would cost with workerd's
 * Ed25519 in place of Node's WebCrypto (the JavaScript and wasm are the same V8 code in both).
 */
function pipelineBesideFloors(figures: Figure[]): { own_code_us: number; workerd_estimate_us: number | null; target_us: number } | null {
  const cpuOf = (path: string, stage: string) => figures.find((figure) => figure.path === path && figure.stage.startsWith(stage))?.cpu_us_per_op;
  const total = cpuOf('ed25519', 'total per payment');
  const webCrypto = cpuOf('reference', 'Ed25519 floor: WebCrypto');
  if (total === undefined || webCrypto === undefined) return null;
  const ownCode = round1(total - webCrypto);
  const workerdFloorUs = cpuOf('reference (workerd)', 'Ed25519 floor: WebCrypto');
  const derived = { own_code_us: ownCode, workerd_estimate_us: workerdFloorUs === undefined ? null : round1(ownCode + workerdFloorUs), target_us: admissionCpuTargetUs };
  console.log(`ed25519: the pipeline's own code ${derived.own_code_us} µs per payment (total − WebCrypto floor); with workerd's Ed25519 floor ${derived.workerd_estimate_us ?? '–'} µs; target ${admissionCpuTargetUs} µs with every stage`);
  return derived;
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
  answerUpstashInProcess();
  const eurPayment = instructionFrom(alpha, { bic: bravo.bic, country: 'FR' }, 'EUR', 'EUR', 'DE');
  const sgdPayment = instructionFrom(delta, { bic: echo.bic, country: 'JP' }, 'SGD', 'JPY', 'SG');
  const compactJws = await signInstruction(alpha, eurPayment);
  const figures: Figure[] = [];
  let workerd: Awaited<ReturnType<typeof workerdFloor>> | undefined;
  if (runs('ed25519')) {
    figures.push(...(await nativeCryptoFloors(env, alpha)), ...(await measurePath(env, ed25519Path(env, alpha, compactJws))));
  }
  if (runs('ed25519') || runs('hybrid')) {
    workerd = await workerdFloor(alpha, delta);
    figures.push(...workerd.figures);
  }
  if (runs('sealed') || runs('session')) {
    const { figure: handshake, sessionFor } = await sessionHandshake(env, alpha);
    if (runs('sealed')) figures.push(...(await measurePath(env, sealedPath(env, alpha, await sealInstruction(await sessionFor(), compactJws)))));
    if (runs('session')) figures.push(handshake);
  }
  if (runs('hybrid')) figures.push(...(await mlDsa65References(delta)), ...(await measurePath(env, hybridPath(env, delta, await signHybridInstruction(delta, sgdPayment)))));
  printFigures(figures);
  const derived = pipelineBesideFloors(figures);
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
    ...(workerd === undefined ? {} : { workerd: workerd.workerd, workerd_node_crypto_ed25519: workerd.nodeCryptoAvailable, workerd_native_ml_dsa_65: workerd.nativeMlDsaAvailable }),
    ...(derived === null ? {} : { derived }),
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  appendFileSync(resultsFile, `${JSON.stringify(record)}\n`);
  console.log(`appended to ${resultsFile.pathname}`);
}

await main();
