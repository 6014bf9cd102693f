/**
 * MeridianClient's submission and polling rules, against a scripted transport standing in for the
 * gateway's answers (the real gateway's idempotency is tested in test/workers/payments.test.ts; the
 * whole path against a real gateway is test/sdk/readme-quick-start.test.ts). What a partner relies
 * on: a resend carries the very same instruction JWS under a fresh signature nonce; refusals are
 * never resent; Retry-After is honoured; a receipt that does not cover the sent bytes is refused.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { acceptanceReceiptType } from '../../core/acceptance-receipt.ts';
import { base64urlEncode, sha256Hex } from '../../core/digest.ts';
import { xwingPublicKeyFromSeed } from '../../core/pq-session.ts';
import {
  buildInstruction, MeridianClient, MeridianError, SessionCache, retryAfterMs, retryAfterMaxMs, retryDecision, retryElapsedMsMax, verifyAcceptanceReceipt, type PartnerCredentials,
} from '../../packages/partner-sdk/src/index.ts';
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

const problem = (status: number, slug: string, headers: Record<string, string> = {}, detail?: string) =>
  new Response(JSON.stringify({ type: `urn:meridian:problem:${slug}`, title: slug, status, ...(detail === undefined ? {} : { detail }) }), { status, headers: { 'content-type': 'application/problem+json', ...headers } });

const acceptedClaims = (uetr: string, body: string) => ({ gateway: 'test', partner_id: 'alpha-bank', uetr, instruction_sha256: sha256Hex(body), status: 'accepted', window: 'EUR-EUR/eu/1', accepted_at: new Date().toISOString() });

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

  it('stops on rejected, and on a 404 once the not-listed-yet grace is over', async () => {
    const uetr = crypto.randomUUID();
    const rejected = await scripted([Response.json({ uetr, status: 'rejected' })]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: rejected.transport }).waitForSettlement(uetr)).rejects.toMatchObject({ kind: 'rejected' });
    const missing = await scripted([problem(404, 'not-found')]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: missing.transport }).waitForSettlement(uetr, { notFoundGraceMs: 0 })).rejects.toMatchObject({ kind: 'refused', status: 404, slug: 'not-found' });
  });
});

describe('the retry policy a partner relies on', () => {
  it('never resends a 4xx other than 429, nor a 503 whose slug is terminal', () => {
    for (const status of [400, 401, 403, 404, 405, 409, 413, 415, 422]) expect(retryDecision({ kind: 'answer', status, retryAfter: '1' }, 1)).toEqual({ retry: false, reason: 'final-answer' });
    expect(retryDecision({ kind: 'answer', status: 429, retryAfter: '1' }, 1).retry).toBe(true);
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: '1', slug: 'velocity-unavailable' }, 1).retry).toBe(true);
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: '1', slug: 'misconfigured' }, 1)).toEqual({ retry: false, reason: 'terminal-problem' });
  });

  it('reads Retry-After in the three HTTP-date forms and refuses what is neither a date nor seconds', () => {
    const nowMs = Date.parse('1994-11-06T08:49:07Z');
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', nowMs)).toBe(30_000);
    expect(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', nowMs)).toBe(30_000);
    expect(retryAfterMs('Sun Nov  6 08:49:37 1994', nowMs)).toBe(30_000);
    // Date.parse alone reads these as dates long past, i.e. "retry now".
    for (const value of ['retry 1', '-1', '1.5', 'Sun, 06 Nov 1994']) expect(retryAfterMs(value, nowMs), value).toBeUndefined();
  });

  it('caps the Retry-After it waits for, in either form, and jitters it upwards only', () => {
    const nowMs = Date.now();
    const inTwoHours = new Date(nowMs + 7_200_000).toUTCString();
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: inTwoHours }, 1, { nowMs })).toEqual({ retry: false, reason: 'retry-after-too-long' });
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: String(retryAfterMaxMs / 1000 + 1) }, 1)).toEqual({ retry: false, reason: 'retry-after-too-long' });
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: '10' }, 1, { random: () => 0 })).toEqual({ retry: true, delayMs: 10_000 });
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: '10' }, 1, { random: () => 0.999 })).toEqual({ retry: true, delayMs: 11_998 });
  });

  it('bounds the whole exchange in time as well as in attempts', () => {
    expect(retryDecision({ kind: 'network-error', error: new TypeError('fetch failed') }, 2, { elapsedMs: retryElapsedMsMax - 10 })).toEqual({ retry: false, reason: 'time-exhausted' });
    expect(retryDecision({ kind: 'answer', status: 503, retryAfter: '30' }, 1, { elapsedMs: 0, elapsedMsMax: 20_000 })).toEqual({ retry: false, reason: 'time-exhausted' });
  });

  it('answers "still unavailable" as such, with the slug and detail, when the time budget ends before the Retry-After does', async () => {
    const script = await scripted([problem(503, 'velocity-unavailable', { 'retry-after': '2' }, 'velocity limits cannot be checked right now')]);
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport, retryElapsedMsMax: 1_000 });
    const failure = (await meridian.pay(eurInstruction()).catch((error: unknown) => error)) as MeridianError;
    expect(failure).toMatchObject({ kind: 'unavailable', status: 503, slug: 'velocity-unavailable', detail: 'velocity limits cannot be checked right now' });
    expect(failure.message).toContain('velocity-unavailable: velocity limits cannot be checked right now');
    expect(script.sent).toHaveLength(1);
  });

  it('puts the problem slug and detail of a refusal on the error', async () => {
    const script = await scripted([problem(409, 'duplicate-uetr-mismatch', {}, 'UETR already used with another instruction')]);
    const failure = (await new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).pay(eurInstruction()).catch((error: unknown) => error)) as MeridianError;
    expect(failure).toMatchObject({ kind: 'refused', slug: 'duplicate-uetr-mismatch', detail: 'UETR already used with another instruction' });
    expect(failure.message).toMatch(/HTTP 409 duplicate-uetr-mismatch: UETR already used with another instruction$/);
  });

  it('stops at once, without another request, when the caller aborts during a Retry-After wait', async () => {
    const script = await scripted([problem(503, 'velocity-unavailable', { 'retry-after': '30' })]);
    const controller = new AbortController();
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: script.transport, onRetry: () => controller.abort() });
    await expect(meridian.pay(eurInstruction(), { signal: controller.signal })).rejects.toMatchObject({ kind: 'aborted' });
    expect(script.sent).toHaveLength(1);
  }, 10_000);
});

/** A real HTTP gateway stand-in: `answer` decides per POST /v1/payments (null: never answer). */
async function listening(answer: (attempt: number, body: string) => { status: number; body: unknown } | null) {
  let attempts = 0;
  const hung: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const next = answer(++attempts, body);
      if (next === null) return void hung.push(response);
      response.writeHead(next.status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => {
      for (const response of hung) response.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('one attempt, one time budget', () => {
  it('abandons an attempt that gets no answer within attemptTimeoutMs and resends the same bytes', async () => {
    const bodies: string[] = [];
    const server = await listening((attempt, body) => {
      bodies.push(body);
      return attempt === 1 ? null : { status: 409, body: { type: 'urn:meridian:problem:duplicate-uetr-mismatch', status: 409 } };
    });
    try {
      const meridian = new MeridianClient({ gateway: server.url, credentials: alpha, attemptTimeoutMs: 300 });
      const answer = await meridian.submit(await meridian.signInstruction(eurInstruction()));
      expect(answer).toMatchObject({ status: 409, attempts: 2 });
      expect(bodies[1]).toBe(bodies[0]);
    } finally {
      await server.close();
    }
  }, 10_000);
});

describe('acceptance receipts at pay()', () => {
  it('treats a 202 whose receipt does not verify, or that carries none, as an error and not an acceptance', async () => {
    const instruction = eurInstruction();
    const script = await scripted([Response.json({ uetr: instruction.uetr, status: 'accepted' }, { status: 202 })], () => script.sign(acceptedClaims(instruction.uetr, 'some other instruction')));
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).pay(instruction)).rejects.toMatchObject({ kind: 'verification-failed', message: expect.stringContaining('not the one submitted') });
    const bare = await scripted([Response.json({ uetr: instruction.uetr, status: 'accepted' }, { status: 202 })]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: bare.transport }).pay(instruction)).rejects.toMatchObject({ kind: 'verification-failed' });
  });

  it('verifies a receipt under a key the gateway rotated in after this client first read discovery', async () => {
    const oldKey = await generateKeyPair('Ed25519');
    const newKey = await generateKeyPair('Ed25519');
    const jwk = async (key: CryptoKey, kid: string) => ({ ...(await exportJWK(key)), kid, alg: 'EdDSA' });
    let discoveries = 0;
    const instruction = eurInstruction();
    const transport = async (request: Request): Promise<Response> => {
      if (new URL(request.url).pathname === '/.well-known/meridian') {
        discoveries += 1;
        const keys = discoveries === 1 ? [await jwk(oldKey.publicKey, 'old')] : [await jwk(oldKey.publicKey, 'old'), await jwk(newKey.publicKey, 'new')];
        return Response.json({ gateway_id: 'test', receipts_jwks: { keys } });
      }
      const body = await request.text();
      const receipt = await new CompactSign(new TextEncoder().encode(JSON.stringify(acceptedClaims(instruction.uetr, body)))).setProtectedHeader({ alg: 'EdDSA', kid: 'new', typ: acceptanceReceiptType }).sign(newKey.privateKey);
      return Response.json({ uetr: instruction.uetr, status: 'accepted', window: 'EUR-EUR/eu/1', receipt }, { status: 202 });
    };
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: transport });
    await meridian.discover();
    expect(await meridian.pay(instruction)).toMatchObject({ status: 'accepted', window: 'EUR-EUR/eu/1' });
    expect(discoveries).toBe(2);
  });

  it('asks for discovery again after a failed read instead of failing forever', async () => {
    let discoveries = 0;
    const transport = async (): Promise<Response> => (++discoveries === 1 ? problem(503, 'unavailable') : Response.json({ gateway_id: 'test', receipts_jwks: { keys: [] } }));
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: transport });
    await expect(meridian.discover()).rejects.toMatchObject({ kind: 'unreachable', message: expect.stringContaining('HTTP 503') });
    expect(await meridian.discover()).toMatchObject({ gateway_id: 'test' });
  });
});

