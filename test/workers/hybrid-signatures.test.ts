/**
 * Hybrid partners (delta-sg has an ML-DSA-65 key): every request carries sig1 (Ed25519) and sig2
 * (ML-DSA-65) over the same components, and every instruction is a general JWS JSON serialization
 * with an EdDSA and an ML-DSA-65 signature. Dropping or breaking either half is refused.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { jwsMediaType, signedRequest, signHybridInstruction, signInstruction, type PartnerCredentials } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64urlDecode, base64urlEncode } from '../../core/digest.ts';
import { alpha, charlie, client, delta, expectProblem, gatewayUrl, partnerState, paymentFrom } from './partner-trust-support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;

function post(partner: PartnerCredentials, body: string, extra: { omitPqSignature?: boolean; contentType?: string } = {}) {
  return signedRequest(partner, { method: 'POST', url: paymentsUrl, body, contentType: extra.contentType ?? jwsMediaType(body), ...(extra.omitPqSignature ? { omitPqSignature: true } : {}) });
}

/** Replaces one byte of a base64url ML-DSA or EdDSA signature (keeps the encoding valid). */
function flipSignature(encoded: string): string {
  const bytes = base64urlDecode(encoded);
  bytes[10] = (bytes[10] as number) ^ 0x01;
  return base64urlEncode(bytes);
}

describe('hybrid message signatures (sig1 Ed25519 + sig2 ML-DSA-65)', () => {
  it('accepts a hybrid partner whose request and instruction carry both signatures, and shows it the status', async () => {
    const instruction = paymentFrom(delta, '250.00');
    const answer = await client(delta).submitPayment(instruction);
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body).toMatchObject({ uetr: instruction.uetr, status: 'accepted' });
    const status = await client(delta).paymentStatus(instruction.uetr);
    expect(status.status).toBe(200);
    expect(status.body.uetr).toBe(instruction.uetr);
  });

  it('sends sig2 with the same components and the ML-DSA-65 key id', async () => {
    const request = await post(delta, await signHybridInstruction(delta, paymentFrom(delta)));
    const input = request.headers.get('signature-input') as string;
    expect(input).toMatch(/^sig1=\("@method" "@target-uri" "content-digest" "content-type"\);.*alg="ed25519", sig2=\("@method" "@target-uri" "content-digest" "content-type"\);.*keyid="delta-sg-2026-11-mldsa";alg="ml-dsa-65"$/);
    expect((request.headers.get('signature') as string).length).toBeGreaterThan(4400);
  });

  it('refuses a hybrid partner request without sig2', async () => {
    const response = await SELF.fetch(await post(delta, await signHybridInstruction(delta, paymentFrom(delta)), { omitPqSignature: true }));
    expect((await expectProblem(response, 'bad-signature')).detail).toContain('sig2');
  });

  it('refuses a sig2 that does not verify', async () => {
    const request = await post(delta, await signHybridInstruction(delta, paymentFrom(delta)));
    const signature = request.headers.get('signature') as string;
    const sig2 = /sig2=:([^:]+):/.exec(signature)?.[1] as string;
    const bytes = Uint8Array.from(atob(sig2), (char) => char.charCodeAt(0));
    bytes[100] = (bytes[100] as number) ^ 0x80;
    const tampered = new Request(request, { headers: new Headers(request.headers) });
    tampered.headers.set('signature', signature.replace(sig2, btoa(String.fromCharCode(...bytes))));
    const body = await expectProblem(await SELF.fetch(tampered), 'bad-signature');
    expect(body.detail).toContain('sig2 does not verify');
  });

  it('refuses a sig2 over other components than sig1', async () => {
    const body = await signHybridInstruction(delta, paymentFrom(delta));
    const honest = await post(delta, body);
    const narrow = await signedRequest(delta, { method: 'POST', url: paymentsUrl, body, contentType: 'application/jose+json', components: ['@method', '@target-uri', 'content-type', 'content-digest'] });
    // sig1 from the honest request, sig2 from one that lists the components in another order.
    const sig1Input = (honest.headers.get('signature-input') as string).split(', sig2=')[0] as string;
    const sig2Input = 'sig2=' + ((narrow.headers.get('signature-input') as string).split(', sig2=')[1] as string);
    const sig1 = (honest.headers.get('signature') as string).split(', sig2=')[0] as string;
    const sig2 = 'sig2=' + ((narrow.headers.get('signature') as string).split(', sig2=')[1] as string);
    const mixed = new Request(honest, { headers: new Headers(honest.headers) });
    mixed.headers.set('signature-input', `${sig1Input}, ${sig2Input}`);
    mixed.headers.set('signature', `${sig1}, ${sig2}`);
    expect((await expectProblem(await SELF.fetch(mixed), 'bad-signature')).detail).toContain('same components');
  });

  it('refuses sig2 from a partner that has no ML-DSA-65 key', async () => {
    const borrowed = { ...alpha, ml_dsa_65: delta.ml_dsa_65 } as PartnerCredentials;
    const response = await SELF.fetch(await post(borrowed, await signInstruction(alpha, paymentFrom(alpha))));
    expect((await expectProblem(response, 'bad-signature')).detail).toContain('hybrid');
  });

  it('refuses sig2 under a key id that is not the partner’s ML-DSA-65 key', async () => {
    const request = await post(delta, await signHybridInstruction(delta, paymentFrom(delta)));
    const mislabelled = new Request(request, { headers: new Headers(request.headers) });
    mislabelled.headers.set('signature-input', (request.headers.get('signature-input') as string).replace('keyid="delta-sg-2026-11-mldsa"', 'keyid="delta-sg-2026-11"'));
    expect((await expectProblem(await SELF.fetch(mislabelled), 'bad-signature')).detail).toContain('ML-DSA-65 key');
  });

  it('refuses a replayed hybrid request, and claims both (keyid, nonce) pairs or neither', async () => {
    const request = await post(delta, await signHybridInstruction(delta, paymentFrom(delta, '1.00')));
    const replay = request.clone();
    expect((await SELF.fetch(request)).status).toBe(202);
    await expectProblem(await SELF.fetch(replay), 'replayed-nonce');

    const state = partnerState('delta-sg');
    const expiresAtMs = Date.now() + 60_000;
    const used = { keyid: 'delta-sg-2026-11-mldsa', nonce: 'nonce-used-by-sig2-000' };
    expect(await state.claimNonces([used], expiresAtMs)).toBe(true);
    const fresh = { keyid: 'delta-sg-2026-11', nonce: 'nonce-fresh-for-sig1-01' };
    expect(await state.claimNonces([fresh, used], expiresAtMs)).toBe(false);
    // The fresh pair was rolled back with the refused claim: it is still claimable.
    expect(await state.claimNonces([fresh], expiresAtMs)).toBe(true);
  });
});

