/**
 * Downgrade detection, the four cases of DESIGN.md, each answered 403 with its slug, recorded as a
 * security event in the partner's PartnerState and counted:
 *   1. TLS below the partner's minimum without a live, owned, unexpired exception;
 *   2. an unsealed body from a partner whose profile requires PQ (pq-required);
 *   3. a handshake offer stripped or reordered against what the request's signatures show;
 *   4. a client-reported TLS version that differs from what the edge observed.
 * Tests pass Cloudflare's observation as `cf.tlsVersion`; without one, the local-dev posture applies.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import type { SecurityEventKind } from '../../durable-objects/partner-state/partner-state.ts';
import type { PartnerProfile } from '../../workers/config/partners.ts';
import { offerDowngrade } from '../../workers/downgrade/handshake-offer.ts';
import { observeTls, tlsDowngrade } from '../../workers/downgrade/tls-posture.ts';
import { alpha, bravo, charlie, client, delta, echo, expectProblem, gatewayUrl, partnerState, paymentFrom, sessionRequest, type DevCredentials } from './partner-trust-support.ts';

async function countOf(partnerId: string, kind: SecurityEventKind): Promise<number> {
  const counts = await partnerState(partnerId).securityEventCounts();
  return counts[kind] ?? 0;
}

async function latestEvent(partnerId: string) {
  const [event] = await partnerState(partnerId).listSecurityEvents({ limit: 1 });
  if (event === undefined) throw new Error(`no security event for ${partnerId}`);
  return event;
}

/** Sends a request and expects a recorded, counted refusal of this kind. */
async function expectRecordedRefusal(partner: DevCredentials, kind: SecurityEventKind, slug: 'downgrade-detected' | 'pq-required', send: () => Promise<Response>) {
  const before = await countOf(partner.partner_id, kind);
  const body = await expectProblem(await send(), slug);
  expect(await countOf(partner.partner_id, kind)).toBe(before + 1);
  const event = await latestEvent(partner.partner_id);
  expect(event).toMatchObject({ kind, slug, id: body.security_event });
  return { body, event };
}

describe('case 1: TLS below the partner minimum', () => {
  it('refuses TLS 1.2 for a partner without an exception, records and counts it', async () => {
    const { event } = await expectRecordedRefusal(alpha, 'tls-below-minimum', 'downgrade-detected', async () =>
      SELF.fetch(await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(alpha, paymentFrom(alpha)) }), { cf: { tlsVersion: 'TLSv1.2' } }));
    expect(event.context).toMatchObject({ method: 'POST', path: '/v1/payments', keyid: 'alpha-bank-2026-11', observed_tls: 'TLSv1.2' });
    expect(event.detail).toContain('no live TLS exception');
  });

  it('lets TLS 1.2 through under a live exception, and not under an expired one', async () => {
    const allowed = await client(echo, { observedTls: 'TLSv1.2' }).submitPayment(paymentFrom(echo, '8.00'));
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(202);
    const { event } = await expectRecordedRefusal(charlie, 'tls-below-minimum', 'downgrade-detected', async () =>
      SELF.fetch(await signedRequest(charlie, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(charlie, paymentFrom(charlie)) }), { cf: { tlsVersion: 'TLSv1.2' } }));
    expect(event.detail).toContain('expired');
  });

  it('never accepts TLS 1.1, not even under an exception', async () => {
    await expectRecordedRefusal(echo, 'tls-below-minimum', 'downgrade-detected', async () =>
      SELF.fetch(await signedRequest(echo, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(echo, paymentFrom(echo)) }), { cf: { tlsVersion: 'TLSv1.1' } }));
  });

  it('applies to status queries and session handshakes too', async () => {
    await expectRecordedRefusal(alpha, 'tls-below-minimum', 'downgrade-detected', async () =>
      SELF.fetch(await signedRequest(alpha, { method: 'GET', url: `${gatewayUrl}/v1/payments/${crypto.randomUUID()}` }), { cf: { tlsVersion: 'TLSv1.2' } }));
    await expectRecordedRefusal(alpha, 'tls-below-minimum', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(alpha)).request, { cf: { tlsVersion: 'TLSv1.2' } }));
  });

  it('accepts TLS 1.3', async () => {
    const answer = await client(alpha, { observedTls: 'TLSv1.3' }).submitPayment(paymentFrom(alpha));
    expect(answer.status).toBe(202);
  });

  it('records nothing for a request whose signature does not verify', async () => {
    const before = await countOf('alpha-bank', 'tls-below-minimum');
    const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(alpha, paymentFrom(alpha)) });
    const forged = new Request(request, { headers: new Headers(request.headers) });
    forged.headers.set('signature', `sig1=:${btoa(String.fromCharCode(...new Uint8Array(64)))}:`);
    await expectProblem(await SELF.fetch(forged, { cf: { tlsVersion: 'TLSv1' } }), 'bad-signature');
    expect(await countOf('alpha-bank', 'tls-below-minimum')).toBe(before);
  });
});

