/**
 * A partner's public profile and keys (DESIGN.md "Partner protocol"): the schemas the PARTNERS seed,
 * the Control object's partner directory and the ops `partner-key` changes all validate against.
 * Pure: the edge and the Control Durable Object share it.
 *
 * A partner is *hybrid* when its profile lists at least one ML-DSA-65 key: every request then needs
 * `sig2` and every instruction an ML-DSA-65 signature. Hybrid-ness is decided by the profile, never
 * by what a request happens to carry, so an expired or missing ML-DSA key fails closed instead of
 * silently downgrading the partner to Ed25519 only.
 */
import { z } from 'zod';
import { base64urlDecode } from './digest.ts';
import { currencyExponent } from './iso4217.ts';
import { amountTextLengthMax, parseAmount } from './money.ts';

export const keyidCharsMax = 128;
/** Keys a profile lists at once (rotation needs two or three; the rest is headroom). */
export const partnerKeysMax = 16;
export const tlsExceptionsMax = 8;
export const partnerIdPattern = /^[a-z0-9][a-z0-9-]{1,62}$/;

const validity = {
  not_before: z.iso.datetime({ offset: true }),
  not_after: z.iso.datetime({ offset: true }),
};

/**
 * An Ed25519 public JWK. `x` is 32 bytes (43 base64url characters, checked canonical by
 * `partnerKeyProblem`); a private member `d` is refused, so an operator who pastes the private JWK
 * into a key change never stores it in the directory.
 */
const ed25519PublicJwkSchema = z.looseObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  d: z.never({ error: 'a partner key is public: the JWK must not carry the private member d' }).optional(),
});

export const ed25519KeySchema = z.strictObject({
  keyid: z.string().min(1).max(keyidCharsMax),
  alg: z.literal('ed25519'),
  public_jwk: ed25519PublicJwkSchema,
  ...validity,
});

/** ML-DSA-65 (FIPS 204) public key: 1952 bytes, base64url without padding (2603 characters). */
export const mlDsa65KeySchema = z.strictObject({
  keyid: z.string().min(1).max(keyidCharsMax),
  alg: z.literal('ml-dsa-65'),
  public_key: z.string().regex(/^[A-Za-z0-9_-]{2603}$/),
  ...validity,
});

export const partnerKeySchema = z.discriminatedUnion('alg', [ed25519KeySchema, mlDsa65KeySchema]);

/**
 * A registered exception that lets a partner connect with TLS 1.2 until `expires_at`. It must name
 * the person who owns the risk and why; nothing ever lowers the floor below TLS 1.2.
 */
export const tlsExceptionSchema = z.strictObject({
  tls_min: z.literal('1.2'),
  owner: z.string().min(3).max(200),
  reason: z.string().min(3).max(500),
  expires_at: z.iso.datetime({ offset: true }),
});

/** Payments a velocity limit may allow per window: far above any partner, far below a counter's range. */
export const velocityPaymentsMax = 1_000_000_000;
/** Currencies one partner's `amount_per_day` may list. */
export const velocityCurrenciesMax = 32;

/**
 * Per-partner velocity limits (DESIGN.md "Policies, residency and limits"): payments per UTC
 * minute and per UTC day, and per source currency the amount per UTC day, a decimal with no more
 * decimals than the currency has (parsed to minor units by `velocityAmountPerDayMinor`).
 */
export const velocityLimitsSchema = z.strictObject({
  payments_per_minute: z.number().int().min(1).max(velocityPaymentsMax),
  payments_per_day: z.number().int().min(1).max(velocityPaymentsMax),
  amount_per_day: z
    .record(
      z.string().regex(/^[A-Z]{3}$/).refine((code) => currencyExponent(code) !== undefined, { error: 'not a payable ISO 4217 currency' }),
      z.string().max(amountTextLengthMax),
    )
    .refine((amounts) => Object.keys(amounts).length <= velocityCurrenciesMax, { error: `at most ${velocityCurrenciesMax} currencies` })
    .superRefine((amounts, context) => {
      for (const [currency, amount] of Object.entries(amounts)) {
        const parsed = parseAmount(amount, currency);
        if (!parsed.ok) context.addIssue({ code: 'custom', path: [currency], message: `${currency} ${JSON.stringify(amount)}: ${parsed.reason.detail}` });
      }
    })
    .optional(),
});