describe('hybrid instruction JWS (JSON serialization: EdDSA + ML-DSA-65)', () => {
  it('refuses a compact EdDSA-only instruction from a hybrid partner', async () => {
    const response = await SELF.fetch(await post(delta, await signInstruction(delta, paymentFrom(delta))));
    expect((await expectProblem(response, 'bad-signature')).detail).toContain('ML-DSA-65');
  });

  it('refuses a hybrid JWS whose ML-DSA-65 signature was stripped', async () => {
    const jws = JSON.parse(await signHybridInstruction(delta, paymentFrom(delta))) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
    const stripped = JSON.stringify({ payload: jws.payload, signatures: [jws.signatures[0]] });
    expect((await expectProblem(await SELF.fetch(await post(delta, stripped)), 'bad-signature')).detail).toContain('ML-DSA-65');
  });

  it('refuses a hybrid JWS whose ML-DSA-65 or EdDSA signature does not verify', async () => {
    for (const index of [0, 1]) {
      const jws = JSON.parse(await signHybridInstruction(delta, paymentFrom(delta))) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
      const entry = jws.signatures[index] as { protected: string; signature: string };
      entry.signature = flipSignature(entry.signature);
      await expectProblem(await SELF.fetch(await post(delta, JSON.stringify(jws))), 'bad-signature');
    }
  });

  it('refuses an ML-DSA-65 signature moved onto another payload', async () => {
    const first = JSON.parse(await signHybridInstruction(delta, paymentFrom(delta, '5.00'))) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
    const second = JSON.parse(await signHybridInstruction(delta, paymentFrom(delta, '6.00'))) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
    const spliced = JSON.stringify({ payload: second.payload, signatures: [second.signatures[0], first.signatures[1]] });
    expect((await expectProblem(await SELF.fetch(await post(delta, spliced)), 'bad-signature')).detail).toContain('ML-DSA-65');
  });

  it('refuses unprotected header members and the flattened serialization as invalid instructions', async () => {
    const jws = JSON.parse(await signHybridInstruction(delta, paymentFrom(delta))) as { payload: string; signatures: Array<Record<string, unknown>> };
    (jws.signatures[1] as Record<string, unknown>).header = { kid: 'delta-sg-2026-11-mldsa' };
    await expectProblem(await SELF.fetch(await post(delta, JSON.stringify(jws))), 'invalid-instruction');
    const flattened = JSON.stringify({ payload: jws.payload, ...(jws.signatures[0] as object) });
    await expectProblem(await SELF.fetch(await post(delta, flattened)), 'invalid-instruction');
  });

  it('answers a re-signed hybrid instruction with the original answer (deterministic signing)', async () => {
    const instruction = paymentFrom(delta, '42.00');
    const first = await client(delta).submitPayment(instruction);
    const again = await client(delta).submitPayment(instruction);
    expect(first.status).toBe(202);
    expect(again.body).toEqual(first.body);
  });

  it('accepts the JSON serialization with a single EdDSA signature from a classical partner, and refuses an ML-DSA-65 one it has no key for', async () => {
    const compact = await signInstruction(alpha, paymentFrom(alpha, '7.00'));
    const [header, payload, signature] = compact.split('.') as [string, string, string];
    const json = JSON.stringify({ payload, signatures: [{ protected: header, signature }] });
    const accepted = await SELF.fetch(await post(alpha, json));
    expect(accepted.status, await accepted.clone().text()).toBe(202);

    const withPq = JSON.parse(await signHybridInstruction({ ...charlie, ml_dsa_65: delta.ml_dsa_65 } as PartnerCredentials, paymentFrom(charlie))) as object;
    const refused = await SELF.fetch(await post(charlie, JSON.stringify(withPq)));
    expect((await expectProblem(refused, 'bad-signature')).detail).toContain('ML-DSA-65');
  });

  it('refuses a compact JWS sent as application/jose+json and a JSON JWS sent as application/jose', async () => {
    const compact = await signInstruction(alpha, paymentFrom(alpha));
    await expectProblem(await SELF.fetch(await post(alpha, compact, { contentType: 'application/jose+json' })), 'invalid-instruction');
    const json = await signHybridInstruction(delta, paymentFrom(delta));
    await expectProblem(await SELF.fetch(await post(delta, json, { contentType: 'application/jose' })), 'invalid-instruction');
  });
});