describe('case 2: unsealed body from a pq: required partner', () => {
  it('answers pq-required for a compact JWS and for the JSON serialization, recorded and counted', async () => {
    const { event } = await expectRecordedRefusal(bravo, 'pq-required-unsealed', 'pq-required', async () =>
      SELF.fetch(await signedRequest(bravo, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: await signInstruction(bravo, paymentFrom(bravo)) })));
    expect(event.context).toMatchObject({ media_type: 'application/jose', path: '/v1/payments' });
    const [header, payload, signature] = (await signInstruction(bravo, paymentFrom(bravo))).split('.');
    await expectRecordedRefusal(bravo, 'pq-required-unsealed', 'pq-required', async () =>
      SELF.fetch(await signedRequest(bravo, { method: 'POST', url: `${gatewayUrl}/v1/payments`, contentType: 'application/jose+json', body: JSON.stringify({ payload, signatures: [{ protected: header, signature }] }) })));
  });
});

describe('case 3: stripped or reordered handshake offer', () => {
  it('refuses an offer whose KEM list lacks the selected X-Wing (stripped to classical)', async () => {
    const { event } = await expectRecordedRefusal(alpha, 'offer-stripped', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(alpha, { offer: { kems: ['X25519'] } })).request));
    expect(event.context.offer).toMatchObject({ kems: ['X25519'] });
  });

  it('refuses a hybrid partner’s offer that drops ml-dsa-65, which signs the very request', async () => {
    await expectRecordedRefusal(delta, 'offer-stripped', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(delta, { offer: { sigs: ['ed25519'] } })).request));
  });

  it('refuses signature algorithms listed out of label order', async () => {
    await expectRecordedRefusal(delta, 'offer-reordered', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(delta, { offer: { sigs: ['ml-dsa-65', 'ed25519'] } })).request));
  });

  it('refuses an AEAD list that does not contain the selected AES-256-GCM', async () => {
    await expectRecordedRefusal(alpha, 'offer-stripped', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(alpha, { offer: { aeads: ['ChaCha20Poly1305'] } })).request));
  });

  it('accepts offers that list more than the gateway supports, in the partner’s order', async () => {
    const response = await SELF.fetch((await sessionRequest(delta, { offer: { kems: ['ML-KEM-1024', 'X-Wing', 'X25519'], sigs: ['ed25519', 'ecdsa-p256', 'ml-dsa-65'] } })).request);
    expect(response.status, await response.clone().text()).toBe(201);
  });

  it('orders by what the gateway supports (pure rule)', () => {
    const suite = { kem: 'X-Wing', aead: 'AES-256-GCM' };
    const offer = { kems: ['X-Wing'], aeads: ['AES-256-GCM'], sigs: ['ed25519'], tls: 'TLSv1.3' };
    expect(offerDowngrade(offer, suite, ['ed25519'])).toBeNull();
    expect(offerDowngrade({ ...offer, sigs: ['ml-dsa-65'] }, suite, ['ed25519'])?.kind).toBe('offer-stripped');
    expect(offerDowngrade({ ...offer, kems: ['ML-KEM-768', 'X-Wing'] }, suite, ['ed25519'])).toBeNull();
    expect(offerDowngrade(offer, { ...suite, kem: 'ML-KEM-768' }, ['ed25519'])?.kind).toBe('offer-stripped');
  });
});

