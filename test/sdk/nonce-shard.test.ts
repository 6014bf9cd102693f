/**
 * The partner SDK draws each payment request's nonce so that its (keyid, nonce) claims fall into the
 * PartnerState shard holding the payment: the gateway then claims and reads in one call. The nonce
 * must stay fresh and random, and a request that names no payment keeps a plain random nonce.
 */
import { describe, expect, it } from 'vitest';
import { nonceShardOf, partnerStateShardOf, partnerStateShards } from '../../core/partner-state-shard.ts';
import { loadDevPartners } from '../../dev/fixtures.ts';
import { buildInstruction } from '../../packages/partner-sdk/src/instruction-builder.ts';
import { signedRequest, shardAlignedNonce, type PartnerCredentials } from '../../packages/partner-sdk/src/request-signing.ts';
import { PartnerClient } from '../../packages/partner-sdk/src/partner-client.ts';

const devPartners = loadDevPartners();
const partners = devPartners as unknown as PartnerCredentials[];
const ed25519Only = partners.find((partner) => partner.ml_dsa_65 === undefined)!;
const hybrid = partners.find((partner) => partner.ml_dsa_65 !== undefined)!;

function signedPairs(request: Request): Array<{ keyid: string; nonce: string }> {
  const input = request.headers.get('signature-input') ?? '';
  return [...input.matchAll(/nonce="([^"]+)";keyid="([^"]+)"/g)].map((match) => ({ nonce: match[1]!, keyid: match[2]! }));
}

describe('shard-aligned nonces', () => {
  it('puts every signed pair of a payment request into the payment shard, Ed25519 and hybrid alike', async () => {
    for (const partner of [ed25519Only, hybrid]) {
      const seen = new Set<string>();
      let aligned = 0;
      const requests = 64;
      for (let index = 0; index < requests; index++) {
        const uetr = crypto.randomUUID();
        const request = await signedRequest(partner, { method: 'POST', url: 'https://gateway.example/v1/payments', body: 'x.y.z', contentType: 'application/jose', uetr });
        const pairs = signedPairs(request);
        expect(pairs).toHaveLength(partner.ml_dsa_65 === undefined ? 1 : 2);
        expect(new Set(pairs.map((pair) => pair.nonce)).size).toBe(1);
        seen.add(pairs[0]!.nonce);
        if (pairs.every((pair) => nonceShardOf(pair) === partnerStateShardOf(uetr))) aligned++;
      }
      expect(seen.size).toBe(requests);
      // One key: aligned unless 32 draws all miss ((3/4)^32 ≈ 1e-4 each); two keys: ≈ 87 % each.
      expect(aligned).toBeGreaterThanOrEqual(partner.ml_dsa_65 === undefined ? requests - 1 : Math.floor(requests * 0.6));
    }
  });

  it('leaves a request naming no payment with a random nonce, spread over every shard', async () => {
    const shards = new Set<number>();
    for (let index = 0; index < 64; index++) {
      const request = await signedRequest(ed25519Only, { method: 'GET', url: 'https://gateway.example/v1/payments' });
      shards.add(nonceShardOf(signedPairs(request)[0]!));
    }
    expect(shards.size).toBe(partnerStateShards);
  });

  it('is what PartnerClient sends for a submission, reading the UETR from the JWS it submits', async () => {
    let sent: Request | undefined;
    const client = new PartnerClient(ed25519Only, 'https://gateway.example', async (request) => {
      sent = request;
      return new Response('{}', { status: 503, headers: { 'content-type': 'application/json' } });
    });
    const instruction = buildInstruction({ debtorBic: devPartners.find((partner) => partner.partner_id === ed25519Only.partner_id)!.bic, debtorCountry: 'DE', creditorBic: 'BRAVFRPPXXX', creditorCountry: 'FR', amount: '5.00', currency: 'EUR', targetCurrency: 'EUR' });
    await client.submitPayment(instruction).catch(() => undefined);
    expect(sent).toBeDefined();
    expect(nonceShardOf(signedPairs(sent!)[0]!)).toBe(partnerStateShardOf(instruction.uetr));
    // Fresh per request: another draw for the same payment is another nonce.
    expect(shardAlignedNonce([ed25519Only.keyid], instruction.uetr)).not.toBe(signedPairs(sent!)[0]!.nonce);
  });
});
