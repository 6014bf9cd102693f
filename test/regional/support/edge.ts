/**
 * A stand-in for the edge gateway: an Ed25519 key, the JWKS it would publish, and per-call tokens
 * minted the way durable-objects/corridor-window/deliver-batch.ts mints them.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTVerifyGetKey } from 'jose';

export const testGatewayId = 'meridian-test';

export interface TestEdge {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  keys: JWTVerifyGetKey;
}

export async function createTestEdge(kid = 'edge-test-1'): Promise<TestEdge> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicKey, keys: createLocalJWKSet({ keys: [jwk] }) };
}

export interface EdgeTokenOptions {
  audience: string;
  batchDigest?: string;
  issuer?: string;
  /** Seconds since the epoch; default now. */
  issuedAt?: number;
  /** Seconds since the epoch; default issuedAt + 30. */
  expiresAt?: number;
  jti?: string | null;
  privateKey?: CryptoKey;
  alg?: string;
  /** null: no kid in the protected header. */
  kid?: string | null;
}

export async function mintEdgeToken(edge: TestEdge, options: EdgeTokenOptions): Promise<string> {
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1000);
  const claims = options.batchDigest === undefined ? {} : { batch_digest: options.batchDigest };
  let token = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'EdDSA', ...(options.kid === null ? {} : { kid: options.kid ?? edge.kid }), typ: 'JWT' })
    .setIssuer(options.issuer ?? testGatewayId)
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(options.expiresAt ?? issuedAt + 30);
  if (options.jti !== null) token = token.setJti(options.jti ?? randomUUID());
  return token.sign(options.privateKey ?? edge.privateKey);
}
