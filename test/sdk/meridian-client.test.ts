/**
 * MeridianClient's submission and polling rules, against a scripted transport standing in for the
 * gateway's answers (the real gateway's idempotency is tested in test/workers/payments.test.ts; the
 * whole path against a real gateway is test/sdk/readme-quick-start.test.ts). What a partner relies
 * on: a resend carries the very same instruction JWS under a fresh signature nonce; refusals are
 * never resent; Retry-After is honoured; a receipt that does not cover the sent bytes is refused.
 */
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { acceptanceReceiptType } from '../../core/acceptance-receipt.ts';
import { sha256Hex } from '../../core/digest.ts';
import { buildInstruction, MeridianClient, MeridianError, retryAfterMs, retryDecision, verifyAcceptanceReceipt, type PartnerCredentials } from '../../packages/partner-sdk/src/index.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';

const alpha = loadDevPartners().find((partner) => partner.partner_id === 'alpha-bank') as PartnerCredentials;
const gateway = 'http://gateway.test';

interface Sent {
  body: string;
  nonce: string;
}

/** A transport that answers from a script and records what each request carried. */
async function scripted(answers: Array<Response | Error>, receiptFor?: (body: string) => Promise<string>) {
  const sent: Sent[] = [];
  const { publicKey, privateKey } = await generateKeyPair('Ed25519');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'receipt-test', alg: 'EdDSA' };
  const transport = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname === '/.well-known/meridian') return Response.json({ gateway_id: 'test', receipts_jwks: { keys: [jwk] } });
    sent.push({ body: await request.text(), nonce: /nonce="([^"]+)"/.exec(request.headers.get('signature-input') ?? '')?.[1] ?? '' });
    const next = answers.shift();
    if (next === undefined) throw new Error('script exhausted');
    if (next instanceof Error) throw next;
    if (next.status === 202 && receiptFor !== undefined) return Response.json({ ...(await next.json()), receipt: await receiptFor(sent.at(-1)!.body) }, { status: 202 });
    return next;
  };
  const sign = async (claims: Record<string, unknown>) => new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'EdDSA', kid: 'receipt-test', typ: acceptanceReceiptType }).sign(privateKey);
  return { sent, transport, sign, jwks: { keys: [jwk] } };
}

const problem = (status: number, slug: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `urn:meridian:problem:${slug}`, title: slug, status }), { status, headers: { 'content-type': 'application/problem+json', ...headers } });

function eurInstruction() {
  return buildInstruction({ debtorBic: 'ALPHDEFFXXX', debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '10.00', currency: 'EUR', targetCurrency: 'EUR' });
}

describe('submission with retries', () => {
  it('resends the same JWS with fresh nonces after a network failure and a 503, then verifies the receipt', async () => {
    const instruction = eurInstruction();
    const script = await scripted([new TypeError('fetch failed'), problem(503, 'velocity-unavailable', { 'retry-after': '0' }), Response.json({ uetr: instruction.uetr, status: 'accepted', window: 'EUR-EUR/eu/1' }, { status: 202 })], (body) =>
      script.sign({ gateway: 'test', partner_id: 'alpha-bank', uetr: instruction.uetr, instruction_sha256: sha256Hex(body), status: 'accepted', window: 'EUR-EUR/eu/1', accepted_at: new Date().toISOString() }),
    );
    const retries: number[] = [];
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport, onRetry: (event) => retries.push(event.delayMs) });
    const accepted = await meridian.pay(instruction);
    expect(accepted).toMatchObject({ uetr: instruction.uetr, status: 'accepted', window: 'EUR-EUR/eu/1', attempts: 3 });
    expect(script.sent).toHaveLength(3);
    expect(new Set(script.sent.map((request) => request.body)).size).toBe(1);
    expect(script.sent[0]!.body).toBe(accepted.jws);
    expect(new Set(script.sent.map((request) => request.nonce)).size).toBe(3);
    expect(retries[1]).toBe(0);
  });

  it('never resends a refusal: a 409 is final after one attempt and pay() throws it with the problem', async () => {
    const script = await scripted([problem(409, 'duplicate-uetr-mismatch')]);
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport });
    const refused = await meridian.pay(eurInstruction()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MeridianError);
    expect(refused).toMatchObject({ kind: 'refused', status: 409, problem: { type: 'urn:meridian:problem:duplicate-uetr-mismatch' } });
    expect(script.sent).toHaveLength(1);
  });

  it('returns a 429 whose Retry-After is beyond the wait limit instead of sleeping through it', async () => {
    const script = await scripted([problem(429, 'velocity-exceeded', { 'retry-after': '3600' })]);
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport });
    const answer = await meridian.submit(await meridian.signInstruction(eurInstruction()));
    expect(answer).toMatchObject({ status: 429, attempts: 1, retryAfter: '3600' });
  });

  it('gives up as unreachable after the attempt budget, with the network error as the cause', async () => {
    const script = await scripted([new TypeError('fetch failed'), new TypeError('fetch failed')]);
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport, attemptsMax: 2 });
    const failure = await meridian.submit(await meridian.signInstruction(eurInstruction())).catch((error: unknown) => error);
    expect(failure).toMatchObject({ kind: 'unreachable' });
    expect((failure as Error).cause).toBeInstanceOf(TypeError);
    expect(script.sent).toHaveLength(2);
  });

  it('reads Retry-After as seconds or an HTTP-date, and retries 502/504 but not 500', () => {
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(new Date(Date.parse('2026-01-01T00:00:30Z')).toUTCString(), Date.parse('2026-01-01T00:00:00Z'))).toBe(30_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryDecision({ kind: 'answer', status: 502, retryAfter: null }, 1).retry).toBe(true);
    expect(retryDecision({ kind: 'answer', status: 504, retryAfter: null }, 1).retry).toBe(true);
    expect(retryDecision({ kind: 'answer', status: 500, retryAfter: null }, 1)).toEqual({ retry: false, reason: 'final-answer' });
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: null }, 6)).toEqual({ retry: false, reason: 'attempts-exhausted' });
  });
});

