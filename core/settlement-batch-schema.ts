import { z } from 'zod';
import { isBic } from './bic.ts';
import { isCountryCode } from './iso3166.ts';
import { currencyExponent } from './iso4217.ts';
import { amountDigitsMax } from './money.ts';
import { isRfc3339DateTime } from './rfc3339.ts';

/*
 * The strict wire shape of a settlement batch, as the regional backend receives it. Unknown
 * fields are rejected at every level: anything not covered by the digest check's meaning (a
 * stray "priority" or "fee" field) must not ride along into the ledger.
 *
 * This schema is the source of truth (and the OpenAPI document's). The settlement path decides
 * acceptance with its hand-written twin, ./settlement-batch-shape.ts, property-tested to accept
 * exactly what this accepts; a batch the twin refuses is parsed here, so refusals keep this
 * schema's issues. Change a rule here and there together (the property test fails otherwise).
 */

/**
 * Legs per batch. A window holds at most legs_max (5,000) legs per shard and a batch nets all of
 * a window's shards; this bounds the regional backend's work per delivery well above that.
 */
export const batchLegsMax = 200_000;
/** Net positions are sums of at most batchLegsMax amounts < 10^18, so below 10^24. */
export const netMinorDigitsMax = 24;

// Exported for the hand-written twin of this schema (./settlement-batch-shape.ts), which must use
// the very same patterns: declared once, here.
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const amountMinorPattern = new RegExp(`^[1-9][0-9]{0,${amountDigitsMax - 1}}$`);
export const netMinorPattern = new RegExp(`^(0|-?[1-9][0-9]{0,${netMinorDigitsMax - 1}})$`);
export const corridorPattern = /^[A-Z]{3}-[A-Z]{3}$/;
export const jurisdictionPattern = /^[a-z]{2,16}$/;
/** `<corridor>.<jurisdiction>.<shard>.<window start ms>`; at most 46 characters. */
export const batchIdPattern = /^([A-Z]{3}-[A-Z]{3})\.([a-z]{2,16})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,15})$/;

const currencySchema = z.string().refine((code) => currencyExponent(code) !== undefined, {
  error: 'not a payable ISO 4217 currency',
});
const bicSchema = z.string().refine(isBic, { error: 'not a valid BIC' });
const timestampSchema = z.string().refine(isRfc3339DateTime, { error: 'not an RFC 3339 date-time with offset' });

export const settlementLegSchema = z.strictObject({
  uetr: z.string().regex(uuidPattern, { error: 'not a lowercase UUID' }),
  /** BIC of the submitting partner: with `uetr`, the payment's identity. */
  instructing_agent: bicSchema,
  payer: bicSchema,
  payee: bicSchema,
  currency: currencySchema,
  amount_minor: z.string().regex(amountMinorPattern, { error: `not a positive integer string below 10^${amountDigitsMax}` }),
  debtor_country: z.string().refine(isCountryCode, { error: 'not an ISO 3166-1 alpha-2 country code' }),
  /** The residency exception (its ops change id) the edge admitted the payment under, or null. */
  residency_exception: z.string().regex(uuidPattern, { error: 'not a lowercase UUID (a residency exception change id)' }).nullable(),
});

export const netPositionSchema = z.strictObject({
  participant: bicSchema,
  currency: currencySchema,
  net_minor: z.string().regex(netMinorPattern, { error: 'not a signed integer string' }),
});

export const settlementBatchSchema = z.strictObject({
  // Version 3 only: version 1 legs had no instructing_agent, so two partners' legs for one gpi
  // UETR were indistinguishable; version 2 legs had no debtor_country, so the backend could not
  // re-check residency (core/settlement-batch.ts).
  version: z.literal(3),
  batch_id: z.string().regex(batchIdPattern, { error: 'not <corridor>.<jurisdiction>.<shard>.<window start ms>' }),
  corridor: z.string().regex(corridorPattern, { error: 'not <source currency>-<target currency>' }),
  jurisdiction: z.string().regex(jurisdictionPattern, { error: 'not a jurisdiction id' }),
  window: z.strictObject({ starts_at: timestampSchema, ends_at: timestampSchema }),
  legs: z.array(settlementLegSchema).min(1).max(batchLegsMax),
  positions: z.array(netPositionSchema).max(batchLegsMax * 2),
});

/** Cross-field consistency the shape alone cannot express; returns a detail string or null. */
export function batchHeaderProblem(batch: z.infer<typeof settlementBatchSchema>): string | null {
  const [, idCorridor, idJurisdiction, , idStartMs] = batchIdPattern.exec(batch.batch_id)!;
  if (idCorridor !== batch.corridor) return `batch_id corridor ${idCorridor} differs from corridor ${batch.corridor}`;
  if (idJurisdiction !== batch.jurisdiction) return `batch_id jurisdiction ${idJurisdiction} differs from ${batch.jurisdiction}`;
  const startsAtMs = Date.parse(batch.window.starts_at);
  if (String(startsAtMs) !== idStartMs) return `batch_id window start ${idStartMs} differs from window.starts_at (${startsAtMs} ms)`;
  if (Date.parse(batch.window.ends_at) <= startsAtMs) return 'window.ends_at is not after window.starts_at';
  const corridorCurrencies = batch.corridor.split('-');
  for (const code of corridorCurrencies) {
    if (currencyExponent(code) === undefined) return `corridor currency ${code} is not a payable ISO 4217 currency`;
  }
  const stray = batch.legs.find((leg) => !corridorCurrencies.includes(leg.currency));
  if (stray !== undefined) return `leg ${stray.instructing_agent}/${stray.uetr} in ${stray.currency} does not belong to corridor ${batch.corridor}`;
  return null;
}
