/**
 * Writes workers/openapi/signed-examples.json: real partner requests, signed with the committed
 * dev keys (dev/partners/) by the SDK's own signing code, that the partner document shows as its
 * examples. The Worker cannot read dev/ at run time, so the examples are committed; the test
 * (test/workers/openapi-examples.test.ts) verifies every signature against the dev public keys
 * and parses every instruction with the validator, so a stale or hand-edited example fails.
 *
 *   node workers/openapi/generate-signed-examples.ts
 *
 * Deterministic: a fixed `created`, nonces derived from the example name, and Ed25519 / ML-DSA-65
 * signing that is deterministic, so re-running it without a protocol change rewrites the same bytes.
 * The examples are stale by construction (`created` is fixed): replaying one is `401 stale-signature`.
 */
import { writeFileSync } from 'node:fs';
import alphaBank from '../../dev/partners/alpha-bank.json' with { type: 'json' };
import deltaSg from '../../dev/partners/delta-sg.json' with { type: 'json' };
import { jwsMediaType, signedRequest, signInstructionFor, type PartnerCredentials } from '../../packages/partner-sdk/src/request-signing.ts';
import { base64urlEncode, sha256 } from '../../core/digest.ts';
import type { SignedExample } from './signed-examples.ts';

const exampleGatewayUrl = 'https://gateway.meridian.example';
/** 2026-11-20T12:00:00Z. */
const exampleCreatedS = 1_795_176_000;

function exampleNonce(name: string): string {
  return base64urlEncode(sha256(`meridian openapi example ${name}`)).slice(0, 24);
}

function exampleInstruction(uetr: string, debtor: { bic: string; country: string }, creditor: { bic: string; country: string }, currency: string, targetCurrency: string) {
  const instructedAt = new Date(exampleCreatedS * 1000).toISOString();
  return {
    uetr,
    end_to_end_id: `E2E-${uetr.slice(0, 8).toUpperCase()}`,
    instructed_at: instructedAt,
    settlement_date: instructedAt.slice(0, 10),
    amount: { value: '125.40', currency },
    target_currency: targetCurrency,
    charge_bearer: 'SHAR',
    debtor: { name: 'Ordering Customer GmbH', country: debtor.country, account: `${debtor.country}00DEBT${uetr.slice(0, 8).toUpperCase()}` },
    debtor_agent: { bic: debtor.bic },
    creditor: { name: 'Beneficiary Ltd', country: creditor.country, account: `${creditor.country}00CRED${uetr.slice(24, 32).toUpperCase()}` },
    creditor_agent: { bic: creditor.bic },
  };
}

async function example(name: string, summary: string, partner: PartnerCredentials, method: 'GET' | 'POST', path: string, body?: string): Promise<SignedExample> {
  const url = exampleGatewayUrl + path;
  const request = await signedRequest(partner, {
    method,
    url,
    createdS: exampleCreatedS,
    nonce: exampleNonce(name),
    ...(body === undefined ? {} : { body, contentType: jwsMediaType(body) }),
  });
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'content-digest', 'signature-input', 'signature']) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { name, summary, partner_id: partner.partner_id, method, url, headers, ...(body === undefined ? {} : { body }) };
}

const alpha = alphaBank as PartnerCredentials;
const delta = deltaSg as PartnerCredentials;
const alphaUetr = '3f1c2a9e-6b1d-4e8a-9c2f-5a7b8d0e1f23';
const deltaUetr = '8d2e4f60-1a3b-4c5d-8e7f-9a0b1c2d3e4f';

const compactJws = await signInstructionFor(alpha, exampleInstruction(alphaUetr, { bic: 'ALPHDEFFXXX', country: 'DE' }, { bic: 'BRAVFRPPXXX', country: 'FR' }, 'EUR', 'EUR'));
const hybridJws = await signInstructionFor(delta, exampleInstruction(deltaUetr, { bic: 'DELTSGSGXXX', country: 'SG' }, { bic: 'ECHOJPJTXXX', country: 'JP' }, 'SGD', 'JPY'));

const examples: SignedExample[] = [
  await example('alpha-bank-compact', 'Alpha Bank (Ed25519): a compact EdDSA JWS, sig1 only', alpha, 'POST', '/v1/payments', compactJws),
  await example('delta-sg-hybrid', 'Delta SG (hybrid): a JWS JSON serialization with EdDSA and ML-DSA-65, sig1 and sig2', delta, 'POST', '/v1/payments', hybridJws),
  await example('alpha-bank-status', "Alpha Bank polls its payment's status: a bodiless GET, sig1 covers (\"@method\" \"@target-uri\")", alpha, 'GET', `/v1/payments/${alphaUetr}`),
];

const target = new URL('./signed-examples.json', import.meta.url);
writeFileSync(target, `${JSON.stringify({ generated_by: 'workers/openapi/generate-signed-examples.ts', created: exampleCreatedS, examples }, null, 2)}\n`);
console.log(`wrote ${examples.length} signed examples to ${target.pathname}`);
