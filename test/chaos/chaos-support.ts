/**
 * Chaos drills against the real local topology (`meridian start` in a temporary data directory, on
 * the fixed ports: run under the chaos project, one file at a time). Each drill submits payments
 * from several dev partners through the SDK, injects its fault, and reconciles from the outside:
 *
 *   - each partner's GET /v1/payments/{uetr} for every UETR it was answered 202 for;
 *   - every batch each jurisdiction's log committed since the drill began (checkpoint tree size
 *     before → after, each leaf's in-toto statement names its batch, GET /v1/settlements/{batch}).
 *
 * lost = answered 202 but neither settled in exactly one logged batch, nor held, nor rejected with
 * a reason; duplicated = a UETR in more than one committed batch. Both must be 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { recordResult } from '../../bench/machine.ts';
import { base64Decode } from '../../core/digest.ts';
import { loadDevPartners, type DevPartner } from '../../dev/fixtures.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';
import { startKmsLocalServer, type KmsLocalServer } from '../support/kms-local-server.ts';
import { startWorldCheckServer, worldCheckTestCredentials } from '../support/world-check-server.ts';
import { startTcpGate, type TcpGate } from './tcp-gate.ts';
import type { ExpectStatic } from 'vitest';

export const gatewayUrl = 'http://127.0.0.1:8787';
/** `npm run chaos` sets 1,000 (the issue's count); CI's chaos project runs fewer. */
export const drillPayments = Number(process.env.MERIDIAN_CHAOS_PAYMENTS ?? '150');
const readyTimeoutMs = 180_000;
const submitConcurrency = 12;
const submitAttemptsMax = 40;
const submitRetryDelayMs = 500;
const reconcileTimeoutMs = 180_000;
const pollIntervalMs = 1_000;
export const backendUrls: Record<string, string[]> = {
  eu: ['http://127.0.0.1:8701', 'http://127.0.0.1:8702'],
  us: ['http://127.0.0.1:8703'],
  ap: ['http://127.0.0.1:8704'],
};

export interface Flow { partner: string; debtorCountry: string; creditorBic: string; creditorCountry: string; currency: string; target: string; jurisdiction: string }

