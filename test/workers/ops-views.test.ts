/**
 * The ops console's read-only views (workers/ops/views/), driven through the gateway in workerd
 * against the regional backends the suite starts (global-setup.ts). REGIONAL_BACKENDS lists a
 * dead `eu-down` first in eu, so the views must report it and carry on.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { PartnerClient, signedRequest, signInstruction, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { ana, opsJson } from './ops-support.ts';
import { alpha, bravo, eurPayment, gatewayUrl } from './support.ts';
import { sleep, waitForStatus } from './window-support.ts';

const views = ['/api/windows', '/api/security-events', '/api/backends', '/api/keys'] as const;
const eurEurDurationMs = 2_000; // dev/corridors.json

/** A partner client that reports the TLS version the test runtime observes, so sealed (PQ) submissions work. */
function clientFor(partner: PartnerCredentials): PartnerClient {
  return new PartnerClient(partner, gatewayUrl, (request) => SELF.fetch(request), { reportedTls: 'TLSv1.3' });
}

interface CurrencyFigures { currency: string; gross_minor: string; net_minor: string; netting_efficiency: string | null }
interface WindowView { batch_id: string; state: string; payment_count: number | null; leg_count: number | null; figures: string; currencies: CurrencyFigures[] }
interface CorridorWindows { corridor: string; jurisdiction: string; status: string; open_windows: number; collecting_windows: number; windows: WindowView[] }
interface BackendHealth { region: string; url: string; preference: number; healthy: boolean; status: string; error?: string }

describe('ops views: access', () => {
  it('answers 401 unauthenticated on every view without an Access token', async () => {
    for (const path of views) {
      const answer = await opsJson<{ type: string }>(null, path);
      expect(answer.status, path).toBe(401);
      expect(answer.body.type, path).toBe('urn:meridian:problem:unauthenticated');
    }
  });

  it('answers 403 to a valid token of someone who is not an operator', async () => {
    const answer = await opsJson<{ type: string }>('mallory@meridian.example', '/api/windows');
    expect(answer.status).toBe(403);
    expect(answer.body.type).toBe('urn:meridian:problem:forbidden');
  });
});

describe('GET /ops/api/backends', () => {
  it('lists eu in preference order with the dead eu-down unhealthy and eu-1 in use', async () => {
    const answer = await opsJson<{ jurisdictions: Array<{ jurisdiction: string; in_use: string | null; backends: BackendHealth[] }> }>(ana, '/api/backends');
    expect(answer.status).toBe(200);
    const eu = answer.body.jurisdictions.find((entry) => entry.jurisdiction === 'eu')!;
    expect(eu.backends.map((backend) => backend.region)).toEqual(['eu-down', 'eu-1']);
    expect(eu.backends[0]).toMatchObject({ preference: 1, healthy: false, status: 'unreachable', error: expect.any(String) });
    expect(eu.backends[1]).toMatchObject({ preference: 2, healthy: true, status: 'healthy' });
    expect(eu.in_use).toBe('eu-1');
    expect(answer.body.jurisdictions.map((entry) => [entry.jurisdiction, entry.in_use])).toEqual([['ap', 'ap-1'], ['eu', 'eu-1'], ['us', 'us-1']]);
  });
});

