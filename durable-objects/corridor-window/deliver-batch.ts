/**
 * Delivers a sealed settlement batch to the regional backends of its jurisdiction, in failover
 * order. Each call carries a fresh token (JWT, EdDSA, aud = region, ≤ 60 s, single-use jti) that
 * the backend verifies against the gateway's published JWKS: no standing secret between the two.
 */
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { SettlementResponse } from '../../core/settlement-batch.ts';
import { gatewayKey } from '../../core/gateway-key.ts';
import type { DurableObjectsEnv as Env } from '../env.ts';

export const settlementTokenTtlSeconds = 30;
export const deliveryTimeoutMs = 15_000;

const backendsSchema = z.record(z.string(), z.array(z.strictObject({ region: z.string(), url: z.url() })).min(1));
const settlementResponseSchema = z.object({
  batch_id: z.string(),
  digest: z.string(),
  region: z.string(),
  log_index: z.number().int().nonnegative(),
  receipt: z.string(),
});

export type DeliveryOutcome = { kind: 'settled'; response: SettlementResponse } | { kind: 'failed'; errors: string[] };

export function regionalBackends(env: Env, jurisdiction: string): Array<{ region: string; url: string }> {
  const backends = backendsSchema.parse(JSON.parse(env.REGIONAL_BACKENDS))[jurisdiction];
  if (backends === undefined) throw new Error(`REGIONAL_BACKENDS has no backend for jurisdiction ${jurisdiction}`);
  return backends;
}

export async function deliverSettlementBatch(env: Env, jurisdiction: string, canonical: string, digest: string): Promise<DeliveryOutcome> {
  const errors: string[] = [];
  for (const backend of regionalBackends(env, jurisdiction)) {
    try {
      const token = await mintSettlementToken(env, backend.region, digest);
      const response = await fetch(new URL('/v1/settlements', backend.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: canonical,
        signal: AbortSignal.timeout(deliveryTimeoutMs),
      });
      const text = await response.text();
      if (!response.ok) {
        errors.push(`${backend.region}: HTTP ${response.status} ${text.slice(0, 300)}`);
        continue;
      }
      const settled = settlementResponseSchema.parse(JSON.parse(text));
      if (settled.digest !== digest) {
        errors.push(`${backend.region}: receipt digest ${settled.digest} is not the sealed digest ${digest}`);
        continue;
      }
      return { kind: 'settled', response: settled };
    } catch (cause) {
      errors.push(`${backend.region}: ${(cause as Error).message}`);
    }
  }
  return { kind: 'failed', errors };
}

async function mintSettlementToken(env: Env, region: string, digest: string): Promise<string> {
  const key = await gatewayKey(env.GATEWAY_SIGNING_JWK);
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({ batch_digest: digest })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setIssuer(env.GATEWAY_ID)
    .setAudience(region)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + settlementTokenTtlSeconds)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}