/** Several partners in every jurisdiction, same-currency and FX corridors. */
export const drillFlows: Flow[] = [
  { partner: 'alpha-bank', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', currency: 'EUR', target: 'EUR', jurisdiction: 'eu' },
  { partner: 'banque-bravo', debtorCountry: 'FR', creditorBic: 'ALPHDEFFXXX', creditorCountry: 'DE', currency: 'EUR', target: 'EUR', jurisdiction: 'eu' },
  { partner: 'charlie-trust', debtorCountry: 'US', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', currency: 'USD', target: 'JPY', jurisdiction: 'us' },
  { partner: 'delta-sg', debtorCountry: 'SG', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', currency: 'SGD', target: 'JPY', jurisdiction: 'ap' },
];

// ---------------------------------------------------------------------------------------------
// The topology

export interface Topology {
  dataDirectory: string;
  output(): string;
  /** The pid of a part from its latest ready line (restarts print a new one). */
  pid(part: string): number;
  /** Waits for `pattern` in the launcher's output after offset `since` (default: anywhere). */
  waitForOutput(pattern: RegExp, timeoutMs: number, since?: number): Promise<void>;
  /** Starts every regional backend a drill killed (launcher: kill -USR2) and waits until each answers. */
  reviveRegionalBackends(): Promise<void>;
  stop(): Promise<void>;
}

/** The faults the shared topology is wired for (sharedTopology): each drill drives one. */
export interface FaultHooks {
  /** Between eu-1, eu-2 and the eu database. */
  euDatabase: TcpGate;
  /** us-1 signs with this KMS (SIGNER=kms, Ed25519 key) instead of the local signer. */
  kms: KmsLocalServer;
  /** Steps eu-1's wall clock by `skewMs` (0 puts it back); clock-skew-preload.ts reads it. */
  skewClock(region: 'eu-1', skewMs: number): void;
  /** Between the gateway and its sanctions provider (SANCTIONS_PROVIDER=world-check, the local World-Check server). */
  sanctionsProvider: TcpGate;
}

export interface TopologyOptions {
  dataDirectory?: string;
  env?: Record<string, string>;
}

export async function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  const dataDirectory = options.dataDirectory ?? mkdtempSync(join(tmpdir(), 'meridian-chaos-'));
  mkdirSync(dataDirectory, { recursive: true });
  let output = '';
  // stdin is a pipe the launcher watches (MERIDIAN_STOP_ON_STDIN_END): if this process dies, everything stops.
  const launcher: ChildProcess = spawn(process.execPath, ['cli/meridian.ts', 'start'], {
    env: { ...process.env, MERIDIAN_DATA_DIR: dataDirectory, DATABASE_URL: '', WRANGLER_SEND_METRICS: 'false', MERIDIAN_STOP_ON_STDIN_END: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  writeFileSync(join(dataDirectory, 'launcher.pid'), String(launcher.pid));
  launcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  launcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitForOutput = (pattern: RegExp, timeoutMs: number, since = 0) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const timer = setInterval(() => {
        if (pattern.test(output.slice(since))) {
          clearInterval(timer);
          resolve();
        } else if (launcher.exitCode !== null || Date.now() > deadline) {
          clearInterval(timer);
          reject(new Error(`no ${pattern} (launcher ${launcher.exitCode === null ? 'running' : `exited ${launcher.exitCode}`}); output:\n${output.slice(-4_000)}`));
        }
      }, 100);
    });
  await waitForOutput(/^meridian: ready$/m, readyTimeoutMs);
  const pid = (part: string) => {
    const lines = [...output.matchAll(new RegExp(`^(?: {2}${part} +\\S+ +pid (\\d+)|meridian: ${part} restarted, ready at \\S+ pid (\\d+).*)$`, 'gm'))];
    const last = lines.at(-1);
    if (last === undefined) throw new Error(`no pid for ${part} in the launcher's output`);
    return Number(last[1] ?? last[2]);
  };
  return {
    dataDirectory,
    output: () => output,
    pid,
    waitForOutput,
    async reviveRegionalBackends() {
      const dead = regionalParts.filter((part) => !processAlive(pid(part)));
      if (dead.length === 0) return;
      const since = output.length;
      launcher.kill('SIGUSR2');
      for (const part of dead) await waitForOutput(new RegExp(`^meridian: ${part} restarted, ready at`, 'm'), readyTimeoutMs, since);
    },
    async stop() {
      if (launcher.exitCode === null) {
        const exited = new Promise((resolve) => launcher.once('exit', resolve));
        launcher.kill('SIGINT');
        await exited;
      }
      // MERIDIAN_CHAOS_KEEP=1 keeps the data directory (its logs/ explain a slow recovery).
      if (process.env.MERIDIAN_CHAOS_KEEP === '1') console.log(`chaos: kept ${dataDirectory}`);
      else rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

const regionalParts = ['eu-1', 'eu-2', 'us-1', 'ap-1'];

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Shared {
  topology: Topology;
  faults: FaultHooks;
}

const sharedKey = Symbol.for('meridian.chaos.shared-topology');

/**
 * One `meridian start` for every drill of a run (the chaos project runs its files in one process,
 * isolate: false; global-setup.ts stops it and removes its directory at the end), wired for the
 * faults: the eu backends reach their database through a TCP gate, us-1 signs with a local KMS
 * server, eu-1's clock can be stepped. A drill calls it in beforeAll; each gets every regional
 * backend alive again (a previous drill may have killed one).
 */
export async function sharedTopology(): Promise<Shared> {
  const holder = globalThis as unknown as Record<symbol, Promise<Shared> | undefined>;
  holder[sharedKey] ??= startShared();
  const shared = await holder[sharedKey];
  await shared.topology.reviveRegionalBackends();
  return shared;
}

async function startShared(): Promise<Shared> {
  const dataDirectory = process.env.MERIDIAN_CHAOS_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'meridian-chaos-'));
  mkdirSync(join(dataDirectory, 'clock-skew'), { recursive: true });
  const euDatabase = await startTcpGate(euPglitePort);
  const kms = await startKmsLocalServer();
  const usKey = kms.createKey('ECC_NIST_EDWARDS25519', { alias: 'alias/meridian-us-1' });
  const skewFile = (region: string) => join(dataDirectory, 'clock-skew', `${region}.ms`);
  const euDatabaseUrl = euDatabase.urlFor(`postgres://postgres@127.0.0.1:${euPglitePort}/postgres`);
  const regionalEnv = {
    'eu-1': { DATABASE_URL: euDatabaseUrl, NODE_OPTIONS: `--import ${resolve('test/chaos/clock-skew-preload.ts')}`, MERIDIAN_CLOCK_SKEW_FILE: skewFile('eu-1') },
    'eu-2': { DATABASE_URL: euDatabaseUrl },
    'us-1': { SIGNER: 'kms', KMS_KEY_ID: usKey.keyId, AWS_REGION: kms.region, KMS_ENDPOINT: kms.endpoint, AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey },
  };
  const sanctionsProvider = await startTcpGate(await worldCheckPort());
  const gatewayVars = {
    SANCTIONS_PROVIDER: 'world-check',
    WORLD_CHECK_URL: `http://127.0.0.1:${sanctionsProvider.port}/v2`,
    WORLD_CHECK_API_KEY: worldCheckTestCredentials.apiKey,
    WORLD_CHECK_API_SECRET: worldCheckTestCredentials.apiSecret,
    WORLD_CHECK_GROUP_ID: worldCheckTestCredentials.groupId,
    // screeningTimeoutMsMax (workers/screening/screen-payment.ts, which imports the bundled CSV list
    // and so does not load under Node): under the drills' load a call must not time out (and hold) by itself.
    SANCTIONS_SCREENING_TIMEOUT_MS: '10000',
  };
  const topology = await startTopology({ dataDirectory, env: { MERIDIAN_REGIONAL_ENV: JSON.stringify(regionalEnv), MERIDIAN_GATEWAY_VARS: JSON.stringify(gatewayVars) } });
  return {
    topology,
    faults: {
      euDatabase,
      kms,
      skewClock: (region, skewMs) => writeFileSync(skewFile(region), String(skewMs)),
      sanctionsProvider,
    },
  };
}

/**
 * The local World-Check One server's port: the one global-setup.ts started in vitest's main process
 * (MERIDIAN_CHAOS_WORLD_CHECK_PORT: an event loop that is not the drill's, which is busy signing
 * submissions), else one started here.
 */
async function worldCheckPort(): Promise<number> {
  const port = Number(process.env.MERIDIAN_CHAOS_WORLD_CHECK_PORT ?? '0');
  if (Number.isInteger(port) && port > 0) return port;
  return (await startWorldCheckServer()).port;
}

/** The eu PGlite port under `meridian start` (cli/dev/launcher.ts). */
const euPglitePort = 5541;

// ---------------------------------------------------------------------------------------------
// Submitting

export interface Accepted { uetr: string; partner: DevPartner; flow: Flow; status: string }

export interface Submission {
  accepted: Accepted[];
  /** Answered with a problem (not accepted): slug → count. */
  refused: Map<string, number>;
  /** The first problem detail seen per slug, so a refusal is explained in the record. */
  refusedDetails: Map<string, string>;
  /** Gave up after submitAttemptsMax network failures: never answered, so never accepted. */
  unanswered: number;
}

const partners = loadDevPartners();

function partnerNamed(id: string): DevPartner {
  const partner = partners.find((candidate) => candidate.partner_id === id);
  if (partner === undefined) throw new Error(`no dev partner ${id}`);
  return partner;
}

function amountFor(index: number, currency: string): string {
  const units = 1 + (index % 900);
  return currency === 'JPY' ? String(units) : `${units}.${String(index % 100).padStart(2, '0')}`;
}

/**
 * Submits `count` payments round-robin over `flows`, `submitConcurrency` at a time. A request that
 * gets no answer (gateway down) is retried with the same instruction (same UETR): the gateway's
 * idempotency returns the original answer if it was admitted before the answer was lost.
 * `onProgress(done)` runs after each answer (the drill injects its fault from it).
 */
export async function submitPayments(count: number, flows: Flow[], onProgress: (done: number) => void = () => {}): Promise<Submission> {
  const submission: Submission = { accepted: [], refused: new Map(), refusedDetails: new Map(), unanswered: 0 };
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const index = next++;
      const flow = flows[index % flows.length]!;
      const partner = partnerNamed(flow.partner);
      const instruction = buildInstruction({ debtorBic: partner.bic, debtorCountry: flow.debtorCountry, creditorBic: flow.creditorBic, creditorCountry: flow.creditorCountry, amount: amountFor(index, flow.currency), currency: flow.currency, targetCurrency: flow.target, remittanceInfo: 'Meridian chaos drill' });
      const client = new PartnerClient(partner, gatewayUrl);
      let answered = false;
      for (let attempt = 1; attempt <= submitAttemptsMax && !answered; attempt++) {
        try {
          const answer = await client.submitPayment(instruction);
          answered = true;
          if (answer.status === 202) submission.accepted.push({ uetr: instruction.uetr, partner, flow, status: String(answer.body.status) });
          else {
            const slug = `${answer.status} ${String(answer.body.type ?? '').replace('urn:meridian:problem:', '')}`;
            submission.refused.set(slug, (submission.refused.get(slug) ?? 0) + 1);
            if (!submission.refusedDetails.has(slug)) submission.refusedDetails.set(slug, `${flow.partner} ${instruction.amount.value} ${flow.currency}-${flow.target}: ${String(answer.body.detail ?? '')}`.slice(0, 300));
          }
        } catch {
          await sleep(submitRetryDelayMs);
        }
      }
      if (!answered) submission.unanswered += 1;
      onProgress(++done);
    }
  }
  await Promise.all(Array.from({ length: submitConcurrency }, worker));
  return submission;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Submits one payment (retrying while the gateway is down) and waits until it reads settled: ms
 * from `sinceMs`. A payment admitted `held` (screening failed closed, e.g. the provider was still
 * cold after a gateway restart) can settle only after an operator's decision, so it is counted
 * and another is submitted: the time is until the first payment settles.
 */
export async function timeToSettle(flow: Flow, sinceMs: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let held = 0;
  while (Date.now() < deadline) {
    const accepted = (await submitPayments(1, [flow])).accepted[0];
    if (accepted === undefined) {
      await sleep(200);
      continue;
    }
    if (accepted.status === 'held') {
      held += 1;
      continue;
    }
    const client = new PartnerClient(accepted.partner, gatewayUrl);
    while (Date.now() < deadline) {
      const status = await client.paymentStatus(accepted.uetr).catch(() => undefined);
      if (status?.body.status === 'settled') return Date.now() - sinceMs;
      await sleep(100);
    }
    throw new Error(`payment ${accepted.uetr} did not settle within ${timeoutMs} ms (${held} held before it)`);
  }
  throw new Error(`no ${flow.partner} payment was accepted unheld within ${timeoutMs} ms (${held} held)`);
}

// ---------------------------------------------------------------------------------------------
// Reconciling from the outside

/** Each jurisdiction's log size now, from the first backend that answers. */
export async function logSizes(): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const [jurisdiction, urls] of Object.entries(backendUrls)) {
    const note = await firstAnswer(urls, (url) => fetchText(`${url}/v1/log/checkpoint`));
    sizes[jurisdiction] = Number(note.split('\n')[1]);
  }
  return sizes;
}

export interface Reconciliation {
  submitted: number;
  accepted: number;
  settled: number;
  held: number;
  rejected: number;
  lost: number;
  duplicated: number;
  /** Settled payments per region that committed them (failover shows here). */
  settled_by_region: Record<string, number>;
  /** UETRs behind `lost` and `duplicated` (the first few), for the failure message. */
  examples: string[];
}

export async function reconcile(submitted: number, accepted: Accepted[], logSizesBefore: Record<string, number>): Promise<Reconciliation> {
  const statuses = await finalStatuses(accepted);
  const batchesByUetr = await committedBatches(logSizesBefore);
  const result: Reconciliation = { submitted, accepted: accepted.length, settled: 0, held: 0, rejected: 0, lost: 0, duplicated: 0, settled_by_region: {}, examples: [] };
  for (const payment of accepted) {
    const status = statuses.get(payment.uetr);
    const batches = batchesByUetr.get(payment.uetr) ?? new Set<string>();
    if (batches.size > 1) {
      result.duplicated += 1;
      result.examples.push(`${payment.uetr} in ${[...batches].join(', ')}`);
    }
    if (status?.status === 'settled' && batches.size === 1 && batches.has(String(status.batch_id))) {
      result.settled += 1;
      result.settled_by_region[String(status.region)] = (result.settled_by_region[String(status.region)] ?? 0) + 1;
    }
    else if (status?.status === 'held' && batches.size === 0) result.held += 1;
    else if (status?.status === 'rejected' && typeof status.reason === 'string' && status.reason !== '' && batches.size === 0) result.rejected += 1;
    else {
      result.lost += 1;
      result.examples.push(`${payment.partner.partner_id}/${payment.uetr}: status ${JSON.stringify(status)}, batches ${[...batches].join(', ') || 'none'}`);
    }
  }
  result.examples = result.examples.slice(0, 10);
  return result;
}

async function finalStatuses(accepted: Accepted[]): Promise<Map<string, Record<string, unknown>>> {
  const statuses = new Map<string, Record<string, unknown>>();
  const deadline = Date.now() + reconcileTimeoutMs;
  const terminal = (status: unknown) => status === 'settled' || status === 'rejected';
  for (;;) {
    const pending = accepted.filter((payment) => !terminal(statuses.get(payment.uetr)?.status));
    await mapBounded(pending, submitConcurrency, async (payment) => {
      const answer = await new PartnerClient(payment.partner, gatewayUrl).paymentStatus(payment.uetr).catch(() => undefined);
      if (answer?.status === 200) statuses.set(payment.uetr, answer.body);
    });
    const open = accepted.filter((payment) => !terminal(statuses.get(payment.uetr)?.status) && statuses.get(payment.uetr)?.status !== 'held');
    if (open.length === 0 || Date.now() > deadline) return statuses;
    await sleep(pollIntervalMs);
  }
}

/** UETR → the batch ids of every batch committed to any jurisdiction's log since `logSizesBefore`. */
async function committedBatches(logSizesBefore: Record<string, number>): Promise<Map<string, Set<string>>> {
  const byUetr = new Map<string, Set<string>>();
  const after = await logSizes();
  for (const [jurisdiction, urls] of Object.entries(backendUrls)) {
    const indexes = Array.from({ length: after[jurisdiction]! - (logSizesBefore[jurisdiction] ?? 0) }, (_, offset) => (logSizesBefore[jurisdiction] ?? 0) + offset);
    await mapBounded(indexes, 8, async (index) => {
      const envelope = JSON.parse(await firstAnswer(urls, (url) => fetchText(`${url}/v1/log/leaves/${index}`))) as { payload: string };
      const statement = JSON.parse(new TextDecoder().decode(base64Decode(envelope.payload))) as { subject: Array<{ name: string }> };
      const batchId = statement.subject[0]!.name;
      const batch = JSON.parse(await firstAnswer(urls, (url) => fetchText(`${url}/v1/settlements/${encodeURIComponent(batchId)}`))) as { legs: Array<{ uetr: string }> };
      for (const leg of batch.legs) byUetr.set(leg.uetr, new Set([...(byUetr.get(leg.uetr) ?? []), batchId]));
    });
  }
  return byUetr;
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status === 503) throw new Error(`${url}: 503 (retry)`);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

/** The first backend of a jurisdiction that answers (one may be the drill's casualty), retried briefly. */
async function firstAnswer(urls: string[], read: (url: string) => Promise<string>): Promise<string> {
  const errors: string[] = [];
  for (let round = 0; round < 5; round++) {
    for (const url of urls) {
      try {
        return await read(url);
      } catch (cause) {
        errors.push((cause as Error).message);
      }
    }
    await sleep(500 * (round + 1));
  }
  throw new Error(`no backend answered: ${errors.slice(-4).join('; ')}`);
}

async function mapBounded<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Prints the drill's line and appends it to bench/results/chaos.jsonl. */
export function recordDrill(drill: string, reconciliation: Reconciliation, recoveryMs: number | null, extra: Record<string, unknown> = {}): void {
  const { examples, ...figures } = reconciliation;
  const line = { drill, ...figures, recovery_ms: recoveryMs, ...extra };
  console.log(`chaos ${drill}: ${JSON.stringify(line)}`);
  if (examples.length > 0) console.log(`chaos ${drill}: examples ${examples.join(' | ')}`);
  recordResult('bench/results/chaos.jsonl', { bench: 'chaos', ...line });
}

// ---------------------------------------------------------------------------------------------
// One drill, start to reconciliation

export interface Drill {
  name: string;
  /** Injects the fault, a third of the way through the submissions. */
  inject(): void;
  /** Takes the fault away two thirds of the way through (an outage that ends); absent: it stays (a kill the launcher or failover absorbs). */
  heal?(): void;
  /** The flow whose payment times recovery: from the fault (no heal) or from the heal. */
  recoveryFlow: Flow;
  recoveryTimeoutMs?: number;
}

export interface DrillResult {
  reconciliation: Reconciliation;
  submission: Submission;
  /** Submit → settled of one payment under the same load before the fault (what recovery_ms compares with). */
  baselineMs: number;
  recoveryMs: number;
}

/**
 * Submits drillPayments from every flow, times one payment's settlement under that load before the
 * fault (baseline), injects the fault, heals it if the drill does, times the first payment after
 * (recovery), then reconciles from the outside and records the line in bench/results/chaos.jsonl.
 * Asserts what every drill must hold: every request answered, none lost, none duplicated.
 */
export async function runDrill(drill: Drill, extra: () => Record<string, unknown> = () => ({})): Promise<DrillResult> {
  const before = await logSizes();
  let baseline: Promise<number> | undefined;
  let recovery: Promise<number> | undefined;
  const at = (fraction: number) => Math.max(1, Math.floor(drillPayments * fraction));
  const submission = await submitPayments(drillPayments, drillFlows, (done) => {
    if (done === at(1 / 6)) baseline = timeToSettle(drill.recoveryFlow, Date.now());
    if (done === at(1 / 3)) {
      drill.inject();
      if (drill.heal === undefined) recovery = timeToSettle(drill.recoveryFlow, Date.now(), drill.recoveryTimeoutMs);
    }
    if (drill.heal !== undefined && done === at(2 / 3)) {
      drill.heal();
      recovery = timeToSettle(drill.recoveryFlow, Date.now(), drill.recoveryTimeoutMs);
    }
  });
  const baselineMs = await baseline!;
  const recoveryMs = await recovery!;
  const reconciliation = await reconcile(drillPayments, submission.accepted, before);
  recordDrill(drill.name, reconciliation, recoveryMs, {
    baseline_ms: baselineMs,
    // The baseline and recovery payments, settled (timeToSettle waits for it) but not in the counts.
    timing_payments: 2,
    refused: Object.fromEntries(submission.refused),
    refused_examples: Object.fromEntries(submission.refusedDetails),
    unanswered: submission.unanswered,
    ...extra(),
  });
  return { reconciliation, submission, baselineMs, recoveryMs };
}

/** The invariants every drill asserts (a drill may add its own). */
export function assertReconciled({ reconciliation, submission }: DrillResult, expect: ExpectStatic): void {
  expect(reconciliation.lost, reconciliation.examples.join('\n')).toBe(0);
  expect(reconciliation.duplicated, reconciliation.examples.join('\n')).toBe(0);
  // Every request was answered (202 or a problem); refusals are counted by slug in the record.
  expect(submission.unanswered).toBe(0);
  expect(reconciliation.settled + reconciliation.held + reconciliation.rejected).toBe(reconciliation.accepted);
}
