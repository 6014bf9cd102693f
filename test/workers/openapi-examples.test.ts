/**
 * The partner document's examples are real signed requests (workers/openapi/signed-examples.json,
 * written by workers/openapi/generate-signed-examples.ts with the dev keys): every Content-Digest
 * matches its body, every RFC 9421 signature label verifies against the key the gateway holds for
 * that keyid (the PARTNERS binding), every instruction JWS verifies and parses with the validator,
 * the gateway recognises each request as signed and refuses it only because its `created` is old,
 * and the served document carries them.
 */
import { env, SELF } from 'cloudflare:test';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { base64Encode, base64urlDecode, sha256 } from '../../core/digest.ts';
import { jwsSigningInput } from '../../core/hybrid-jws.ts';
import { paymentInstructionSchema } from '../../core/instruction.ts';
import { parseMessageSignatures, signatureBase } from '../../core/message-signature.ts';
import { verifyMlDsa65 } from '../../core/ml-dsa.ts';
import { problemTypePrefix } from '../../core/problem.ts';
import { documentedInstructionSchema } from '../../workers/openapi/instruction-schemas.ts';
import { signedExamples, type SignedExample } from '../../workers/openapi/signed-examples.ts';
import { gatewayUrl } from './support.ts';

type PartnerKey = { keyid: string; alg: 'ed25519'; public_jwk: JsonWebKey } | { keyid: string; alg: 'ml-dsa-65'; public_key: string };
const partners = JSON.parse(env.PARTNERS as string) as Array<{ partner_id: string; keys: PartnerKey[] }>;

function keyOf(partnerId: string, keyid: string): PartnerKey {
  const key = partners.find((partner) => partner.partner_id === partnerId)?.keys.find((candidate) => candidate.keyid === keyid);
  if (key === undefined) throw new Error(`no key ${keyid} of ${partnerId} in PARTNERS`);
  return key;
}

async function verifiesWith(key: PartnerKey, message: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer>): Promise<boolean> {
  if (key.alg === 'ml-dsa-65') return verifyMlDsa65(base64urlDecode(key.public_key), message, signature);
  const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: (key.public_jwk as { x: string }).x }, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, message);
}

