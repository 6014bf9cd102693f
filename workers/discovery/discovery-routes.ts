/** GET /.well-known/meridian (partner discovery) and /.well-known/jwks.json (receipt and settlement-token keys). */
import { Hono } from 'hono';
import { sessionSuite } from '../../core/pq-session.ts';
import { gatewayKey } from '../../core/gateway-key.ts';
import { tlsMinimum } from '../downgrade/tls-posture.ts';
import type { Env } from '../env.ts';
import { createdSkewMaxMs, nonceTtlMs } from '../message-signature/verify-message-signature.ts';
import { gatewayKemKey } from '../sessions/gateway-kem-key.ts';
import { sessionTtlMs } from '../sessions/session-routes.ts';

export function discoveryRoutes(): Hono<{ Bindings: Env }> {
  const discovery = new Hono<{ Bindings: Env }>();
  discovery.get('/jwks.json', async (c) => {
    const key = await gatewayKey(c.env.GATEWAY_SIGNING_JWK);
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: [key.publicJwk] });
  });
  discovery.get('/meridian', async (c) => {
    const key = await gatewayKey(c.env.GATEWAY_SIGNING_JWK);
    const kem = await gatewayKemKey(c.env.GATEWAY_XWING_KEY);
    c.header('cache-control', 'public, max-age=300');
    return c.json({
      gateway_id: c.env.GATEWAY_ID,
      xwing: { kid: kem.kid, public_key: kem.publicKey },
      session_suite: sessionSuite,
      session_ttl_s: sessionTtlMs / 1000,
      receipts_jwks: { keys: [key.publicJwk] },
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
