/** The gateway's own Ed25519 key: signs acceptance receipts and the per-call settlement tokens. */
import { importJWK, type JWK } from 'jose';

export interface GatewayKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let cached: { source: string; key: Promise<GatewayKey> } | undefined;

export function gatewayKey(source: string): Promise<GatewayKey> {
  if (cached?.source === source) return cached.key;
  const key = importGatewayKey(source);
  cached = { source, key };
  return key;
}

async function importGatewayKey(source: string): Promise<GatewayKey> {
  const jwk = JSON.parse(source) as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') {
    throw new Error('GATEWAY_SIGNING_JWK must be an Ed25519 private JWK with a kid');
  }
  const privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, alg: 'EdDSA', use: 'sig' };
  return { kid: jwk.kid, privateKey, publicJwk };
}