describe('waiting for settlement', () => {
  it('polls through a 404 right after acceptance (the admission not listed yet) until settled', async () => {
    const uetr = crypto.randomUUID();
    const settled = { uetr, status: 'settled', batch_id: 'b', jurisdiction: 'eu', region: 'eu-1', log_index: 3 };
    const script = await scripted([problem(404, 'not-found'), Response.json({ uetr, status: 'accepted' }), Response.json(settled)]);
    expect(await new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).waitForSettlement(uetr)).toEqual(settled);
  });

  it('gives up on a 404 that lasts beyond the grace, with its slug', async () => {
    const uetr = crypto.randomUUID();
    const script = await scripted(Array.from({ length: 10 }, () => problem(404, 'not-found', {}, 'no such payment')));
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).waitForSettlement(uetr, { notFoundGraceMs: 600 })).rejects.toMatchObject({ kind: 'refused', status: 404, slug: 'not-found', detail: 'no such payment' });
    expect(script.sent.length).toBeLessThanOrEqual(3);
  });

  it('stops on a refused settlement, naming its reason', async () => {
    const uetr = crypto.randomUUID();
    for (const status of ['rejected', 'refused']) {
      const script = await scripted([Response.json({ uetr, status: 'accepted' }), Response.json({ uetr, status, reason: 'settlement-refused: batch-rejected' })]);
      const failure = (await new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).waitForSettlement(uetr).catch((error: unknown) => error)) as MeridianError;
      expect(failure).toMatchObject({ kind: 'rejected', slug: 'settlement-refused', detail: 'settlement-refused: batch-rejected' });
      expect(failure.message).toContain('settlement-refused: batch-rejected');
    }
  });

  it('keeps to its deadline: a status read answered 503 Retry-After 30 is not waited out past it', async () => {
    const uetr = crypto.randomUUID();
    const script = await scripted([Response.json({ uetr, status: 'accepted' }), problem(503, 'unavailable', { 'retry-after': '30' })]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: script.transport }).waitForSettlement(uetr, { timeoutMs: 1_500 })).rejects.toMatchObject({ kind: 'unavailable', slug: 'unavailable' });
  }, 10_000);

  it('times out after a bounded number of polls, and refuses a settled status that names nowhere to verify it', async () => {
    const uetr = crypto.randomUUID();
    const pending = await scripted(Array.from({ length: 20 }, () => Response.json({ uetr, status: 'accepted' })));
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: pending.transport }).waitForSettlement(uetr, { timeoutMs: 1_500 })).rejects.toMatchObject({ kind: 'settlement-timeout' });
    expect(pending.sent.length).toBeGreaterThanOrEqual(2);
    expect(pending.sent.length).toBeLessThanOrEqual(4);
    const hollow = await scripted([Response.json({ uetr, status: 'settled', batch_id: null, region: null, jurisdiction: null, log_index: null })]);
    await expect(new MeridianClient({ gateway, credentials: alpha, fetch: hollow.transport }).waitForSettlement(uetr)).rejects.toMatchObject({ kind: 'verification-failed' });
  });
});