describe('acceptance receipts', () => {
  it('refuses a receipt that covers other instruction bytes, another UETR or another partner', async () => {
    const script = await scripted([]);
    const instruction = eurInstruction();
    const jws = '{"payload":"the bytes that were sent"}';
    const claims = { gateway: 'test', partner_id: 'alpha-bank', uetr: instruction.uetr, instruction_sha256: sha256Hex(jws), status: 'accepted', window: 'w', accepted_at: new Date().toISOString() };
    const expected = { partnerId: 'alpha-bank', uetr: instruction.uetr, instructionJws: jws };
    expect(await verifyAcceptanceReceipt(await script.sign(claims), script.jwks, expected)).toMatchObject({ ok: true, value: { uetr: instruction.uetr } });
    expect(await verifyAcceptanceReceipt(await script.sign({ ...claims, instruction_sha256: sha256Hex('other bytes') }), script.jwks, expected)).toMatchObject({ ok: false, failure: expect.stringContaining('not the one submitted') });
    expect(await verifyAcceptanceReceipt(await script.sign({ ...claims, uetr: crypto.randomUUID() }), script.jwks, expected)).toMatchObject({ ok: false });
    expect(await verifyAcceptanceReceipt(await script.sign({ ...claims, partner_id: 'banque-bravo' }), script.jwks, expected)).toMatchObject({ ok: false });
    const other = await generateKeyPair('Ed25519');
    const forged = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'EdDSA', kid: 'receipt-test', typ: acceptanceReceiptType }).sign(other.privateKey);
    expect(await verifyAcceptanceReceipt(forged, script.jwks, expected)).toMatchObject({ ok: false, failure: expect.stringContaining('does not verify') });
  });
});

describe('status polling', () => {
  it('polls until settled', async () => {
    const uetr = crypto.randomUUID();
    const settled = { uetr, status: 'settled', batch_id: 'b', jurisdiction: 'eu', region: 'eu-1', log_index: 3 };
    const script = await scripted([Response.json({ uetr, status: 'accepted' }), problem(503, 'unavailable', { 'retry-after': '0' }), Response.json({ uetr, status: 'accepted' }), Response.json(settled)]);
    const seen: string[] = [];
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport });
    expect(await meridian.waitForSettlement(uetr, { onStatus: (status) => seen.push(status) })).toEqual(settled);
    expect(seen).toEqual(['accepted', 'accepted', 'settled']);
  });

  it('stops on rejected, and on a status the owner cannot read', async () => {
    const uetr = crypto.randomUUID();
    const rejected = await scripted([Response.json({ uetr, status: 'rejected' })]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: rejected.transport }).waitForSettlement(uetr)).rejects.toMatchObject({ kind: 'rejected' });
    const missing = await scripted([problem(404, 'not-found')]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: missing.transport }).waitForSettlement(uetr)).rejects.toMatchObject({ kind: 'refused', status: 404 });
  });
});
