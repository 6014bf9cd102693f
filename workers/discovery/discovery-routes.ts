/**
 * GET /.well-known/meridian (partner discovery), /.well-known/jwks.json (the acceptance-receipt key)
 * and /.well-known/settlement-token-jwks.json (the settlement-token key, for the regional backends).
 * Each JWKS publishes exactly one key's job: a partner that trusts jwks.json trusts nothing that
 * authorises a settlement, and a backend pointed at the token JWKS trusts no receipt key.
 */
import { Hono } from 'hono';
import { gatewaySigningKeys } from '../../core/gateway-key.ts';
import { sessionSuite } from '../../core/pq-session.ts';
import { tlsMinimum } from '../downgrade/tls-posture.ts';
import type { Env } from '../env.ts';
import { createdSkewMaxMs, nonceTtlMs } from '../message-signature/verify-message-signature.ts';
import { gatewayKemKey } from '../sessions/gateway-kem-key.ts';
import { sessionTtlMs } from '../sessions/session-routes.ts';

/** Until workers/env.ts declares them (see the edge-trust report): the settlement-token key and the posture. */
type DiscoveryEnv = Env & { GATEWAY_SETTLEMENT_TOKEN_JWK?: string; MERIDIAN_POSTURE?: string };

const jwksMaxAgeS = 300;

export function discoveryRoutes(): Hono<{ Bindings: Env }> {
  const discovery = new Hono<{ Bindings: Env }>();
  discovery.get('/jwks.json', async (c) => {
    const { receipt } = await gatewaySigningKeys(c.env as DiscoveryEnv);
    c.header('cache-control', `public, max-age=${jwksMaxAgeS}`);
    return c.json({ keys: [receipt.publicJwk] });
  });
  discovery.get('/settlement-token-jwks.json', async (c) => {
    const { settlementToken } = await gatewaySigningKeys(c.env as DiscoveryEnv);
    c.header('cache-control', `public, max-age=${jwksMaxAgeS}`);
    return c.json({ keys: [settlementToken.publicJwk] });
  });
  discovery.get('/meridian', async (c) => {
    const { receipt } = await gatewaySigningKeys(c.env as DiscoveryEnv);
    const kem = await gatewayKemKey(c.env.GATEWAY_XWING_KEY);
    c.header('cache-control', `public, max-age=${jwksMaxAgeS}`);
    return c.json({
      gateway_id: c.env.GATEWAY_ID,
      xwing: { kid: kem.kid, public_key: kem.publicKey },
      session_suite: sessionSuite,
      session_ttl_s: sessionTtlMs / 1000,
      receipts_jwks: { keys: [receipt.publicJwk] },
      jwks_uri: new URL('/.well-known/jwks.json', c.req.url).href,
      signature_algorithms: ['ed25519', 'ml-dsa-65'],
      instruction_jws_algorithms: ['EdDSA', 'ML-DSA-65'],
      signature_created_skew_s: createdSkewMaxMs / 1000,
      nonce_ttl_s: nonceTtlMs / 1000,
      min_tls_version: tlsMinimum.slice('TLSv'.length),
    });
  });
  return discovery;
}