describe('failures around the payment itself', () => {
  it('reports a refused PQ session handshake at once, with its slug, instead of resending it as a network failure', async () => {
    const xwing = { kid: 'xwing-test', public_key: base64urlEncode(await xwingPublicKeyFromSeed(crypto.getRandomValues(new Uint8Array(32)))) };
    const handshakes: string[] = [];
    const transport = async (request: Request): Promise<Response> => {
      const { pathname } = new URL(request.url);
      if (pathname === '/.well-known/meridian') return Response.json({ gateway_id: 'test', xwing, receipts_jwks: { keys: [] } });
      handshakes.push(pathname);
      return problem(401, 'unknown-partner', {}, 'partner key alpha-bank-2026-01 was revoked');
    };
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: transport, sessions: new SessionCache() });
    const failure = (await meridian.pay(eurInstruction(), { seal: true }).catch((error: unknown) => error)) as MeridianError;
    expect(failure).toMatchObject({ kind: 'refused', status: 401, slug: 'unknown-partner', detail: 'partner key alpha-bank-2026-01 was revoked' });
    expect(handshakes).toEqual(['/v1/sessions']);
  });

  it('reports an auditor API it cannot read as a MeridianError naming the backend', async () => {
    const settled = { uetr: crypto.randomUUID(), status: 'settled' as const, batch_id: 'b', jurisdiction: 'eu', region: 'eu-1', log_index: 0 };
    const transport = async (): Promise<Response> => problem(404, 'not-found');
    const meridian = new MeridianClient({ gateway, credentials: alpha, fetch: transport, regionalBackends: { 'eu-1': 'http://eu-1.test' } });
    const failure = await meridian.verifySettlement(settled).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MeridianError);
    expect(failure).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('http://eu-1.test') });
  });
});
