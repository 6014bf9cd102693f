/**
 * `npm run demo`: submits a few hundred payments from the dev partners across five corridors to a
 * running `npm start`, waits for every one to settle, then checks the evidence like an auditor:
 * acceptance receipts against the gateway's JWKS, settlement receipts against each backend's
 * /v1/keys, and net positions recomputed independently from the committed legs. Then one payment
 * to a listed name shows sanctions screening: it is held, and settles only once one operator
 * proposes its release and a second approves it (`demoHeldRelease`).
 * Exits non-zero if anything it submitted did not settle or did not verify.
 */
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, importJWK, type JSONWebKeySet } from 'jose';
import { loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { base64urlEncode, base64Decode } from '../core/digest.ts';
import { netPositions } from '../core/netting.ts';
import type { NetPosition, SettlementLeg } from '../core/settlement-batch.ts';
import { buildInstruction } from './sdk/instruction-builder.ts';
import { PartnerClient } from './sdk/partner-client.ts';
import { gatewayUrl, regionalBackends } from './dev/launcher.ts';
import { auditBackends } from './audit.ts';
import { devAccessToken } from './ops-commands.ts';

/** MERIDIAN_DEMO_PAYMENTS_PER_FLOW shrinks the demo (the end-to-end test uses a few). */
const paymentsPerFlow = Number(process.env.MERIDIAN_DEMO_PAYMENTS_PER_FLOW ?? '60');
const submitConcurrency = 16;
const settleTimeoutMs = 120_000;
const pollIntervalMs = 1_000;

interface Flow {
  corridor: string;
  from: string;
  debtorCountry: string;
  creditorBic: string;
  creditorCountry: string;
  currency: string;
  target: string;
  /** Amount range in whole units of the source currency. */
  unitsMax: number;
}

const flows: Flow[] = [
  { corridor: 'EUR-EUR', from: 'alpha-bank', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', currency: 'EUR', target: 'EUR', unitsMax: 50_000 },
  { corridor: 'EUR-EUR', from: 'banque-bravo', debtorCountry: 'FR', creditorBic: 'ALPHDEFFXXX', creditorCountry: 'DE', currency: 'EUR', target: 'EUR', unitsMax: 50_000 },
  { corridor: 'EUR-USD', from: 'alpha-bank', debtorCountry: 'DE', creditorBic: 'CHARUS33XXX', creditorCountry: 'US', currency: 'EUR', target: 'USD', unitsMax: 20_000 },
  { corridor: 'USD-JPY', from: 'charlie-trust', debtorCountry: 'US', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', currency: 'USD', target: 'JPY', unitsMax: 10_000 },
  { corridor: 'SGD-JPY', from: 'delta-sg', debtorCountry: 'SG', creditorBic: 'ECHOJPJTXXX', creditorCountry: 'JP', currency: 'SGD', target: 'JPY', unitsMax: 10_000 },
];

interface Submitted {
  flow: Flow;
  partner: DevPartner;
  uetr: string;
  receipt: string;
}

function randomAmount(unitsMax: number, currency: string): string {
  const units = 1 + Math.floor(Math.random() * unitsMax);
  return currency === 'JPY' ? String(units) : `${units}.${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
}

async function mapConcurrently<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

function progress(label: string, done: number, total: number): void {
  if (!process.stdout.isTTY) {
    // Logs and CI get a line per 25%, not a carriage-return animation.
    if (done === total || done % Math.max(1, Math.ceil(total / 4)) === 0) console.log(`  ${label} ${done}/${total}`);
    return;
  }
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stdout.write(`\r  ${label.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stdout.write('\n');
}

async function submitAll(partners: Map<string, DevPartner>): Promise<{ submitted: Submitted[]; refused: string[] }> {
  const jobs = flows.flatMap((flow) => Array.from({ length: paymentsPerFlow }, () => flow));
  const submitted: Submitted[] = [];
  const refused: string[] = [];
  let done = 0;
  await mapConcurrently(jobs, submitConcurrency, async (flow) => {
    const partner = partners.get(flow.from) as DevPartner;
    const instruction = buildInstruction({
      debtorBic: partner.bic,
      debtorCountry: flow.debtorCountry,
      creditorBic: flow.creditorBic,
      creditorCountry: flow.creditorCountry,
      amount: randomAmount(flow.unitsMax, flow.currency),
      currency: flow.currency,
      targetCurrency: flow.target,
      remittanceInfo: 'Meridian demo payment',
    });
    const answer = await new PartnerClient(partner, gatewayUrl).submitPayment(instruction);
    if (answer.status === 202) submitted.push({ flow, partner, uetr: instruction.uetr, receipt: answer.body.receipt as string });
    else refused.push(`${flow.corridor} ${instruction.uetr}: HTTP ${answer.status} ${String(answer.body.type)} ${String(answer.body.detail)}`);
    progress('submitted', ++done, jobs.length);
  });
  return { submitted, refused };
}

interface SettledStatus {
  uetr: string;
  status: string;
  batch_id: string | null;
  region: string | null;
  log_index: number | null;
}

async function waitForSettlement(submitted: Submitted[]): Promise<Map<string, SettledStatus>> {
  const settled = new Map<string, SettledStatus>();
  const deadline = Date.now() + settleTimeoutMs;
  while (settled.size < submitted.length && Date.now() < deadline) {
    const pending = submitted.filter((payment) => !settled.has(payment.uetr));
    await mapConcurrently(pending, submitConcurrency, async (payment) => {
      const answer = await new PartnerClient(payment.partner, gatewayUrl).paymentStatus(payment.uetr);
      if (answer.status === 200 && answer.body.status === 'settled') settled.set(payment.uetr, answer.body as unknown as SettledStatus);
    });
    progress('settled', settled.size, submitted.length);
    if (settled.size < submitted.length) await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
  return settled;
}

interface RegionalBatch {
  batch_id: string;
  digest: string;
  corridor: string;
  legs: SettlementLeg[];
  positions: NetPosition[];
  receipt: string;
}

async function verifyBatches(settled: Map<string, SettledStatus>): Promise<{ batches: RegionalBatch[]; failures: string[] }> {
  const failures: string[] = [];
  const byBatch = new Map<string, string>();
  for (const status of settled.values()) byBatch.set(status.batch_id as string, status.region as string);
  const keysByRegion = new Map<string, Map<string, CryptoKey | Uint8Array>>();
  const batches: RegionalBatch[] = [];
  for (const [batchId, region] of byBatch) {
    const backend = regionalBackends.find((candidate) => candidate.region === region);
    if (backend === undefined) {
      failures.push(`batch ${batchId}: unknown region ${region}`);
      continue;
    }
    const base = `http://127.0.0.1:${backend.port}`;
    const batch = (await (await fetch(`${base}/v1/settlements/${encodeURIComponent(batchId)}`)).json()) as RegionalBatch;
    batches.push(batch);
    if (!keysByRegion.has(region)) keysByRegion.set(region, await regionalKeys(base));
    const { kid } = decodeProtectedHeader(batch.receipt);
    const key = kid === undefined ? undefined : keysByRegion.get(region)?.get(kid);
    if (key === undefined) failures.push(`batch ${batchId}: receipt kid ${String(kid)} is not in ${region} /v1/keys`);
    else {
      const { payload } = await compactVerify(batch.receipt, key);
      const claims = JSON.parse(new TextDecoder().decode(payload)) as { digest: string; batch_id: string };
      if (claims.digest !== batch.digest || claims.batch_id !== batchId) failures.push(`batch ${batchId}: receipt does not name this batch`);
    }
    const recomputed = JSON.stringify(netPositions(batch.legs));
    if (recomputed !== JSON.stringify(batch.positions)) failures.push(`batch ${batchId}: positions differ from an independent recomputation from its legs`);
  }
  return { batches, failures };
}

async function regionalKeys(base: string): Promise<Map<string, CryptoKey | Uint8Array>> {
  const { keys } = (await (await fetch(`${base}/v1/keys`)).json()) as { keys: Array<{ kid: string; alg: string; public_key: string }> };
  const imported = new Map<string, CryptoKey | Uint8Array>();
  for (const key of keys) {
    if (key.alg !== 'Ed25519' && key.alg !== 'EdDSA') continue;
    imported.set(key.kid, (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(base64Decode(key.public_key)) }, 'EdDSA')) as CryptoKey);
  }
  return imported;
}

async function verifyAcceptanceReceipts(submitted: Submitted[]): Promise<number> {
  const response = await fetch(`${gatewayUrl}/.well-known/jwks.json`);
  if (!response.ok) throw new Error(`the gateway JWKS answered HTTP ${response.status}: ${await response.text()}`);
  const jwks = (await response.json()) as JSONWebKeySet;
  const keySet = createLocalJWKSet(jwks);
  let verified = 0;
  for (const payment of submitted) {
    const { payload } = await compactVerify(payment.receipt, keySet);
    if ((JSON.parse(new TextDecoder().decode(payload)) as { uetr: string }).uetr === payment.uetr) verified += 1;
  }
  return verified;
}

function printSummary(submitted: Submitted[], settled: Map<string, SettledStatus>, batches: RegionalBatch[]): void {
  console.log('\n  corridor   accepted  settled  batches');
  for (const corridor of [...new Set(flows.map((flow) => flow.corridor))]) {
    const accepted = submitted.filter((payment) => payment.flow.corridor === corridor);
    const done = accepted.filter((payment) => settled.has(payment.uetr)).length;
    const batchCount = batches.filter((batch) => batch.corridor === corridor).length;
    console.log(`  ${corridor.padEnd(10)} ${String(accepted.length).padStart(8)} ${String(done).padStart(8)} ${String(batchCount).padStart(8)}`);
  }
  const totals = new Map<string, bigint>();
  for (const batch of batches) {
    for (const position of batch.positions) {
      const key = `${position.participant} ${position.currency}`;
      totals.set(key, (totals.get(key) ?? 0n) + BigInt(position.net_minor));
    }
  }
  console.log('\n  net positions (minor units, summed over the demo\'s batches; + receives, − pays)');
  for (const [key, net] of [...totals].sort(([left], [right]) => (left < right ? -1 : 1))) console.log(`  ${key.padEnd(16)} ${net.toString().padStart(16)}`);
}

/** Audits the transparency logs as an auditor would, offline, with nothing but each backend's public API. */
async function auditLogs(): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const reachable: string[] = [];
  for (const jurisdiction of [...new Set(regionalBackends.map((backend) => backend.jurisdiction))]) {
    const urls = regionalBackends.filter((backend) => backend.jurisdiction === jurisdiction).map((backend) => `http://127.0.0.1:${backend.port}`);
    const down: string[] = [];
    for (const url of urls) {
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      if (health?.ok !== true) down.push(url);
    }
    // Every backend of a shared log signs leaves; an auditor needs each one's /v1/keys to verify them.
    if (down.length > 0) lines.push(`  log of ${jurisdiction}: not audited — ${down.join(', ')} unreachable, and its published keys are needed to verify the leaves it signed`);
    else reachable.push(...urls);
  }
  const report = await auditBackends(reachable);
  for (const log of report.logs) lines.push(`  log ${log.origin}: ${log.checks.filter((check) => check.ok).length}/${log.checks.length} checks ${log.ok ? 'pass' : 'FAIL'}`);
  for (const backend of report.backends) {
    const failed = backend.checks.filter((check) => !check.ok);
    lines.push(`  backend ${backend.url}: tree size ${backend.checkpoint?.treeSize ?? '?'}, ${backend.checks.length - failed.length}/${backend.checks.length} checks ${backend.ok ? 'pass' : 'FAIL'}`);
    for (const check of failed) lines.push(`    FAILED: ${JSON.stringify(check)}`);
  }
  return { ok: report.ok, lines };
}

/** A payment whose debtor is on the dev OFAC list: held at admission, released under two-person control. */
async function demoHeldRelease(partner: DevPartner): Promise<boolean> {
  const base = buildInstruction({ debtorBic: partner.bic, debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '250.00', currency: 'EUR', targetCurrency: 'EUR' });
  const instruction = { ...base, debtor: { ...base.debtor, name: 'Usama bin Laden' } };
  const client = new PartnerClient(partner, gatewayUrl);
  const answer = await client.submitPayment(instruction);
  console.log(`\n  sanctions screening: a payment for "Usama bin Laden" is ${String(answer.body.status)} (HTTP ${answer.status}); the partner sees only that`);
  const ops = async (operator: string, path: string, body?: unknown) => {
    const response = await fetch(`${gatewayUrl}/ops/api${path}`, {
      method: 'POST', headers: { 'cf-access-jwt-assertion': await devAccessToken(operator), 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const proposed = await ops('ana@meridian.example', '/changes', { kind: 'hold-decision', uetr: instruction.uetr, decision: 'release', reason: 'demo: a namesake, identity checked' });
  const approved = await ops('ben@meridian.example', `/changes/${String(proposed.body.id)}/approve`);
  console.log(`  hold-decision: release proposed by ana (${proposed.status}), approved by ben (${approved.status}: ${String(approved.body.status)})`);
  for (const deadline = Date.now() + settleTimeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, pollIntervalMs))) {
    const status = (await client.paymentStatus(instruction.uetr)).body.status;
    if (status === 'settled') {
      console.log('  the released payment settled');
      return true;
    }
  }
  console.error('  FAILED: the released payment did not settle');
  return false;
}

export async function runDemo(): Promise<number> {
  const health = await fetch(`${gatewayUrl}/healthz`).catch(() => undefined);
  if (health?.ok !== true) {
    console.error(`demo: the gateway at ${gatewayUrl} is not answering. Start the system first with \`npm start\` (in another terminal).`);
    return 2;
  }
  const partners = new Map(loadDevPartners().map((partner) => [partner.partner_id, partner]));
  console.log(`demo: submitting ${flows.length * paymentsPerFlow} payments across ${new Set(flows.map((flow) => flow.corridor)).size} corridors`);
  const { submitted, refused } = await submitAll(partners);
  for (const line of refused.slice(0, 10)) console.error(`  refused: ${line}`);
  const settled = await waitForSettlement(submitted);
  const { batches, failures } = await verifyBatches(settled);
  const acceptanceVerified = await verifyAcceptanceReceipts(submitted);
  printSummary(submitted, settled, batches);
  console.log(`\n  acceptance receipts verified: ${acceptanceVerified}/${submitted.length}`);
  console.log(`  settlement receipts verified: ${batches.length - failures.filter((failure) => failure.includes('receipt')).length}/${batches.length} batches, positions recomputed from legs`);
  for (const failure of failures) console.error(`  FAILED: ${failure}`);
  const audit = await auditLogs();
  console.log('\n  transparency logs (checkpoint signatures, leaf DSSE signatures, inclusion and consistency proofs)');
  for (const line of audit.lines) console.log(line);
  if (!audit.ok) failures.push('transparency-log audit failed');
  if (!(await demoHeldRelease(partners.get('alpha-bank')!))) failures.push('the held payment was not released and settled');
  const unsettled = submitted.length - settled.size;
  const ok = refused.length === 0 && unsettled === 0 && failures.length === 0 && acceptanceVerified === submitted.length;
  console.log(ok ? `demo: all ${submitted.length} payments settled and verified` : `demo: FAILED — ${refused.length} refused, ${unsettled} not settled, ${failures.length} verification failures`);
  return ok ? 0 : 1;
}
