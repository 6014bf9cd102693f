/**
 * Corridor configuration (dev/corridors.json shape). The file seeds the Control DO, which holds
 * the live configuration and each corridor's state; routing reads it from there.
 */
import { z } from 'zod';
import { parseFxRate } from './fx.ts';
import { parseAmount } from './money.ts';
import { policyLongMax } from './policy-request.ts';
import { isCalendarDate } from './rfc3339.ts';
import { batchLegsMax } from './settlement-batch-schema.ts';

export const corridorStates = ['open', 'paused', 'draining'] as const;
/** Shards per corridor × jurisdiction; also bounds the coordinator's fan-out per window. */
export const corridorShardsMax = 64;
/** Holidays one corridor may list (a few years of a calendar). */
export const corridorHolidaysMax = 100;

const corridorSchema = z.strictObject({
  id: z.string().regex(/^[A-Z]{3}-[A-Z]{3}$/),
  source_currency: z.string().regex(/^[A-Z]{3}$/),
  target_currency: z.string().regex(/^[A-Z]{3}$/),
  fx_provider: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/).nullable(),
  fx_rate: z.string().regex(/^[0-9]+\.[0-9]+$/).nullable(),
  jurisdictions: z.array(z.enum(['eu', 'us', 'ap'])).min(1),
  window_duration_ms: z.number().int().min(100).max(3_600_000),
  /** Legs one shard takes into one window; the window's batch holds up to shards × legs_max. */
  legs_max: z.number().int().min(2).max(100_000),
  shards: z.number().int().min(1).max(corridorShardsMax),
  state: z.enum(corridorStates),
  /** The largest single payment (decimal, source currency); above it Cedar refuses `limit-exceeded`. */
  payment_amount_max: z.string().max(40),
  /** Whether on-us payments (debtor agent = creditor agent) may use the corridor; absent = not allowed. */
  allow_on_us: z.boolean().optional(),
  /** Non-business days besides Saturday and Sunday (YYYY-MM-DD): no later settlement date may fall on one. Absent = none. */
  holidays: z.array(z.string().refine(isCalendarDate, { error: 'not a calendar date (YYYY-MM-DD)' })).max(corridorHolidaysMax).optional(),
});

const corridorFileSchema = z.strictObject({
  fx_rate_scale: z.number().int().min(0).max(18),
  corridors: z.array(corridorSchema),
});

export type CorridorConfig = z.infer<typeof corridorSchema>;
export type CorridorFile = z.infer<typeof corridorFileSchema>;
export type CorridorState = CorridorConfig['state'];

/** The live corridor configuration as the Control DO serves it (same shape as the file). */
export type CorridorDirectory = CorridorFile;

export const corridorStateSchema = z.enum(corridorStates);

let cached: { source: string; file: CorridorFile } | undefined;

/** Parses and cross-checks a corridor file; a bad file is an operator error and throws at load. */
export function corridorFile(source: string): CorridorFile {
  if (cached?.source === source) return cached.file;
  const file = corridorFileSchema.parse(JSON.parse(source));
  const ids = new Set<string>();
  for (const corridor of file.corridors) {
    if (ids.has(corridor.id)) throw new Error(`CORRIDORS: corridor ${corridor.id} appears twice`);
    ids.add(corridor.id);
    if (corridor.id !== `${corridor.source_currency}-${corridor.target_currency}`) {
      throw new Error(`CORRIDORS: corridor ${corridor.id} does not match its currencies`);
    }
    if ((corridor.fx_provider === null) !== (corridor.source_currency === corridor.target_currency) || (corridor.fx_provider === null) !== (corridor.fx_rate === null)) {
      throw new Error(`CORRIDORS: corridor ${corridor.id} needs an FX provider and rate exactly when its currencies differ`);
    }
    if (corridor.fx_rate !== null) parseFxRate(corridor.fx_rate, file.fx_rate_scale);
    paymentAmountMaxMinor(corridor);
    // Every shard's part of a window goes into one batch; the regional backend takes at most batchLegsMax legs.
    if (corridor.shards * corridor.legs_max > batchLegsMax) {
      throw new Error(`CORRIDORS: corridor ${corridor.id}: ${corridor.shards} shards × ${corridor.legs_max} legs exceeds the ${batchLegsMax}-leg batch limit`);
    }
  }
  cached = { source, file };
  return file;
}

const amountMaxCache = new Map<string, bigint>();

/**
 * The corridor's `payment_amount_max` in minor units of its source currency, parsed once per value
 * and isolate. A value that does not parse, or that Cedar could not carry exactly (above 2^53 - 1),
 * is an operator error: `corridorFile` refuses it at load, and a directory that still carries one throws.
 */
export function paymentAmountMaxMinor(corridor: Pick<CorridorConfig, 'id' | 'source_currency' | 'payment_amount_max'>): bigint {
  const key = `${corridor.source_currency} ${corridor.payment_amount_max}`;
  const cachedMinor = amountMaxCache.get(key);
  if (cachedMinor !== undefined) return cachedMinor;
  const parsed = parseAmount(corridor.payment_amount_max, corridor.source_currency);
  if (!parsed.ok) throw new Error(`CORRIDORS: corridor ${corridor.id} payment_amount_max ${JSON.stringify(corridor.payment_amount_max)}: ${parsed.reason.detail}`);
  if (parsed.value > policyLongMax) throw new Error(`CORRIDORS: corridor ${corridor.id} payment_amount_max is above ${policyLongMax} minor units, which the policy engine cannot compare exactly`);
  amountMaxCache.set(key, parsed.value);
  return parsed.value;
}
