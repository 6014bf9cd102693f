/**
 * PQ sessions (DESIGN.md "PQ session"): discovery publishes the X-Wing key, POST /v1/sessions runs
 * HPKE base mode and answers a stateless ticket plus key confirmation, and sealed bodies (compact
 * JWE under the payload key) carry the instruction JWS. Tickets are bound to their partner and expire.
 */
import { env, SELF } from 'cloudflare:test';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import gateway from '../../dev/gateway.json';
import { sealInstruction, signedRequest, signInstruction, signInstructionFor } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64urlDecode, base64urlEncode, utf8 } from '../../core/digest.ts';
import { exportSessionKeys, sessionConfirm, sessionSuite, xwingPublicKeyFromSeed } from '../../core/pq-session.ts';
import { openTicket, sealTicket, ticketKeys } from '../../workers/sessions/session-ticket.ts';
import { alpha, bravo, charlie, client, delta, expectProblem, gatewayUrl, partnerState, paymentFrom, sessionRequest } from './partner-trust-support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;
const oneHourMs = 60 * 60 * 1000;

async function submitSealed(partner: typeof alpha, sealed: string): Promise<Response> {
  return SELF.fetch(await signedRequest(partner, { method: 'POST', url: paymentsUrl, body: sealed, contentType: 'application/jose' }));
}

describe('discovery', () => {
  it('publishes the gateway X-Wing public key and kid, the suite and TLS 1.3 as the minimum', async () => {
    const response = await SELF.fetch(`${gatewayUrl}/.well-known/meridian`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery.xwing).toEqual({ kid: gateway.xwing.kid, public_key: gateway.xwing.public_key });
    expect(discovery.session_suite).toEqual({ kem: 'X-Wing', kdf: 'HKDF-SHA256', aead: 'AES-256-GCM' });
    expect(discovery.signature_algorithms).toEqual(['ed25519', 'ml-dsa-65']);
    expect(discovery.min_tls_version).toBe('1.3');
    // dev/gateway.json's public key was derived by @noble/post-quantum; the gateway derives it with @hpke/hybridkem-x-wing.
    expect(base64urlEncode(await xwingPublicKeyFromSeed(base64urlDecode(gateway.xwing.seed)))).toBe(gateway.xwing.public_key);
  });
});