export type VelocityLimits = z.infer<typeof velocityLimitsSchema>;

/** The partner's amount-per-day limit for `currency` in minor units, or undefined when it sets none. */
export function velocityAmountPerDayMinor(velocity: VelocityLimits, currency: string): bigint | undefined {
  const amount = velocity.amount_per_day !== undefined && Object.hasOwn(velocity.amount_per_day, currency) ? velocity.amount_per_day[currency] : undefined;
  if (amount === undefined) return undefined;
  const parsed = parseAmount(amount, currency);
  // The schema refused every amount that does not parse; a failure here is a programmer error.
  if (!parsed.ok) throw new Error(`velocity amount_per_day ${currency}: ${parsed.reason.detail}`);
  return parsed.value;
}

export const partnerProfileSchema = z.strictObject({
  partner_id: z.string().regex(partnerIdPattern),
  name: z.string().min(1),
  bic: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/),
  jurisdiction: z.enum(['eu', 'us', 'ap']),
  pq: z.enum(['required', 'optional']),
  tls_min: z.enum(['1.2', '1.3']),
  keys: z.array(partnerKeySchema).min(1).max(partnerKeysMax),
  tls_exceptions: z.array(tlsExceptionSchema).max(tlsExceptionsMax).optional(),
  velocity: velocityLimitsSchema.optional(),
});

export type PartnerProfile = z.infer<typeof partnerProfileSchema>;
export type PartnerKey = z.infer<typeof partnerKeySchema>;
export type Ed25519PartnerKey = z.infer<typeof ed25519KeySchema>;
export type MlDsa65PartnerKey = z.infer<typeof mlDsa65KeySchema>;
export type TlsException = z.infer<typeof tlsExceptionSchema>;
/** A profile without its keys: the static part the PARTNERS seed owns. */
export type PartnerStaticProfile = Omit<PartnerProfile, 'keys'>;

/**
 * What the schema cannot say about a key, or null: a non-canonical base64url encoding (the edge
 * decodes it later and must not fail there) and an empty or inverted validity period.
 */
export function partnerKeyProblem(key: PartnerKey): string | null {
  const encoded = key.alg === 'ed25519' ? key.public_jwk.x : key.public_key;
  try {
    base64urlDecode(encoded);
  } catch (cause) {
    return `key ${key.keyid}: ${(cause as Error).message}`;
  }
  if (Date.parse(key.not_before) >= Date.parse(key.not_after)) return `key ${key.keyid}: not_before must lie before not_after`;
  return null;
}

/**
 * Parses and cross-checks the PARTNERS seed (a JSON array of profiles): unique partner ids, unique
 * key ids across all partners, an Ed25519 key for every partner, canonical key encodings. A bad
 * seed is an operator error and throws.
 */
export function parsePartnerProfiles(source: string): PartnerProfile[] {
  const profiles = z.array(partnerProfileSchema).parse(JSON.parse(source));
  const partnerIds = new Set<string>();
  const keyids = new Set<string>();
  for (const partner of profiles) {
    if (partnerIds.has(partner.partner_id)) throw new Error(`PARTNERS: partner ${partner.partner_id} is registered twice`);
    partnerIds.add(partner.partner_id);
    if (!partner.keys.some((key) => key.alg === 'ed25519')) throw new Error(`PARTNERS: ${partner.partner_id} has no ed25519 key`);
    for (const key of partner.keys) {
      if (keyids.has(key.keyid)) throw new Error(`PARTNERS: keyid ${key.keyid} is registered twice`);
      keyids.add(key.keyid);
      const problem = partnerKeyProblem(key);
      if (problem !== null) throw new Error(`PARTNERS: ${partner.partner_id} ${problem}`);
    }
  }
  return profiles;
}

/** A key is usable only inside its validity period. */
export function keyValidAt(key: PartnerKey, nowMs: number): boolean {
  return Date.parse(key.not_before) <= nowMs && nowMs < Date.parse(key.not_after);
}

/** Hybrid partners sign every request (`sig2`) and every instruction with ML-DSA-65 as well as Ed25519. */
export function isHybridPartner(partner: PartnerProfile): boolean {
  return partner.keys.some((key) => key.alg === 'ml-dsa-65');
}