describe('case 4: client-reported TLS differs from the edge observation', () => {
  it('refuses a handshake reporting TLS 1.2 when the edge observed TLS 1.3, recorded and counted', async () => {
    const { event } = await expectRecordedRefusal(alpha, 'tls-report-mismatch', 'downgrade-detected', async () =>
      SELF.fetch((await sessionRequest(alpha, { offer: { tls: 'TLSv1.2' } })).request, { cf: { tlsVersion: 'TLSv1.3' } }));
    expect(event.context).toMatchObject({ reported_tls: 'TLSv1.2', observed_tls: 'TLSv1.3' });
  });

  it('refuses a handshake reporting TLS 1.3 when an excepted partner connected with TLS 1.2', async () => {
    await expectRecordedRefusal(echo, 'tls-report-mismatch', 'downgrade-detected', async () => SELF.fetch((await sessionRequest(echo, { offer: { tls: 'TLSv1.3' } })).request, { cf: { tlsVersion: 'TLSv1.2' } }));
  });

  it('accepts a matching report, and an excepted partner that reports its TLS 1.2 honestly', async () => {
    expect((await SELF.fetch((await sessionRequest(alpha, { offer: { tls: 'TLSv1.3' } })).request, { cf: { tlsVersion: 'TLSv1.3' } })).status).toBe(201);
    expect((await SELF.fetch((await sessionRequest(echo, { offer: { tls: 'TLSv1.2' } })).request, { cf: { tlsVersion: 'TLSv1.2' } })).status).toBe(201);
  });
});

describe('security events', () => {
  it('are listed newest first with paging, and counted per kind', async () => {
    for (const tls of ['TLSv1.2', 'TLSv1.1']) {
      await SELF.fetch(await signedRequest(charlie, { method: 'GET', url: `${gatewayUrl}/v1/payments/${crypto.randomUUID()}` }), { cf: { tlsVersion: tls } });
    }
    const [newest, older] = await partnerState('charlie-trust').listSecurityEvents({ limit: 2 });
    expect(newest?.context.observed_tls).toBe('TLSv1.1');
    expect(older?.context.observed_tls).toBe('TLSv1.2');
    expect((newest?.id ?? 0) > (older?.id ?? 0)).toBe(true);
    const page = await partnerState('charlie-trust').listSecurityEvents({ limit: 1, beforeId: newest?.id });
    expect(page[0]?.id).toBe(older?.id);
    expect(Date.parse(newest?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('TLS observation (pure)', () => {
  const profile = (exceptions?: PartnerProfile['tls_exceptions']): PartnerProfile => ({
    partner_id: 'p-test', name: 'P', bic: 'PTESDEFFXXX', jurisdiction: 'eu', pq: 'optional', tls_min: '1.3', keys: [],
    ...(exceptions === undefined ? {} : { tls_exceptions: exceptions }),
  });
  const https = (cf?: Record<string, unknown>) => new Request('https://gateway.example/v1/payments', cf === undefined ? {} : { cf });

  it('in production, no observation is no TLS and fails closed', () => {
    expect(observeTls(https(), undefined)).toEqual({ kind: 'observed', version: 'none', raw: '' });
    expect(observeTls(https({ tlsVersion: '' }), undefined)).toEqual({ kind: 'observed', version: 'none', raw: '' });
    expect(tlsDowngrade(profile(), observeTls(https(), undefined), Date.now())).toContain('no TLS');
    expect(tlsDowngrade(profile(), observeTls(https({ tlsVersion: 'TLSv1.4' }), undefined), Date.now())).toContain('unrecognized');
  });

  it('locally, plain http and a missing cf are unobserved', () => {
    expect(observeTls(new Request('http://127.0.0.1:8787/v1/payments', { cf: { tlsVersion: 'TLSv1.3' } }), 'local-dev').kind).toBe('unobserved');
    expect(observeTls(https(), 'local-dev').kind).toBe('unobserved');
    expect(observeTls(https({ tlsVersion: 'TLSv1.2' }), 'local-dev')).toMatchObject({ kind: 'observed', version: 'TLSv1.2' });
  });

  it('an exception needs to be unexpired', () => {
    const tls12 = observeTls(https({ tlsVersion: 'TLSv1.2' }), undefined);
    const live = { tls_min: '1.2' as const, owner: 'risk@bank.example', reason: 'legacy appliance', expires_at: new Date(Date.now() + 60_000).toISOString() };
    expect(tlsDowngrade(profile([live]), tls12, Date.now())).toBeNull();
    expect(tlsDowngrade(profile([live]), tls12, Date.now() + 120_000)).toContain('expired');
    expect(tlsDowngrade(profile(), tls12, Date.now())).toContain('no live TLS exception');
  });
});
