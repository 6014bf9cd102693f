/**
 * The partner registry as the edge sees it: public keys with validity periods (several per partner
 * so keys rotate without downtime), residency jurisdiction, PQ profile and TLS exceptions.
 *
 * A partner is *hybrid* when its profile lists at least one ML-DSA-65 key: every request then needs
 * `sig2` and every instruction an ML-DSA-65 signature. Hybrid-ness is decided by the profile, never
 * by what a request happens to carry, so an expired or missing ML-DSA key fails closed instead of
 * silently downgrading the partner to Ed25519 only.
 */
import { z } from 'zod';
import { base64urlDecode } from '../../core/digest.ts';

const validity = {
  not_before: z.iso.datetime({ offset: true }),
  not_after: z.iso.datetime({ offset: true }),
};

const ed25519KeySchema = z.strictObject({
  keyid: z.string().min(1).max(128),
  alg: z.literal('ed25519'),
  public_jwk: z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string() }),
  ...validity,
});

/** ML-DSA-65 (FIPS 204) public key: 1952 bytes, base64url without padding (2603 characters). */
const mlDsa65KeySchema = z.strictObject({
  keyid: z.string().min(1).max(128),
  alg: z.literal('ml-dsa-65'),
  public_key: z.string().regex(/^[A-Za-z0-9_-]{2603}$/),
  ...validity,
});

const partnerKeySchema = z.discriminatedUnion('alg', [ed25519KeySchema, mlDsa65KeySchema]);

/**
 * A registered exception that lets a partner connect with TLS 1.2 until `expires_at`. It must name
 * the person who owns the risk and why; nothing ever lowers the floor below TLS 1.2.
 */
const tlsExceptionSchema = z.strictObject({
  tls_min: z.literal('1.2'),
  owner: z.string().min(3).max(200),
  reason: z.string().min(3).max(500),
  expires_at: z.iso.datetime({ offset: true }),
});

const partnerProfileSchema = z.strictObject({
  partner_id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  name: z.string().min(1),
  bic: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/),
  jurisdiction: z.enum(['eu', 'us', 'ap']),
  pq: z.enum(['required', 'optional']),
  tls_min: z.enum(['1.2', '1.3']),
  keys: z.array(partnerKeySchema).min(1).max(16),
  tls_exceptions: z.array(tlsExceptionSchema).max(8).optional(),
});

export type PartnerProfile = z.infer<typeof partnerProfileSchema>;
export type PartnerKey = z.infer<typeof partnerKeySchema>;
export type Ed25519PartnerKey = z.infer<typeof ed25519KeySchema>;
export type MlDsa65PartnerKey = z.infer<typeof mlDsa65KeySchema>;
export type TlsException = z.infer<typeof tlsExceptionSchema>;

export interface PartnerRegistry {
  byKeyId(keyid: string): { partner: PartnerProfile; key: PartnerKey } | undefined;
  byId(partnerId: string): PartnerProfile | undefined;
  /** Every registered key with its partner (the deployment check looks for committed dev keys). */
  entries(): IterableIterator<{ partner: PartnerProfile; key: PartnerKey }>;
}

let cached: { source: string; registry: PartnerRegistry } | undefined;

/** Parses the PARTNERS binding once per isolate. A malformed registry is an operator error: crash loudly. */
export function partnerRegistry(source: string): PartnerRegistry {
  if (cached?.source === source) return cached.registry;
  const profiles = z.array(partnerProfileSchema).parse(JSON.parse(source));
  const keys = new Map<string, { partner: PartnerProfile; key: PartnerKey }>();
  const partners = new Map<string, PartnerProfile>();
  for (const partner of profiles) {
    if (partners.has(partner.partner_id)) throw new Error(`PARTNERS: partner ${partner.partner_id} is registered twice`);
    if (!partner.keys.some((key) => key.alg === 'ed25519')) throw new Error(`PARTNERS: ${partner.partner_id} has no ed25519 key`);
    partners.set(partner.partner_id, partner);
    for (const key of partner.keys) {
      if (keys.has(key.keyid)) throw new Error(`PARTNERS: keyid ${key.keyid} is registered twice`);
      if (key.alg === 'ml-dsa-65') base64urlDecode(key.public_key); // throws on a non-canonical encoding
      keys.set(key.keyid, { partner, key });
    }
  }
  const registry: PartnerRegistry = { byKeyId: (keyid) => keys.get(keyid), byId: (id) => partners.get(id), entries: () => keys.values() };
  cached = { source, registry };
  return registry;
}

/** A key is usable only inside its validity period. */
export function keyValidAt(key: PartnerKey, nowMs: number): boolean {
  return Date.parse(key.not_before) <= nowMs && nowMs < Date.parse(key.not_after);
}

/** Hybrid partners sign every request (`sig2`) and every instruction with ML-DSA-65 as well as Ed25519. */
export function isHybridPartner(partner: PartnerProfile): boolean {
  return partner.keys.some((key) => key.alg === 'ml-dsa-65');
}

export function partnerKey<A extends PartnerKey['alg']>(partner: PartnerProfile, keyid: unknown, alg: A): Extract<PartnerKey, { alg: A }> | undefined {
  return partner.keys.find((key): key is Extract<PartnerKey, { alg: A }> => key.keyid === keyid && key.alg === alg);
}

const decodedMlDsaKeys = new WeakMap<MlDsa65PartnerKey, Uint8Array>();

/** The raw 1952-byte public key, decoded once per isolate (the registry already checked the encoding). */
export function mlDsaPublicKey(key: MlDsa65PartnerKey): Uint8Array {
  let bytes = decodedMlDsaKeys.get(key);
  if (bytes === undefined) {
    bytes = base64urlDecode(key.public_key);
    decodedMlDsaKeys.set(key, bytes);
  }
  return bytes;
}

const verifyKeys = new WeakMap<Ed25519PartnerKey, Promise<CryptoKey>>();

/**
 * The WebCrypto verify key of a registered Ed25519 partner key, imported once per isolate: the
 * registry objects live as long as the PARTNERS binding does, so the import (a third of the cost
 * of verifying a request, bench/admission.bench.ts) is not paid on every request.
 */
export function ed25519VerifyKey(key: Ed25519PartnerKey): Promise<CryptoKey> {
  let imported = verifyKeys.get(key);
  if (imported === undefined) {
    imported = crypto.subtle.importKey('jwk', key.public_jwk, { name: 'Ed25519' }, false, ['verify']);
    verifyKeys.set(key, imported);
  }
  return imported;
}
