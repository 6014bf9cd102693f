/**
 * Ambiguity in signed input is refused, not resolved: duplicate JSON members (instruction payload,
 * JWS JSON, protected headers, session requests), duplicate signature labels or parameters, and
 * JWS segments that are not what they claim. A reader that resolves duplicates differently must
 * never see another instruction than the one the gateway verified.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { signedRequest, signHybridInstruction, signInstruction } from '../../packages/partner-sdk/src/partner-client.ts';
import { base64urlEncode, utf8 } from '../../core/digest.ts';
import { duplicateDictionaryKey } from '../../core/message-signature.ts';
import { duplicateMember } from '../../core/strict-json.ts';
import { alpha, client, delta, expectProblem, gatewayUrl, paymentFrom, sessionRequest } from './partner-trust-support.ts';

const paymentsUrl = `${gatewayUrl}/v1/payments`;

async function compactOver(headerText: string, payloadSegment: string): Promise<string> {
  const { kty, crv, d, x } = alpha.private_jwk;
  const key = await crypto.subtle.importKey('jwk', { kty, crv, d, x } as JsonWebKey, { name: 'Ed25519' }, false, ['sign']);
  const header = base64urlEncode(utf8(headerText));
  const signature = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, utf8(`${header}.${payloadSegment}`)));
  return `${header}.${payloadSegment}.${base64urlEncode(signature)}`;
}

const post = async (body: string, contentType = 'application/jose') => SELF.fetch(await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body, contentType }));

describe('duplicate JSON members', () => {
  it('refuses a validly signed instruction whose payload repeats a member', async () => {
    const payload = JSON.stringify(paymentFrom(alpha, '125.40')).replace('"value":"125.40"', '"value":"1.00","value":"125.40"');
    const jws = await compactOver(JSON.stringify({ alg: 'EdDSA', kid: alpha.keyid }), base64urlEncode(utf8(payload)));
    expect((await expectProblem(await post(jws), 'invalid-instruction')).detail).toContain('appears twice');
  });

  it('refuses a protected header that repeats alg', async () => {
    const jws = await compactOver(`{"alg":"none","alg":"EdDSA","kid":"${alpha.keyid}"}`, base64urlEncode(utf8(JSON.stringify(paymentFrom(alpha)))));
    await expectProblem(await post(jws), 'invalid-instruction');
  });

  it('refuses a hybrid JWS JSON with two payload members', async () => {
    const honest = await signHybridInstruction(delta, paymentFrom(delta));
    const decoy = base64urlEncode(utf8(JSON.stringify(paymentFrom(delta, '1.00'))));
    const body = honest.replace(/^\{/, `{"payload":"${decoy}",`);
    const response = await SELF.fetch(await signedRequest(delta, { method: 'POST', url: paymentsUrl, body, contentType: 'application/jose+json' }));
    await expectProblem(response, 'invalid-instruction');
  });

  it('refuses a session request with a repeated offer', async () => {
    const { body } = await sessionRequest(alpha);
    const repeated = body.replace(/^\{/, '{"offer":{"kems":["X25519"],"aeads":["AES-256-GCM"],"sigs":["ed25519"],"tls":"none"},');
    const response = await SELF.fetch(await signedRequest(alpha, { method: 'POST', url: `${gatewayUrl}/v1/sessions`, body: repeated, contentType: 'application/json' }));
    await expectProblem(response, 'invalid-request');
  });

  it('refuses a sealed body whose protected header names two kids', async () => {
    const session = await client(alpha).openSession();
    const headerText = `{"alg":"dir","enc":"A256GCM","kid":"mst1.x.AAAA","kid":${JSON.stringify(session.sessionId)}}`;
    const header = base64urlEncode(utf8(headerText));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = await crypto.subtle.importKey('raw', session.payloadKey, { name: 'AES-GCM' }, false, ['encrypt']);
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(header) }, key, utf8(await signInstruction(alpha, paymentFrom(alpha)))));
    const jwe = [header, '', base64urlEncode(iv), base64urlEncode(sealed.slice(0, -16)), base64urlEncode(sealed.slice(-16))].join('.');
    expect((await expectProblem(await post(jwe), 'invalid-instruction')).detail).toContain('appears twice');
  });

  it('finds duplicates after unescaping and only within one object (pure)', () => {
    expect(duplicateMember('{"a":1,"\\u0061":2}')).toBe('a');
    expect(duplicateMember('{"a":{"b":1},"c":{"b":2},"d":["a","a"]}')).toBeNull();
    expect(duplicateMember('{"a":"\\"b\\":1","b":{"x":[{"k":1},{"k":2}],"x2":{"k":1,"k":2}}}')).toBe('k');
  });
});

describe('duplicate signature labels and parameters', () => {
  it('refuses a Signature-Input or Signature with sig1 twice', async () => {
    const honest = await signedRequest(alpha, { method: 'POST', url: paymentsUrl, body: await signInstruction(alpha, paymentFrom(alpha)) });
    for (const [name, prefix] of [['signature-input', 'sig1=("@method");created=1, '], ['signature', 'sig1=:AAAA:, ']] as const) {
      const ambiguous = new Request(honest.clone(), { headers: new Headers(honest.headers) });
      ambiguous.headers.set(name, prefix + (honest.headers.get(name) as string));
      expect((await expectProblem(await SELF.fetch(ambiguous), 'bad-signature')).detail).toContain('appears twice');
    }
  });

  it('names repeated labels and parameters (pure)', () => {
    expect(duplicateDictionaryKey('sig1=("@method");created=1;nonce="a;b,c", sig2=:AAAA:')).toBeNull();
    expect(duplicateDictionaryKey('sig1=:AAAA:, sig2=:BBBB:, sig1=:CCCC:')).toBe('label sig1');
    expect(duplicateDictionaryKey('sig1=("@method");created=1;created=2')).toBe('parameter created of sig1');
  });
});

describe('JWS segments', () => {
  it('answers an empty signature segment (alg none, or EdDSA) as bad-signature', async () => {
    const payload = base64urlEncode(utf8(JSON.stringify(paymentFrom(alpha))));
    for (const header of [{ alg: 'none', kid: alpha.keyid }, { alg: 'EdDSA', kid: alpha.keyid }]) {
      await expectProblem(await post(`${base64urlEncode(utf8(JSON.stringify(header)))}.${payload}.`), 'bad-signature');
    }
  });

  it('answers a protected header that is JSON but not an object as bad-signature, never 500', async () => {
    const payload = base64urlEncode(utf8(JSON.stringify(paymentFrom(alpha))));
    for (const header of ['null', '[]', '"EdDSA"', '7']) await expectProblem(await post(await compactOver(header, payload)), 'bad-signature');
  });

  it('answers a validly signed payload segment that is not base64url as invalid-instruction', async () => {
    let segment = base64urlEncode(utf8(JSON.stringify(paymentFrom(alpha))));
    while (segment.length % 4 !== 1) segment += 'A';
    await expectProblem(await post(await compactOver(JSON.stringify({ alg: 'EdDSA', kid: alpha.keyid }), segment)), 'invalid-instruction');
  });
});
