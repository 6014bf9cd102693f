/**
 * `npm run demo`: submits a few hundred payments from the dev partners across five corridors to a
 * running `npm start` (or the gateway MERIDIAN_GATEWAY names), waits for every one to settle, then
 * checks the evidence like an auditor: acceptance receipts against the gateway's JWKS, each batch's
 * settlement receipt, log leaf and inclusion proof against its backend's /v1/keys and checkpoint, and
 * net positions recomputed independently from the committed legs. Partner work goes through the
 * partner SDK (@meridian/partner-sdk) exactly as a bank would use it. Then one payment
 * to a listed name shows sanctions screening: it is held, and settles only once one operator
 * proposes its release and a second approves it (`demoHeldRelease`).
 * Exits non-zero if anything it submitted did not settle or did not verify.
 */
import { buildInstruction, MeridianClient, type SettledPayment } from '@meridian/partner-sdk';
import { loadDevPartners, type DevPartner } from '../dev/fixtures.ts';
import { netPositions } from '../core/netting.ts';
import type { NetPosition, SettlementLeg } from '../core/settlement-batch.ts';
import { gatewayUrl as startGatewayUrl, regionalBackends } from './dev/launcher.ts';
import { auditBackends } from './audit.ts';
import { devAccessToken } from './ops-commands.ts';

/** MERIDIAN_DEMO_PAYMENTS_PER_FLOW shrinks the demo (the end-to-end test uses a few). */
const paymentsPerFlow = Number(process.env.MERIDIAN_DEMO_PAYMENTS_PER_FLOW ?? '60');
const submitConcurrency = 16;
const settleTimeoutMs = 120_000;
const pollIntervalMs = 1_000;
/** MERIDIAN_GATEWAY, as every other command honours it; else npm start's. */
const gatewayUrl = process.env.MERIDIAN_GATEWAY || startGatewayUrl;
const regionalUrls = Object.fromEntries(regionalBackends.map((backend) => [backend.region, `http://127.0.0.1:${backend.port}`]));

/** One SDK client per dev partner: each caches its discovery document and PQ session. */
const clients = new Map<string, MeridianClient>();
function clientFor(partner: DevPartner): MeridianClient {
  let client = clients.get(partner.partner_id);
  if (client === undefined) {
    client = new MeridianClient({ gateway: gatewayUrl, credentials: partner, regionalBackends: regionalUrls });
    clients.set(partner.partner_id, client);
  }
  return client;
}

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

/** Submits every flow's payments; each one's acceptance receipt is verified by the SDK before it counts as submitted. */
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
    try {
      await clientFor(partner).pay(instruction);
      submitted.push({ flow, partner, uetr: instruction.uetr });
    } catch (error) {
      if ((error as { kind?: unknown }).kind === undefined) throw error;
      refused.push(`${flow.corridor} ${instruction.uetr}: ${(error as Error).message}`);
    }
    progress('submitted', ++done, jobs.length);
  });
  return { submitted, refused };
}

