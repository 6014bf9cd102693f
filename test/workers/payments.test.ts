import { SELF } from 'cloudflare:test';
import { compactVerify, createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { signedRequest, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { alpha, charlie, clientFor, eurPayment, gatewayUrl } from './support.ts';

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { type: string; status: number; detail: string };
}

describe('POST /v1/payments', () => {
  it('accepts a signed instruction with a receipt that verifies against the published JWKS', async () => {
    const instruction = eurPayment();
    const answer = await clientFor(alpha).submitPayment(instruction);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ uetr: instruction.uetr, status: 'accepted' });
    expect(answer.body.window).toMatch(/^EUR-EUR\.eu\.[01]\.\d+$/);

    const jwks = (await (await SELF.fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as { keys: [] };
    const { payload } = await compactVerify(answer.body.receipt as string, createLocalJWKSet(jwks));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ uetr: instruction.uetr, partner_id: 'alpha-bank', window: answer.body.window });
  });

  it('refuses a replayed request: the (keyid, nonce) pair is single-use', async () => {
    const jws = await signInstruction(alpha, eurPayment());
    const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws });
    const replay = request.clone();
    expect((await SELF.fetch(request)).status).toBe(202);
    const refused = await SELF.fetch(replay);
    expect(refused.status).toBe(401);
    expect((await problemOf(refused)).type).toBe('urn:meridian:problem:replayed-nonce');
  });

  it('answers a repeated UETR with the original answer, and a changed instruction with 409', async () => {
    const instruction = eurPayment('10.00');
    const first = await clientFor(alpha).submitPayment(instruction);
    const again = await clientFor(alpha).submitPayment(instruction);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const changed = await clientFor(alpha).submitPayment({ ...instruction, amount: { value: '10.01', currency: 'EUR' } });
    expect(changed.status).toBe(409);
    expect(changed.body.type).toBe('urn:meridian:problem:duplicate-uetr-mismatch');
  });

  it('admits exactly one of many concurrent identical submissions', async () => {
    const jws = await signInstruction(alpha, eurPayment('77.00'));
    const answers = await Promise.all(Array.from({ length: 25 }, () => clientFor(alpha).submitJws(jws)));
    expect(answers.every((answer) => answer.status === 202)).toBe(true);
    expect(new Set(answers.map((answer) => answer.body.receipt)).size).toBe(1);
  });

  it('rejects a body that does not match its Content-Digest', async () => {
    const jws = await signInstruction(alpha, eurPayment());
    const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws });
    const tampered = new Request(request, { body: jws.slice(0, -1) + (jws.endsWith('A') ? 'B' : 'A') });
    const response = await SELF.fetch(tampered);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).type).toBe('urn:meridian:problem:content-digest-mismatch');
  });

  it('rejects a signature created more than 300 s away from the gateway clock', async () => {
    const jws = await signInstruction(alpha, eurPayment());
    const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws, createdS: Math.floor(Date.now() / 1000) - 301 });
    const response = await SELF.fetch(request);
    expect(response.status).toBe(401);
    expect((await problemOf(response)).type).toBe('urn:meridian:problem:stale-signature');
  });

  it('rejects a signature that does not cover content-digest', async () => {
    const jws = await signInstruction(alpha, eurPayment());
    const request = await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws, components: ['@method', '@target-uri', 'content-type'] });
    const response = await SELF.fetch(request);
    expect(response.status).toBe(401);
    expect((await problemOf(response)).detail).toContain('content-digest');
  });

  it('rejects an instruction signed by another partner than the message signer', async () => {
    const jws = await signInstruction(charlie, eurPayment());
    const response = await clientFor(alpha).submitJws(jws);
    expect(response.status).toBe(401);
    expect(response.body.type).toBe('urn:meridian:problem:bad-signature');
  });

  it('rejects an unknown key id, a wrong media type and an invalid instruction with their slugs', async () => {
    const stranger = { ...alpha, keyid: 'nobody-2026-11' };
    expect((await clientFor(stranger).submitPayment(eurPayment())).body.type).toBe('urn:meridian:problem:unknown-partner');

    const jws = await signInstruction(alpha, eurPayment());
    const wrongType = await SELF.fetch(await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/payments`, body: jws, contentType: 'application/json' }));
    expect(wrongType.status).toBe(415);

    const invalid = await clientFor(alpha).submitPayment({ ...eurPayment(), amount: { value: '1e5', currency: 'EUR' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.type).toBe('urn:meridian:problem:invalid-instruction');
  });

  it('refuses a corridor the partner jurisdiction may not use', async () => {
    const usdOut = { ...eurPayment(), amount: { value: '5.00', currency: 'USD' }, target_currency: 'USD' };
    const response = await clientFor(alpha).submitPayment(usdOut);
    expect(response.status).toBe(403);
    expect(response.body.type).toBe('urn:meridian:problem:residency-denied');
  });
});

describe('GET /v1/payments/{uetr}', () => {
  it('shows the owner its payment and hides it from every other partner', async () => {
    const instruction = eurPayment('3.00');
    await clientFor(alpha).submitPayment(instruction);
    const own = await clientFor(alpha).paymentStatus(instruction.uetr);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ uetr: instruction.uetr, status: 'accepted', batch_id: null, jurisdiction: null, region: null, log_index: null });
    const foreign = await clientFor(charlie).paymentStatus(instruction.uetr);
    expect(foreign.status).toBe(404);
  });
});
