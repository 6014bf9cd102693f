/**
 * The partner registry as the edge sees it: public keys with validity periods (several per partner
 * so keys rotate without downtime), residency jurisdiction and PQ profile.
 */
import { z } from 'zod';

const partnerKeySchema = z.strictObject({
  keyid: z.string().min(1).max(128),
  alg: z.literal('ed25519'),
  public_jwk: z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string() }),
  not_before: z.iso.datetime({ offset: true }),
  not_after: z.iso.datetime({ offset: true }),
});

const partnerProfileSchema = z.strictObject({
  partner_id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  name: z.string().min(1),
  bic: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/),
  jurisdiction: z.enum(['eu', 'us', 'ap']),
  pq: z.enum(['required', 'optional']),
  tls_min: z.enum(['1.2', '1.3']),
  keys: z.array(partnerKeySchema).min(1),
  ml_dsa_65: z.strictObject({ keyid: z.string(), public_key: z.string() }).optional(),
});

export type PartnerProfile = z.infer<typeof partnerProfileSchema>;
export type PartnerKey = z.infer<typeof partnerKeySchema>;

export interface PartnerRegistry {
  byKeyId(keyid: string): { partner: PartnerProfile; key: PartnerKey } | undefined;
  byId(partnerId: string): PartnerProfile | undefined;
}

let cached: { source: string; registry: PartnerRegistry } | undefined;

/** Parses the PARTNERS binding once per isolate. A malformed registry is an operator error: crash loudly. */
export function partnerRegistry(source: string): PartnerRegistry {
  if (cached?.source === source) return cached.registry;
  const profiles = z.array(partnerProfileSchema).parse(JSON.parse(source));
  const keys = new Map<string, { partner: PartnerProfile; key: PartnerKey }>();
  const partners = new Map<string, PartnerProfile>();
  for (const partner of profiles) {
    partners.set(partner.partner_id, partner);
    for (const key of partner.keys) {
      if (keys.has(key.keyid)) throw new Error(`PARTNERS: keyid ${key.keyid} is registered twice`);
      keys.set(key.keyid, { partner, key });
    }
  }
  const registry: PartnerRegistry = { byKeyId: (keyid) => keys.get(keyid), byId: (id) => partners.get(id) };
  cached = { source, registry };
  return registry;
}

/** A key is usable only inside its validity period. */
export function keyValidAt(key: PartnerKey, nowMs: number): boolean {
  return Date.parse(key.not_before) <= nowMs && nowMs < Date.parse(key.not_after);
}