describe('POST /v1/sessions', () => {
  it('answers 201 with a ticket, an expiry within one hour, the suite and a confirm over the exact request body', async () => {
    const { request, body, sender } = await sessionRequest(alpha);
    const response = await SELF.fetch(request);
    expect(response.status, await response.clone().text()).toBe(201);
    const answer = (await response.json()) as { session_id: string; expires_at: string; suite: unknown; confirm: string };
    expect(answer.suite).toEqual(sessionSuite);
    expect(answer.session_id).toMatch(/^mst1\.dev-ticket-1\.[A-Za-z0-9_-]+$/);
    const lifetimeMs = Date.parse(answer.expires_at) - Date.now();
    expect(lifetimeMs).toBeGreaterThan(oneHourMs - 60_000);
    expect(lifetimeMs).toBeLessThanOrEqual(oneHourMs);
    const keys = await exportSessionKeys(sender);
    // Independently: HMAC-SHA256(confirm key, SHA-256(body)) through WebCrypto.
    const hmacKey = await crypto.subtle.importKey('raw', keys.confirmKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const bodyDigest = await crypto.subtle.digest('SHA-256', utf8(body));
    expect(answer.confirm).toBe(base64urlEncode(new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, bodyDigest))));
    expect(answer.confirm).toBe(sessionConfirm(keys.confirmKey, utf8(body)));
    // The ticket holds the payload key both sides exported, for this partner.
    const ticket = await openTicket(await ticketKeys(env.SESSION_TICKET_KEYS), answer.session_id, Date.now());
    expect(ticket.ok && ticket.value.partnerId).toBe('alpha-bank');
    expect(ticket.ok && base64urlEncode(ticket.value.payloadKey)).toBe(base64urlEncode(keys.payloadKey));
  });

  it('lets the SDK detect a confirm that does not match its offer', async () => {
    const tampering = new (await import('../../packages/partner-sdk/src/partner-client.ts')).PartnerClient(alpha, gatewayUrl, async (request) => {
      const response = await SELF.fetch(request);
      if (!request.url.endsWith('/v1/sessions')) return response;
      const answer = (await response.json()) as Record<string, unknown>;
      return Response.json({ ...answer, confirm: base64urlEncode(new Uint8Array(32)) }, { status: response.status });
    }, { reportedTls: 'TLSv1.3' });
    await expect(tampering.openSession()).rejects.toThrow(/key confirmation/);
  });

  it('refuses malformed session requests with 4xx problems', async () => {
    const honest = await sessionRequest(alpha);
    const wrongType = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/sessions`, body: honest.body, contentType: 'application/jose' });
    await expectProblem(await SELF.fetch(wrongType), 'unsupported-media-type');
    const notJson = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/sessions`, body: '{"suite":', contentType: 'application/json' });
    await expectProblem(await SELF.fetch(notJson), 'invalid-request');
    const extraMember = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/sessions`, body: JSON.stringify({ ...JSON.parse(honest.body), psk: 'x' }), contentType: 'application/json' });
    await expectProblem(await SELF.fetch(extraMember), 'invalid-request');
    await expectProblem(await SELF.fetch((await sessionRequest(alpha, { suite: { ...sessionSuite, aead: 'ChaCha20Poly1305' } })).request), 'invalid-request');
    await expectProblem(await SELF.fetch((await sessionRequest(alpha, { enc: base64urlEncode(new Uint8Array(1119)) })).request), 'invalid-request');
    await expectProblem(await SELF.fetch((await sessionRequest(alpha, { enc: 'not+base64url' })).request), 'invalid-request');
    await expectProblem(await SELF.fetch((await sessionRequest(alpha, { offer: { tls: '1.3' } })).request), 'invalid-request');
    const unsigned = new Request(honest.request, { headers: { 'content-type': 'application/json' } });
    await expectProblem(await SELF.fetch(unsigned), 'bad-signature');
  });

  it('never answers a 5xx for an encapsulation of random bytes (X-Wing rejects implicitly)', async () => {
    const random = crypto.getRandomValues(new Uint8Array(1120));
    const response = await SELF.fetch((await sessionRequest(charlie, { enc: base64urlEncode(random) })).request);
    expect(response.status).toBe(201);
  });

  it('refuses an encapsulation whose X25519 share is a low-order point (all-zero DH) with invalid-request', async () => {
    const lowOrder = crypto.getRandomValues(new Uint8Array(1120));
    lowOrder.fill(0, 1088);
    const body = await expectProblem(await SELF.fetch((await sessionRequest(charlie, { enc: base64urlEncode(lowOrder) })).request), 'invalid-request');
    expect(body.detail).toContain('decapsulate');
  });
});

describe('sealed payment bodies', () => {
  it('accepts an instruction sealed under the session, stored as the inner JWS', async () => {
    const instruction = paymentFrom(alpha, '99.10');
    const answer = await client(alpha).submitPayment(instruction, { seal: true });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.uetr).toBe(instruction.uetr);
    // The same instruction unsealed is the same instruction: the original answer, not a mismatch.
    const unsealed = await client(alpha).submitPayment(instruction);
    expect(unsealed.body).toEqual(answer.body);
  });

  it('accepts a pq: required partner only when sealed', async () => {
    const sealed = await client(bravo).submitPayment(paymentFrom(bravo, '10.00'));
    expect(sealed.status, JSON.stringify(sealed.body)).toBe(202);
    const unsealed = await client(bravo).submitPayment(paymentFrom(bravo, '10.00'), { seal: false });
    expect(unsealed.status).toBe(403);
    expect(unsealed.body.type).toBe('urn:meridian:problem:pq-required');
  });

  it('accepts a hybrid partner’s JSON-serialized JWS inside the seal', async () => {
    const answer = await client(delta).submitPayment(paymentFrom(delta, '17.00'), { seal: true });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  });

  it('refuses another partner’s session ticket and records it', async () => {
    const alphaSession = await client(alpha).openSession();
    const before = await partnerState('charlie-trust').securityEventCounts();
    const sealed = await sealInstruction(alphaSession, await signInstruction(charlie, paymentFrom(charlie)));
    const body = await expectProblem(await submitSealed(charlie, sealed), 'bad-signature');
    expect(body.detail).toContain('another partner');
    const after = await partnerState('charlie-trust').securityEventCounts();
    expect(after['foreign-session-ticket']).toBe((before['foreign-session-ticket'] ?? 0) + 1);
  });

  it('refuses an expired session ticket', async () => {
    const payloadKey = crypto.getRandomValues(new Uint8Array(32));
    const expired = await sealTicket(await ticketKeys(env.SESSION_TICKET_KEYS), { partnerId: 'alpha-bank', payloadKey, expiresAtMs: Date.now() - 1_000 });
    const sealed = await sealInstruction({ sessionId: expired, expiresAtMs: 0, payloadKey, partnerId: 'alpha-bank' }, await signInstruction(alpha, paymentFrom(alpha)));
    expect((await expectProblem(await submitSealed(alpha, sealed), 'bad-signature')).detail).toContain('expired');
  });

  it('refuses a ticket under an unknown ticket key and a forged ticket', async () => {
    const session = await client(alpha).openSession();
    const jws = await signInstruction(alpha, paymentFrom(alpha));
    const rotatedAway = await sealInstruction({ ...session, sessionId: session.sessionId.replace('dev-ticket-1', 'retired-key') }, jws);
    expect((await expectProblem(await submitSealed(alpha, rotatedAway), 'bad-signature')).detail).toContain('rotation');
    const [prefix, kid, sealedTicket] = session.sessionId.split('.') as [string, string, string];
    const ticketBytes = base64urlDecode(sealedTicket);
    ticketBytes[20] = (ticketBytes[20] as number) ^ 0x01;
    const forged = await sealInstruction({ ...session, sessionId: `${prefix}.${kid}.${base64urlEncode(ticketBytes)}` }, jws);
    expect((await expectProblem(await submitSealed(alpha, forged), 'bad-signature')).detail).toContain('authenticate');
  });

  it('refuses altered and truncated ciphertext as bad-signature, and malformed JWEs as invalid-instruction', async () => {
    const session = await client(alpha).openSession();
    const sealed = await sealInstruction(session, await signInstruction(alpha, paymentFrom(alpha)));
    const [header, key, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string, string];
    const bytes = base64urlDecode(ciphertext);
    bytes[0] = (bytes[0] as number) ^ 0x01;
    await expectProblem(await submitSealed(alpha, [header, key, iv, base64urlEncode(bytes), tag].join('.')), 'bad-signature');
    await expectProblem(await submitSealed(alpha, [header, key, iv, base64urlEncode(base64urlDecode(ciphertext).slice(0, 40)), tag].join('.')), 'bad-signature');
    await expectProblem(await submitSealed(alpha, [header, key, iv, ciphertext, tag.slice(0, 10)].join('.')), 'bad-signature');

    const wrongAlg = await new CompactEncrypt(utf8('x.y.z')).setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: session.sessionId }).encrypt(session.payloadKey);
    await expectProblem(await submitSealed(alpha, wrongAlg), 'invalid-instruction');
    const noKid = await new CompactEncrypt(utf8('x.y.z')).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(session.payloadKey);
    await expectProblem(await submitSealed(alpha, noKid), 'invalid-instruction');
    await expectProblem(await submitSealed(alpha, `${base64urlEncode(utf8('{"alg":'))}..${iv}.${ciphertext}.${tag}`), 'invalid-instruction');
  });

  it('refuses a sealed body whose plaintext is not a valid instruction JWS', async () => {
    const session = await client(alpha).openSession();
    await expectProblem(await submitSealed(alpha, await sealInstruction(session, 'not a jws')), 'invalid-instruction');
    const charlieJws = await signInstructionFor(charlie, paymentFrom(charlie));
    await expectProblem(await submitSealed(alpha, await sealInstruction(session, charlieJws)), 'bad-signature');
  });

  it('seals with a key the ticket alone can recover (no server-side session state)', async () => {
    const session = await client(alpha).openSession();
    const sealed = await sealInstruction(session, 'payload');
    const ticket = await openTicket(await ticketKeys(env.SESSION_TICKET_KEYS), session.sessionId, Date.now());
    if (!ticket.ok) throw new Error(ticket.reason.detail);
    const { plaintext } = await compactDecrypt(sealed, ticket.value.payloadKey);
    expect(new TextDecoder().decode(plaintext)).toBe('payload');
  });
});

describe('session ticket keys', () => {
  const current = { kid: 'k2', key: base64urlEncode(new Uint8Array(32).fill(2)) };
  const previous = { kid: 'k1', key: base64urlEncode(new Uint8Array(32).fill(1)) };
  const ticket = { partnerId: 'alpha-bank', payloadKey: new Uint8Array(32).fill(7), expiresAtMs: Date.now() + 600_000 };

  it('opens tickets under the previous key after a rotation, and not after the next one', async () => {
    const beforeRotation = await sealTicket(await ticketKeys(JSON.stringify({ current: previous })), ticket);
    const rotated = await ticketKeys(JSON.stringify({ current, previous }));
    expect((await openTicket(rotated, beforeRotation, Date.now())).ok).toBe(true);
    expect((await sealTicket(rotated, ticket)).startsWith('mst1.k2.')).toBe(true);
    const rotatedAgain = await ticketKeys(JSON.stringify({ current: { kid: 'k3', key: base64urlEncode(new Uint8Array(32).fill(3)) }, previous: current }));
    const refused = await openTicket(rotatedAgain, beforeRotation, Date.now());
    expect(!refused.ok && refused.reason.kind).toBe('unknown-key');
  });

  it('refuses an authentic ticket whose lifetime exceeds one hour (only a misused ticket key mints one)', async () => {
    const keys = await ticketKeys(JSON.stringify({ current }));
    const tooLong = await sealTicket(keys, { ...ticket, expiresAtMs: Date.now() + 2 * 60 * 60 * 1000 });
    const refused = await openTicket(keys, tooLong, Date.now());
    expect(!refused.ok && refused.reason.kind).toBe('undecryptable');
  });

  it('binds the key id: a ticket relabelled with another known kid does not open', async () => {
    const keys = await ticketKeys(JSON.stringify({ current, previous: { kid: 'k1', key: current.key } }));
    const sealed = await sealTicket(keys, ticket);
    const relabelled = await openTicket(keys, sealed.replace('mst1.k2.', 'mst1.k1.'), Date.now());
    expect(!relabelled.ok && relabelled.reason.kind).toBe('undecryptable');
  });
});
