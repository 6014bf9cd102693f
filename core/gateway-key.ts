/**
 * The gateway's two Ed25519 signing keys, one job each:
 *
 *   GATEWAY_SIGNING_JWK           acceptance receipts; published at /.well-known/jwks.json and in
 *                                 discovery, so partners (and auditors) verify what they were told.
 *   GATEWAY_SETTLEMENT_TOKEN_JWK  the per-call settlement tokens the corridor windows send to the
 *                                 regional backends; published at /.well-known/settlement-token-jwks.json.
 *
 * Separate keys because the two audiences trust them for different things: a settlement token
 * authorises a commit of money, a receipt only states what the edge accepted. With one key, any
 * JWS the gateway signs for a partner is also material a backend would accept as a token signer,
 * and rotating or revoking one means the other. Loading refuses the two being the same key.
 *
 * The committed dev keys (dev/gateway.json, dev/partners/) are known to everyone who can read the
 * repository. They are recognised here by their public-key thumbprints and refused outside the
 * explicit local-dev posture (MERIDIAN_POSTURE=local-dev), whatever kid an operator gives them.
 */
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { sha256Hex } from './digest.ts';

/** The one posture value that allows dev keys, plain-http backends and unobserved TLS. Absent = production. */
export const localDevPosture = 'local-dev';

export function isLocalDev(posture: string | undefined): boolean {
  return posture === localDevPosture;
}

export interface GatewayKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint of the public key (base64url). */
  thumbprint: string;
}

/** A deployment setting that is wrong: the Worker answers 503 `misconfigured` naming `setting`. */
export class MisconfiguredError extends Error {
  readonly kind = 'misconfigured';
  /** The binding or variable the operator must fix. */
  readonly setting: string;
  constructor(setting: string, detail: string) {
    super(`${setting}: ${detail}`);
    this.setting = setting;
  }
}

export function isMisconfiguredError(value: unknown): value is MisconfiguredError {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'misconfigured' && typeof (value as { setting?: unknown }).setting === 'string';
}

/**
 * RFC 7638 thumbprints of the committed dev Ed25519 keys: the gateway's receipt and settlement-token
 * keys (dev/gateway.json) and the dev partners' keys (dev/partners/*.json, public on purpose there:
 * their private keys are committed too). Regenerating dev fixtures means updating this list.
 */
export const devEd25519Thumbprints: ReadonlyMap<string, string> = new Map([
  ['6V85HREn04rWFoJRiyUrWfwApQ5kmNFnqKgZ1fUlq0E', 'dev/gateway.json signing_jwk'],
  ['0SKAI7oDEq5op3IlnOQ6L-5I_z8fhYTiKfhspD1vYc8', 'dev/gateway.json settlement_token_jwk'],
  ['u_1smAKsGFx6jJm2GTPwbqlxHT3HTVwtepuHI70ERMU', 'dev/partners/alpha-bank.json'],
  ['sk3AkznIWBK9CKPdXbYeh5cmx3x4GCHgwI0XVYUpqEY', 'dev/partners/banque-bravo.json'],
  ['LPWhrvOrwyHd17PMPnX7bMAH7y4GLaru2RUZhLvFAJc', 'dev/partners/charlie-trust.json'],
  ['hfob3OgioCffnc6ZE4omfZ6e57yZw7EVNJ2woYk-RzM', 'dev/partners/delta-sg.json'],
  ['Rzy3_6Zy7i4ZANhzXPYno7dT6qm0Gqwyqq2HCJGJiCU', 'dev/partners/echo-jp.json'],
  ['lg9jguxnc8zNIxOfv4eT6mt5eytuohNeTc5Rc9kzSG4', 'dev/partners/golf-limited.json'],
]);

/**
 * Lowercase hex SHA-256 of other committed dev key material: the X-Wing public key, the session
 * ticket key, the dev partner's ML-DSA-65 public key. Hashes of secrets that are public anyway.
 */
export const devKeyMaterialSha256: ReadonlyMap<string, string> = new Map([
  ['7e49a302bd210153651b36a5d65caf6842f150ea8a7c74e0c5691aac5e3e53a7', 'dev/gateway.json xwing'],
  ['24a31d0fe80e863c3954dca041747461f9b022f853ff361b34a0dcb8f3d96da4', 'dev/gateway.json ticket_key'],
  ['338dae3b69b7e33c7d31daae12a546f0c33f8a72531fc4670df43e491960bc6d', 'dev/partners/delta-sg.json ml_dsa_65'],
]);

export function ed25519Thumbprint(x: string): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
}

/** Which committed dev key these bytes are, or undefined. */
export function devKeyMaterial(bytes: Uint8Array): string | undefined {
  return devKeyMaterialSha256.get(sha256Hex(bytes));
}

