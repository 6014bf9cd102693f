/**
 * Partner keygen: an Ed25519 signing key (message signatures and instruction JWSs) and, for hybrid
 * partners, an ML-DSA-65 key from a fresh 32-byte FIPS 204 seed. The private half is the
 * `PartnerCredentials` this SDK signs with; the public half is the registry entry the partner sends
 * its Meridian operator, who registers it under two-person control (`partner-key` change).
 */
import { base64urlEncode } from '../../../core/digest.ts';
import { mlDsa65KeyPairFromSeed, mlDsa65SeedBytes } from '../../../core/ml-dsa.ts';
import type { PartnerCredentials } from './request-signing.ts';

/** How long a generated key is valid; rotate before it lapses (the gateway refuses a lapsed key as unknown-partner). */
export const keyValidityMs = 365 * 24 * 60 * 60 * 1000;
export const keyClockSlackMs = 60_000;

/** A public key as a partner profile lists it (what the operator registers). */
export type RegistryKey =
  | { keyid: string; alg: 'ed25519'; public_jwk: { kty: string; crv: string; x: string }; not_before: string; not_after: string }
  | { keyid: string; alg: 'ml-dsa-65'; public_key: string; not_before: string; not_after: string };

export interface GeneratedPartnerKeys {
  /** Secret: store it like any signing key (the CLI writes it mode 0600). */
  credentials: PartnerCredentials & { ml_dsa_65?: { keyid: string; seed: string; public_key: string } };
  /** Public: send these to the operator. */
  registryKeys: RegistryKey[];
}

export async function generatePartnerKeys(partnerId: string, options: { hybrid?: boolean; now?: Date } = {}): Promise<GeneratedPartnerKeys> {
  const now = options.now ?? new Date();
  // Unique per generation, so a second key for the same partner (a rotation) never collides with the first.
  const keyid = `${partnerId}-${now.toISOString().slice(0, 10)}-${base64urlEncode(crypto.getRandomValues(new Uint8Array(4)))}`;
  // Valid from a minute back, so a gateway clock slightly behind this machine's accepts the key at once.
  const validity = { not_before: new Date(now.getTime() - keyClockSlackMs).toISOString(), not_after: new Date(now.getTime() + keyValidityMs).toISOString() };
  const ed25519 = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { kty, crv, d, x } = await crypto.subtle.exportKey('jwk', ed25519.privateKey);
  if (kty === undefined || crv === undefined || d === undefined || x === undefined) throw new Error('generatePartnerKeys: WebCrypto exported an incomplete Ed25519 JWK');
  const credentials: GeneratedPartnerKeys['credentials'] = { partner_id: partnerId, keyid, private_jwk: { kty, crv, d, x, kid: keyid, alg: 'EdDSA', use: 'sig' } };
  const registryKeys: RegistryKey[] = [{ keyid, alg: 'ed25519', public_jwk: { kty, crv, x }, ...validity }];
  if (options.hybrid === true) {
    const seed = crypto.getRandomValues(new Uint8Array(mlDsa65SeedBytes));
    const publicKey = base64urlEncode(mlDsa65KeyPairFromSeed(seed).publicKey);
    credentials.ml_dsa_65 = { keyid: `${keyid}-mldsa`, seed: base64urlEncode(seed), public_key: publicKey };
    registryKeys.push({ keyid: `${keyid}-mldsa`, alg: 'ml-dsa-65', public_key: publicKey, ...validity });
  }
  return { credentials, registryKeys };
}
