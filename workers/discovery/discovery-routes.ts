/** GET /.well-known/meridian (partner discovery) and /.well-known/jwks.json (receipt and settlement-token keys). */
import { Hono } from 'hono';
import { gatewayKey } from '../config/gateway-keys.ts';
import type { Env } from '../env.ts';
import { createdSkewMaxMs } from '../message-signature/verify-message-signature.ts';

export function discoveryRoutes(): Hono<{ Bindings: Env }> {
  const discovery = new Hono<{ Bindings: Env }>();
  discovery.get('/jwks.json', async (c) => {
    const key = await gatewayKey(c.env.GATEWAY_SIGNING_JWK);
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: [key.publicJwk] });
  });
  discovery.get('/meridian', async (c) => {
    const key = await gatewayKey(c.env.GATEWAY_SIGNING_JWK);
    return c.json({
      gateway_id: c.env.GATEWAY_ID,
      receipts_jwks: { keys: [key.publicJwk] },
      jwks_uri: new URL('/.well-known/jwks.json', c.req.url).href,
      signature_algorithms: ['ed25519'],
      signature_created_skew_s: createdSkewMaxMs / 1000,
      min_tls_version: '1.2',
    });
  });
  return discovery;
}