describe('GET /ops/api/keys', () => {
  it("shows each reachable backend's keys, eu-down as unreachable, and the gateway's published keys", async () => {
    const answer = await opsJson<{
      gateway: { status: string; receipt: { kid: string; x: string }; settlement_token: { kid: string } };
      backends: Array<{ region: string; status: string; error?: string; keys: Array<{ kid: string; alg: string; created_at: string | null; rotation_overdue: boolean | null }> }>;
    }>(ana, '/api/keys');
    expect(answer.status).toBe(200);
    const byRegion = new Map(answer.body.backends.map((backend) => [backend.region, backend]));
    expect(byRegion.get('eu-down')).toMatchObject({ status: 'unreachable', error: expect.any(String), keys: [] });
    for (const region of ['eu-1', 'us-1', 'ap-1']) {
      const backend = byRegion.get(region)!;
      expect(backend.status, region).toBe('ok');
      expect(backend.keys.length, region).toBeGreaterThan(0);
      for (const key of backend.keys) {
        expect(key).toEqual({ kid: expect.any(String), alg: expect.any(String), created_at: expect.any(String), rotation_overdue: false });
      }
      // The same keys as the backend's own auditor API says.
      const published = (await (await fetch(new URL('/v1/keys', (answer.body.backends.find((entry) => entry.region === region) as unknown as { url: string }).url))).json()) as { keys: Array<{ kid: string }> };
      expect(backend.keys.map((key) => key.kid)).toEqual(published.keys.map((key) => key.kid));
    }
    const jwks = (await (await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; x: string }> };
    expect(answer.body.gateway.status).toBe('ok');
    expect(answer.body.gateway.receipt).toMatchObject({ kid: jwks.keys[0]!.kid, x: jwks.keys[0]!.x });
    const tokenJwks = (await (await SELF.fetch(`${gatewayUrl}/.well-known/settlement-token-jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(answer.body.gateway.settlement_token.kid).toBe(tokenJwks.keys[0]!.kid);
  });
});

describe('GET /ops/api/security-events', () => {
  it('merges the partners\' newest events, newest first, with per-partner per-kind counts', async () => {
    const tlsRefused = await SELF.fetch(await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(alpha, eurPayment()) }), { cf: { tlsVersion: 'TLSv1.2' } });
    expect(tlsRefused.status).toBe(403);
    const alphaEvent = ((await tlsRefused.json()) as { security_event: number }).security_event;
    await sleep(5);
    const unsealed = await clientFor(bravo).submitPayment(bravoToAlpha('3.00'), { seal: false });
    expect(unsealed.status).toBe(403);
    const bravoEvent = (unsealed.body as { security_event: number }).security_event;

    const answer = await opsJson<{ events: Array<{ partner_id: string; id: number; kind: string; at: string }>; partners: Array<{ partner_id: string; status: string; counts: Record<string, number> }> }>(ana, '/api/security-events');
    expect(answer.status).toBe(200);
    const [newest, next] = answer.body.events;
    expect(newest).toMatchObject({ partner_id: 'banque-bravo', id: bravoEvent, kind: 'pq-required-unsealed' });
    expect(next).toMatchObject({ partner_id: 'alpha-bank', id: alphaEvent, kind: 'tls-below-minimum' });
    const ats = answer.body.events.map((event) => event.at);
    expect(ats).toEqual([...ats].sort().reverse());
    const partners = new Map(answer.body.partners.map((partner) => [partner.partner_id, partner]));
    expect(partners.get('banque-bravo')).toMatchObject({ status: 'ok', counts: { 'pq-required-unsealed': expect.any(Number) } });
    expect(partners.get('banque-bravo')!.counts['pq-required-unsealed']).toBeGreaterThanOrEqual(1);
    expect(partners.get('alpha-bank')!.counts['tls-below-minimum']).toBeGreaterThanOrEqual(1);
    expect(partners.get('charlie-trust')).toMatchObject({ status: 'ok' });
  });
});

function bravoToAlpha(amount: string) {
  return buildInstruction({ debtorBic: bravo.bic, debtorCountry: 'FR', creditorBic: alpha.bic, creditorCountry: 'DE', amount, currency: 'EUR', targetCurrency: 'EUR' });
}

/** Independent of workers/ops/views: a plain loop over what the test itself submitted. */
function expectedFigures(payments: Array<{ payer: string; payee: string; amountMinor: bigint }>) {
  let gross = 0n;
  const positions = new Map<string, bigint>();
  for (const payment of payments) {
    gross += payment.amountMinor;
    positions.set(payment.payer, (positions.get(payment.payer) ?? 0n) - payment.amountMinor);
    positions.set(payment.payee, (positions.get(payment.payee) ?? 0n) + payment.amountMinor);
  }
  let net = 0n;
  for (const position of positions.values()) if (position > 0n) net += position;
  return { currency: 'EUR', gross_minor: String(gross), net_minor: String(net), netting_efficiency: (1 - Number(net) / Number(gross)).toFixed(6) };
}

describe('GET /ops/api/windows', () => {
  it('shows settled windows with payment and leg counts, gross, net and netting efficiency', async () => {
    // Submit both directions early in a slice so they share one window and actually net.
    await clientFor(bravo).session();
    while (Date.now() % eurEurDurationMs > 300) await sleep(25);
    const submitted = [
      { partner: alpha, instruction: eurPayment('125.40'), payer: alpha.bic, payee: bravo.bic, amountMinor: 12_540n },
      { partner: alpha, instruction: eurPayment('7.05'), payer: alpha.bic, payee: bravo.bic, amountMinor: 705n },
      { partner: bravo, instruction: bravoToAlpha('100.00'), payer: bravo.bic, payee: alpha.bic, amountMinor: 10_000n },
    ];
    const answers = await Promise.all(submitted.map(({ partner, instruction }) => clientFor(partner).submitPayment(instruction)));
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const settled = await Promise.all(submitted.map(({ partner, instruction }) => waitForStatus(partner, instruction.uetr, 'settled')));
    const batchIds = settled.map((status) => status.batch_id as string);
    expect(new Set(batchIds).size, `all three in one window: ${batchIds.join(', ')}`).toBe(1);

    const answer = await opsJson<{ corridors: CorridorWindows[] }>(ana, '/api/windows');
    expect(answer.status).toBe(200);
    const eurEur = answer.body.corridors.find((entry) => entry.corridor === 'EUR-EUR' && entry.jurisdiction === 'eu')!;
    expect(eurEur.status).toBe('ok');
    expect(eurEur.windows.length).toBeLessThanOrEqual(20);
    const window = eurEur.windows.find((candidate) => candidate.batch_id === batchIds[0]);
    expect(window, `window ${batchIds[0]} in ${JSON.stringify(eurEur.windows.map((candidate) => candidate.batch_id))}`).toBeDefined();
    const expected = expectedFigures(submitted);
    expect(expected).toEqual({ currency: 'EUR', gross_minor: '23245', net_minor: '3245', netting_efficiency: '0.860400' });
    expect(window).toMatchObject({ state: 'settled', payment_count: 3, leg_count: 3, figures: 'computed', currencies: [expected] });
    // Every corridor × jurisdiction of the directory is listed, each answering.
    expect(answer.body.corridors.every((entry) => entry.status === 'ok')).toBe(true);
    expect(answer.body.corridors.some((entry) => entry.corridor === 'EUR-USD')).toBe(true);
  });

  it('counts a window that is still open', async () => {
    while (Date.now() % eurEurDurationMs > 300) await sleep(25);
    const instruction = eurPayment('1.00');
    expect((await clientFor(alpha).submitPayment(instruction)).status).toBe(202);
    const answer = await opsJson<{ corridors: Array<CorridorWindows & { open_payments: number }> }>(ana, '/api/windows');
    const eurEur = answer.body.corridors.find((entry) => entry.corridor === 'EUR-EUR' && entry.jurisdiction === 'eu')!;
    expect(eurEur.open_windows).toBeGreaterThanOrEqual(1);
    expect(eurEur.open_payments).toBeGreaterThanOrEqual(1);
    expect(eurEur.collecting_windows).toBeGreaterThanOrEqual(1);
    await waitForStatus(alpha, instruction.uetr, 'settled');
  });
});
