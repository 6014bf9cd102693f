/**
 * The partner registry as the edge sees it: public keys with validity periods (several per partner
 * so keys rotate without downtime), residency jurisdiction, PQ profile and TLS exceptions. The
 * profile schemas live in core/partner-profile.ts; this file keeps the edge-side lookups and the
 * per-isolate caches.
 *
 * Where requests find it: the Control DO's partner directory (durable-objects/control/partner-directory.ts),
 * which the PARTNERS binding seeds and ops `partner-key` changes edit under two-person control,
 * read and cached per isolate by workers/message-signature/partner-directory.ts. This module stays
 * free of Workers-only imports so Node code (the admission bench, the deployment check) can use it.
 */
import { base64urlDecode } from '../../core/digest.ts';
import { parsePartnerProfiles, type Ed25519PartnerKey, type MlDsa65PartnerKey, type PartnerKey, type PartnerProfile } from '../../core/partner-profile.ts';

export { isHybridPartner, keyValidAt } from '../../core/partner-profile.ts';
export type { Ed25519PartnerKey, MlDsa65PartnerKey, PartnerKey, PartnerProfile, TlsException } from '../../core/partner-profile.ts';

export interface PartnerRegistry {
  byKeyId(keyid: string): { partner: PartnerProfile; key: PartnerKey } | undefined;
  byId(partnerId: string): PartnerProfile | undefined;
  /** Every registered key with its partner (the deployment check looks for committed dev keys). */
  entries(): IterableIterator<{ partner: PartnerProfile; key: PartnerKey }>;
}

let cachedSeed: { source: string; registry: PartnerRegistry } | undefined;

/**
 * Parses a PARTNERS text (the seed) once per isolate. A malformed registry is an operator error:
 * crash loudly. Requests are verified against Control's directory instead
 * (workers/message-signature/partner-directory.ts); the deployment check reads the seed with this.
 */
export function partnerRegistry(source: string): PartnerRegistry {
  if (cachedSeed?.source === source) return cachedSeed.registry;
  const registry = registryOf(parsePartnerProfiles(source));
  cachedSeed = { source, registry };
  return registry;
}

/**
 * The lookups over a list of profiles. Control checked every profile when it stored it (and
 * `parsePartnerProfiles` checks a seed); these are the invariants the lookups rely on.
 */
export function registryOf(profiles: readonly PartnerProfile[]): PartnerRegistry {
  const keys = new Map<string, { partner: PartnerProfile; key: PartnerKey }>();
  const partners = new Map<string, PartnerProfile>();
  for (const partner of profiles) {
    if (partners.has(partner.partner_id)) throw new Error(`partner directory: partner ${partner.partner_id} is listed twice`);
    if (!partner.keys.some((key) => key.alg === 'ed25519')) throw new Error(`partner directory: ${partner.partner_id} has no ed25519 key`);
    partners.set(partner.partner_id, partner);
    for (const key of partner.keys) {
      if (keys.has(key.keyid)) throw new Error(`partner directory: keyid ${key.keyid} is listed twice`);
      keys.set(key.keyid, { partner, key });
    }
  }
  return { byKeyId: (keyid) => keys.get(keyid), byId: (id) => partners.get(id), entries: () => keys.values() };
}

export function partnerKey<A extends PartnerKey['alg']>(partner: PartnerProfile, keyid: unknown, alg: A): Extract<PartnerKey, { alg: A }> | undefined {
  return partner.keys.find((key): key is Extract<PartnerKey, { alg: A }> => key.keyid === keyid && key.alg === alg);
}

const decodedMlDsaKeys = new WeakMap<MlDsa65PartnerKey, Uint8Array>();

/** The raw 1952-byte public key, decoded once per isolate (the directory already checked the encoding). */
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
 * directory keeps an unchanged profile's objects across refreshes, so the import (a third of the
 * cost of verifying a request, bench/admission.bench.ts) is not paid on every request.
 */
export function ed25519VerifyKey(key: Ed25519PartnerKey): Promise<CryptoKey> {
  let imported = verifyKeys.get(key);
  if (imported === undefined) {
    imported = crypto.subtle.importKey('jwk', key.public_jwk, { name: 'Ed25519' }, false, ['verify']);
    verifyKeys.set(key, imported);
  }
  return imported;
}