/** The instruction inside an example's JWS, once every JWS signature verified against the partner's keys. */
async function verifiedInstruction(example: SignedExample): Promise<unknown> {
  const body = example.body!;
  if (example.headers['content-type'] === 'application/jose') {
    const { protectedHeader, payload } = await compactVerify(body, async (header) => {
      const key = keyOf(example.partner_id, header.kid!);
      if (key.alg !== 'ed25519') throw new Error('compact JWS must be EdDSA');
      return importJWK({ ...key.public_jwk, alg: 'EdDSA' } as Parameters<typeof importJWK>[0], 'EdDSA');
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    return JSON.parse(new TextDecoder().decode(payload));
  }
  const general = JSON.parse(body) as { payload: string; signatures: Array<{ protected: string; signature: string }> };
  const algorithms: string[] = [];
  for (const entry of general.signatures) {
    const header = JSON.parse(new TextDecoder().decode(base64urlDecode(entry.protected))) as { alg: string; kid: string };
    algorithms.push(header.alg);
    expect(await verifiesWith(keyOf(example.partner_id, header.kid), jwsSigningInput(entry.protected, general.payload), new Uint8Array(base64urlDecode(entry.signature))), `${example.name} ${header.alg}`).toBe(true);
  }
  expect(algorithms.sort()).toEqual(['EdDSA', 'ML-DSA-65']);
  return JSON.parse(new TextDecoder().decode(base64urlDecode(general.payload)));
}

describe('signed examples in the partner document', () => {
  it('covers a compact, a hybrid and a bodiless request', () => {
    expect(signedExamples.map((example) => example.name)).toEqual(['alpha-bank-compact', 'delta-sg-hybrid', 'alpha-bank-status']);
  });

  for (const example of signedExamples) {
    it(`${example.name}: the digest matches and every signature label verifies against the partner's key`, async () => {
      if (example.body !== undefined) expect(example.headers['content-digest']).toBe(`sha-256=:${base64Encode(sha256(example.body))}:`);
      const parsed = parseMessageSignatures(example.headers['signature-input']!, example.headers['signature']!);
      if (!parsed.ok) throw new Error(parsed.reason.detail);
      const labels = [...parsed.value.keys()];
      expect(labels).toEqual(example.name === 'delta-sg-hybrid' ? ['sig1', 'sig2'] : ['sig1']);
      for (const signature of parsed.value.values()) {
        const base = signatureBase({ method: example.method, url: example.url, headers: new Headers(example.headers) }, signature.components, signature.signatureParams);
        if (!base.ok) throw new Error(base.reason.detail);
        const key = keyOf(example.partner_id, signature.params.keyid!);
        expect(key.alg).toBe(signature.params.alg);
        expect(await verifiesWith(key, new Uint8Array(new TextEncoder().encode(base.value)), new Uint8Array(signature.signature)), `${example.name} ${signature.label}`).toBe(true);
        // A flipped bit must not verify: the check above is not vacuous.
        const tampered = new Uint8Array(signature.signature);
        tampered[0]! ^= 1;
        expect(await verifiesWith(key, new Uint8Array(new TextEncoder().encode(base.value)), tampered)).toBe(false);
      }
    });

    if (example.body !== undefined) {
      it(`${example.name}: the instruction JWS verifies and its payload is a valid instruction of this partner`, async () => {
        const instruction = await verifiedInstruction(example);
        expect(paymentInstructionSchema.safeParse(instruction).success).toBe(true);
        expect(documentedInstructionSchema.safeParse(instruction).success).toBe(true);
      });
    }

    it(`${example.name}: the gateway takes it as a signed request, refused only because created is old`, async () => {
      const target = new URL(example.url);
      const response = await SELF.fetch(`${gatewayUrl}${target.pathname}`, { method: example.method, headers: example.headers, ...(example.body === undefined ? {} : { body: example.body }) });
      expect(response.status).toBe(401);
      expect((await response.json() as { type: string }).type).toBe(`${problemTypePrefix}stale-signature`);
    });
  }

  it('the documented instruction schema refuses what the validator refuses', () => {
    const valid = JSON.parse(new TextDecoder().decode(base64urlDecode(signedExamples[0]!.body!.split('.')[1]!))) as Record<string, unknown>;
    for (const broken of [{ ...valid, extra: 1 }, { ...valid, amount: { value: '1.234', currency: 'EUR' } }, { ...valid, debtor_agent: { bic: 'NOTABIC' } }]) {
      expect(paymentInstructionSchema.safeParse(broken).success).toBe(false);
      expect(documentedInstructionSchema.safeParse(broken).success).toBe(false);
    }
  });

  it('the served document shows them on the operations they sign', async () => {
    const document = await (await SELF.fetch(`${gatewayUrl}/openapi.json`)).json() as { paths: Record<string, any> };
    const submit = document.paths['/v1/payments'].post;
    expect(submit.requestBody.content['application/jose'].examples['alpha-bank-compact'].value).toBe(signedExamples[0]!.body);
    expect(JSON.stringify(submit.requestBody.content['application/jose+json'].examples['delta-sg-hybrid'].value)).toBe(signedExamples[1]!.body);
    const signatureInput = submit.parameters.find((parameter: { name: string }) => parameter.name === 'Signature-Input');
    expect(signatureInput.examples['delta-sg-hybrid'].value).toBe(signedExamples[1]!.headers['signature-input']);
    const status = document.paths['/v1/payments/{uetr}'].get;
    expect(status.parameters.find((parameter: { name: string }) => parameter.name === 'Signature').examples['alpha-bank-status'].value).toBe(signedExamples[2]!.headers['signature']);
  });
});
