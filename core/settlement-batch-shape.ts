import type { z } from 'zod';
import { isBic } from './bic.ts';
import { isCountryCode } from './iso3166.ts';
import { currencyExponent } from './iso4217.ts';
import { isRfc3339DateTime } from './rfc3339.ts';
import {
  amountMinorPattern,
  batchIdPattern,
  batchLegsMax,
  corridorPattern,
  jurisdictionPattern,
  netMinorPattern,
  settlementBatchSchema,
  uuidPattern,
} from './settlement-batch-schema.ts';
import type { NetPosition, SettlementBatch, SettlementLeg } from './settlement-leg.ts';

/*
 * The settlement batch schema (./settlement-batch-schema.ts) as one hand-written pass, for the hot
 * path only: accept or refuse, nothing else.
 *
 * Why: zod's parse of a 10,000-leg batch took ~21 ms of CPU (a run context, an issue list and a
 * check pipeline per value: ~90,000 values), and a close paid it twice — the edge's seal verifies
 * its own batch, the regional backend verifies what it received. This pass does the same checks
 * in ~3 ms.
 *
 * Why it refuses exactly what the schema refuses (test/core/settlement-batch-shape.test.ts checks
 * it both ways on arbitrary batches, mutated batches and arbitrary JSON values):
 * - the same patterns and predicates, imported from the schema's module (declared once);
 * - objects as zod's strictObject sees them: typeof 'object', not null, not an array; its members
 *   enumerated with for…in (own and inherited enumerable keys, as zod's unknown-key check does),
 *   every one of them a declared member; each declared member read once by property access;
 * - arrays as zod's array sees them: Array.isArray, length bounds, every index 0 … length − 1 read;
 * - z.string() is typeof 'string', z.literal(3) is === 3, nullable is `=== null` or the inner check.
 * The result is a fresh copy built from the values read (like zod's output): the caller's object
 * is read once, so a getter or a later mutation of the input cannot change what was checked.
 *
 * zod stays the source of truth: `parseSettlementBatch` returns the copy when this pass accepts
 * and otherwise runs the zod schema, whose issues name what is wrong. A bug that made this pass
 * refuse too much costs only speed; one that made it accept too much is what the property test is for.
 */

export type SettlementBatchParse = { success: true; data: SettlementBatch } | { success: false; issues: z.core.$ZodIssue[] };

/** The schema's verdict, reached by the hand-written pass when it accepts, by zod otherwise. */
export function parseSettlementBatch(value: unknown): SettlementBatchParse {
  const shaped = settlementBatchShape(value);
  if (shaped !== undefined) return { success: true, data: shaped };
  const parsed = settlementBatchSchema.safeParse(value);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, issues: parsed.error.issues };
}

const batchMembers: ReadonlySet<string> = new Set(['version', 'batch_id', 'corridor', 'jurisdiction', 'window', 'legs', 'positions']);
const windowMembers: ReadonlySet<string> = new Set(['starts_at', 'ends_at']);
const legMembers: ReadonlySet<string> = new Set(['uetr', 'instructing_agent', 'payer', 'payee', 'currency', 'amount_minor', 'debtor_country', 'residency_exception']);
const positionMembers: ReadonlySet<string> = new Set(['participant', 'currency', 'net_minor']);
const positionsMax = batchLegsMax * 2;

/** A copy of `value` when the schema accepts it; undefined when it (probably) does not. */
export function settlementBatchShape(value: unknown): SettlementBatch | undefined {
  if (!isStrictObject(value, batchMembers)) return undefined;
  const { version, batch_id: batchId, corridor, jurisdiction, window, legs, positions } = value as Record<string, unknown>;
  if (version !== 3) return undefined;
  if (!matches(batchId, batchIdPattern) || !matches(corridor, corridorPattern) || !matches(jurisdiction, jurisdictionPattern)) return undefined;
  if (!isStrictObject(window, windowMembers)) return undefined;
  const { starts_at: startsAt, ends_at: endsAt } = window as Record<string, unknown>;
  if (!isTimestamp(startsAt) || !isTimestamp(endsAt)) return undefined;
  const shapedLegs = legsShape(legs);
  if (shapedLegs === undefined) return undefined;
  const shapedPositions = positionsShape(positions);
  if (shapedPositions === undefined) return undefined;
  return { version: 3, batch_id: batchId, corridor, jurisdiction, window: { starts_at: startsAt, ends_at: endsAt }, legs: shapedLegs, positions: shapedPositions };
}

function legsShape(value: unknown): SettlementLeg[] | undefined {
  if (!Array.isArray(value) || value.length < 1 || value.length > batchLegsMax) return undefined;
  const legs = new Array<SettlementLeg>(value.length);
  for (let index = 0; index < value.length; index++) {
    const leg = legShape(value[index]);
    if (leg === undefined) return undefined;
    legs[index] = leg;
  }
  return legs;
}

function legShape(value: unknown): SettlementLeg | undefined {
  if (!isStrictObject(value, legMembers)) return undefined;
  const { uetr, instructing_agent: instructingAgent, payer, payee, currency, amount_minor: amountMinor, debtor_country: debtorCountry, residency_exception: residencyException } = value as Record<string, unknown>;
  if (!matches(uetr, uuidPattern) || !isBicText(instructingAgent) || !isBicText(payer) || !isBicText(payee) || !isCurrency(currency)) return undefined;
  if (!matches(amountMinor, amountMinorPattern) || typeof debtorCountry !== 'string' || !isCountryCode(debtorCountry)) return undefined;
  if (residencyException !== null && !matches(residencyException, uuidPattern)) return undefined;
  return { uetr, instructing_agent: instructingAgent, payer, payee, currency, amount_minor: amountMinor, debtor_country: debtorCountry, residency_exception: residencyException };
}

function positionsShape(value: unknown): NetPosition[] | undefined {
  if (!Array.isArray(value) || value.length > positionsMax) return undefined;
  const positions = new Array<NetPosition>(value.length);
  for (let index = 0; index < value.length; index++) {
    const position: unknown = value[index];
    if (!isStrictObject(position, positionMembers)) return undefined;
    const { participant, currency, net_minor: netMinor } = position as Record<string, unknown>;
    if (!isBicText(participant) || !isCurrency(currency) || !matches(netMinor, netMinorPattern)) return undefined;
    positions[index] = { participant, currency, net_minor: netMinor };
  }
  return positions;
}

/** zod's object test (util.isObject) and strict unknown-key check (for…in against the declared keys). */
function isStrictObject(value: unknown, members: ReadonlySet<string>): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (!members.has(key)) return false;
  return true;
}

function matches(value: unknown, pattern: RegExp): value is string {
  return typeof value === 'string' && pattern.test(value);
}

function isBicText(value: unknown): value is string {
  return typeof value === 'string' && isBic(value);
}

function isCurrency(value: unknown): value is string {
  return typeof value === 'string' && currencyExponent(value) !== undefined;
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && isRfc3339DateTime(value);
}