export type GatewayKeyBinding = 'GATEWAY_SIGNING_JWK' | 'GATEWAY_SETTLEMENT_TOKEN_JWK';

const cached = new Map<string, Promise<GatewayKey>>();
const cachedKeysMax = 8;

/** How a caller that knows the deployment posture asks for the dev-key refusal. */
export interface GatewayKeyCheck {
  binding: GatewayKeyBinding;
  /** MERIDIAN_POSTURE: anything but `local-dev` (absent included) refuses the committed dev keys. */
  posture: string | undefined;
}

/**
 * One signing key, imported once per isolate. Throws MisconfiguredError when the value is not an
 * Ed25519 private JWK with a kid, and — given a `check` — when it is a committed dev key outside
 * local-dev. Without `check` (callers that predate MERIDIAN_POSTURE) only the shape is checked; the
 * Worker's enforceDeploymentPosture() refuses dev keys for every request before any key is used.
 */
export function gatewayKey(source: string, check?: GatewayKeyCheck): Promise<GatewayKey> {
  const binding = check?.binding ?? 'GATEWAY_SIGNING_JWK';
  const refuseDevKeys = check !== undefined && !isLocalDev(check.posture);
  const cacheKey = `${binding}\n${refuseDevKeys}\n${source}`;
  let key = cached.get(cacheKey);
  if (key === undefined) {
    if (cached.size >= cachedKeysMax) cached.clear();
    key = importGatewayKey(source, binding, refuseDevKeys);
    cached.set(cacheKey, key);
  }
  return key;
}

/**
 * Both signing keys, checked against each other: the receipt key and the settlement-token key must
 * be different keys (not merely different kids).
 */
export async function gatewaySigningKeys(env: { GATEWAY_SIGNING_JWK: string; GATEWAY_SETTLEMENT_TOKEN_JWK?: string; MERIDIAN_POSTURE?: string }): Promise<{ receipt: GatewayKey; settlementToken: GatewayKey }> {
  if (typeof env.GATEWAY_SETTLEMENT_TOKEN_JWK !== 'string' || env.GATEWAY_SETTLEMENT_TOKEN_JWK === '') {
    throw new MisconfiguredError('GATEWAY_SETTLEMENT_TOKEN_JWK', 'is not set (an Ed25519 private JWK, distinct from GATEWAY_SIGNING_JWK: `wrangler secret put GATEWAY_SETTLEMENT_TOKEN_JWK`)');
  }
  const [receipt, settlementToken] = await Promise.all([
    gatewayKey(env.GATEWAY_SIGNING_JWK, { binding: 'GATEWAY_SIGNING_JWK', posture: env.MERIDIAN_POSTURE }),
    gatewayKey(env.GATEWAY_SETTLEMENT_TOKEN_JWK, { binding: 'GATEWAY_SETTLEMENT_TOKEN_JWK', posture: env.MERIDIAN_POSTURE }),
  ]);
  if (receipt.thumbprint === settlementToken.thumbprint) {
    throw new MisconfiguredError('GATEWAY_SETTLEMENT_TOKEN_JWK', `is the same key as GATEWAY_SIGNING_JWK (thumbprint ${receipt.thumbprint}); settlement tokens need their own key`);
  }
  if (receipt.kid === settlementToken.kid) {
    throw new MisconfiguredError('GATEWAY_SETTLEMENT_TOKEN_JWK', `has the same kid as GATEWAY_SIGNING_JWK (${receipt.kid}); give each key its own kid`);
  }
  return { receipt, settlementToken };
}

async function importGatewayKey(source: string, binding: GatewayKeyBinding, refuseDevKeys: boolean): Promise<GatewayKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(source) as JWK;
  } catch {
    throw new MisconfiguredError(binding, 'is not JSON (an Ed25519 private JWK with a kid)');
  }
  if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string' || typeof jwk.kid !== 'string' || jwk.kid === '') {
    throw new MisconfiguredError(binding, 'must be an Ed25519 private JWK with a kid');
  }
  const thumbprint = await ed25519Thumbprint(jwk.x);
  const devKey = devEd25519Thumbprints.get(thumbprint);
  if (devKey !== undefined && refuseDevKeys) {
    throw new MisconfiguredError(binding, `is the committed dev key from ${devKey}, refused outside MERIDIAN_POSTURE=${localDevPosture}; generate a production key and set it with \`wrangler secret put ${binding}\``);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  } catch (cause) {
    throw new MisconfiguredError(binding, `does not import as an EdDSA key: ${(cause as Error).message}`);
  }
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, alg: 'EdDSA', use: 'sig' };
  return { kid: jwk.kid, privateKey, publicJwk, thumbprint };
}