async function waitForSettlement(submitted: Submitted[]): Promise<Map<string, SettledPayment>> {
  const settled = new Map<string, SettledPayment>();
  const deadline = Date.now() + settleTimeoutMs;
  while (settled.size < submitted.length && Date.now() < deadline) {
    const pending = submitted.filter((payment) => !settled.has(payment.uetr));
    await mapConcurrently(pending, submitConcurrency, async (payment) => {
      const answer = await clientFor(payment.partner).status(payment.uetr);
      if (answer.status === 200 && answer.body.status === 'settled') settled.set(payment.uetr, answer.body as unknown as SettledPayment);
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

/**
 * Per batch: the SDK verifies one of its payments end to end (settlement receipt, log leaf, inclusion
 * in a signed checkpoint); the demo checks that every settled payment is a leg of its batch and
 * recomputes the net positions from the legs.
 */
async function verifyBatches(settled: Map<string, SettledPayment>, owners: Map<string, DevPartner>): Promise<{ batches: RegionalBatch[]; failures: string[] }> {
  const failures: string[] = [];
  const byBatch = new Map<string, SettledPayment[]>();
  for (const status of settled.values()) byBatch.set(status.batch_id, [...(byBatch.get(status.batch_id) ?? []), status]);
  const batches: RegionalBatch[] = [];
  for (const [batchId, payments] of byBatch) {
    const representative = payments[0]!;
    const base = regionalUrls[representative.region];
    if (base === undefined) {
      failures.push(`batch ${batchId}: unknown region ${representative.region}`);
      continue;
    }
    try {
      await clientFor(owners.get(representative.uetr)!).verifySettlement(representative);
    } catch (error) {
      failures.push(`batch ${batchId}: receipt or log inclusion: ${(error as Error).message}`);
    }
    const batch = (await (await fetch(`${base}/v1/settlements/${encodeURIComponent(batchId)}`)).json()) as RegionalBatch;
    batches.push(batch);
    const legUetrs = new Set(batch.legs.map((leg) => leg.uetr));
    const missing = payments.filter((payment) => !legUetrs.has(payment.uetr));
    if (missing.length > 0) failures.push(`batch ${batchId}: ${missing.length} payments reported settled in it are not among its legs`);
    const recomputed = JSON.stringify(netPositions(batch.legs));
    if (recomputed !== JSON.stringify(batch.positions)) failures.push(`batch ${batchId}: positions differ from an independent recomputation from its legs`);
  }
  return { batches, failures };
}

function printSummary(submitted: Submitted[], settled: Map<string, SettledPayment>, batches: RegionalBatch[]): void {
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
  const client = clientFor(partner);
  const answer = await client.pay(instruction);
  console.log(`\n  sanctions screening: a payment for "Usama bin Laden" is ${answer.status} (its receipt verified); the partner sees only that`);
  const ops = async (operator: string, path: string, body?: unknown) => {
    const response = await fetch(`${gatewayUrl}/ops/api${path}`, {
      method: 'POST', headers: { 'cf-access-jwt-assertion': await devAccessToken(operator), 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const proposed = await ops('ana@meridian.example', '/changes', { kind: 'hold-decision', uetr: instruction.uetr, decision: 'release', reason: 'demo: a namesake, identity checked' });
  const approved = await ops('ben@meridian.example', `/changes/${String(proposed.body.id)}/approve`);
  console.log(`  hold-decision: release proposed by ana (${proposed.status}), approved by ben (${approved.status}: ${String(approved.body.status)})`);
  try {
    await client.verifySettlement(await client.waitForSettlement(instruction.uetr, { timeoutMs: settleTimeoutMs }));
    console.log('  the released payment settled; its settlement receipt and log inclusion verify');
    return true;
  } catch (error) {
    console.error(`  FAILED: the released payment: ${(error as Error).message}`);
    return false;
  }
}

export async function runDemo(): Promise<number> {
  const health = await fetch(`${gatewayUrl}/healthz`).catch(() => undefined);
  if (health?.ok !== true) {
    console.error(`demo: the gateway at ${gatewayUrl} is not answering. Start the system first with \`npm start\` (in another terminal)${process.env.MERIDIAN_GATEWAY ? ', or fix MERIDIAN_GATEWAY' : ''}.`);
    return 2;
  }
  const partners = new Map(loadDevPartners().map((partner) => [partner.partner_id, partner]));
  console.log(`demo: submitting ${flows.length * paymentsPerFlow} payments across ${new Set(flows.map((flow) => flow.corridor)).size} corridors`);
  const { submitted, refused } = await submitAll(partners);
  for (const line of refused.slice(0, 10)) console.error(`  refused: ${line}`);
  const settled = await waitForSettlement(submitted);
  const owners = new Map(submitted.map((payment) => [payment.uetr, payment.partner]));
  const { batches, failures } = await verifyBatches(settled, owners);
  // pay() verified each receipt against the gateway JWKS before the payment counted as submitted.
  const acceptanceVerified = submitted.length;
  printSummary(submitted, settled, batches);
  console.log(`\n  acceptance receipts verified: ${acceptanceVerified}/${submitted.length}`);
  console.log(`  settlement receipts and log inclusion verified: ${batches.length - failures.filter((failure) => failure.includes('receipt')).length}/${batches.length} batches, positions recomputed from legs`);
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
