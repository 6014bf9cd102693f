/**
 * The Cedar request for one payment (policies/schema.cedarschema, action SubmitPayment), built from
 * plain inputs, and the way back from Cedar's determining policy ids to the wire slugs.
 *
 * Pure: no Cedar import, no clock, no I/O. The caller passes `now`, the country → jurisdiction map
 * (policies/country-jurisdictions.json, parsed with `countryJurisdictions()`) and the exceptions;
 * the policies themselves decide whether an exception is live (`expires_at > now`), so a lapsed
 * exception is refused by policy and the decision records it.
 *
 * Threat: Cedar skips a policy whose evaluation errors, and every rule here is a forbid next to one
 * base permit, so a malformed request would fail open. The builder therefore always emits every
 * entity the policies read, and the evaluator of the response must treat any diagnostics error as
 * a refusal (see `policyRefusal`).
 */
import { isCountryCode } from './iso3166.ts';
import { err, ok, type Result } from './result.ts';

export const policyJurisdictions = ['eu', 'us', 'ap'] as const;
export type PolicyJurisdiction = (typeof policyJurisdictions)[number];

/** Cedar Longs travel as JSON numbers: beyond 2^53 - 1 they would round, so they are refused. */
export const policyLongMax = BigInt(Number.MAX_SAFE_INTEGER);

export type PolicyPartner = { partner_id: string; jurisdiction: PolicyJurisdiction; bic: string; tls_min: '1.2' | '1.3' };
export type PolicyCorridor = {
  id: string;
  state: 'open' | 'paused' | 'draining';
  source_currency: string;
  payment_amount_max_minor: bigint;
  allow_on_us: boolean;
  /** The corridor's non-business days besides weekends, YYYY-MM-DD. */
  holidays: readonly string[];
};
/** The instruction fields the business rules read (policies/instruction.cedar). */
export type PolicyInstruction = { settlement_date: string; instructed_at_s: number; debtor_agent_bic: string; creditor_agent_bic: string };
/** The limits the business rules apply, from the gateway's named constants. */
export type PolicyInstructionLimits = { clock_skew_s: number; instructed_at_age_max_s: number; settlement_date_horizon_days: number };

/** How many calendar days ahead a settlement date may lie (and still be a business day of the corridor). */
export const settlementDateHorizonDays = 14;
/** How old an instruction's `instructed_at` may be when it reaches the gateway. */
export const instructedAtAgeMaxS = 24 * 60 * 60;
const dayS = 24 * 60 * 60;
export type PolicyResidencyException = { partner_id: string; debtor_country: string; owner: string; reason: string; expires_at_s: number };
export type PolicyTlsException = { expires_at_s: number };

export type PolicyPaymentFacts = {
  partner: PolicyPartner;
  corridor: PolicyCorridor;
  /** The jurisdiction J of the corridor window the payment goes into. */
  jurisdiction: PolicyJurisdiction;
  debtor_country: string;
  amount_minor: bigint;
  tls_version: string;
  tls_exceptions: readonly PolicyTlsException[];
  residency_exceptions: readonly PolicyResidencyException[];
  country_jurisdictions: ReadonlyMap<string, PolicyJurisdiction>;
  instruction: PolicyInstruction;
  instruction_limits: PolicyInstructionLimits;
  now_s: number;
};

type EntityRef = { type: string; id: string };
type CedarValue = boolean | number | string | { __entity: EntityRef } | CedarValue[] | { [key: string]: CedarValue };
export type PolicyEntity = { uid: EntityRef; attrs: Record<string, CedarValue>; parents: EntityRef[] };
export type PolicyRequest = {
  principal: EntityRef;
  action: EntityRef;
  resource: EntityRef;
  context: Record<string, CedarValue>;
  entities: PolicyEntity[];
};

export type PolicyRequestError =
  | { kind: 'amount-out-of-range'; amount_minor: string }
  | { kind: 'invalid-debtor-country'; debtor_country: string }
  | { kind: 'instructed-at-out-of-range'; instructed_at_s: number }
  | { kind: 'invalid-settlement-date'; settlement_date: string };

export const submitPaymentAction: EntityRef = { type: 'Action', id: 'SubmitPayment' };

const residencyExceptionId = (exception: PolicyResidencyException) => `${exception.partner_id}/${exception.debtor_country}/${exception.expires_at_s}`;

/** Builds principal/action/resource/context and the entities the policies read for one payment. */
export function policyRequest(facts: PolicyPaymentFacts): Result<PolicyRequest, PolicyRequestError> {
  if (facts.amount_minor < 0n || facts.amount_minor > policyLongMax) return err({ kind: 'amount-out-of-range', amount_minor: String(facts.amount_minor) });
  if (facts.corridor.payment_amount_max_minor < 0n || facts.corridor.payment_amount_max_minor > policyLongMax) {
    throw new Error(`policy request: corridor ${facts.corridor.id} payment_amount_max_minor ${facts.corridor.payment_amount_max_minor} is outside Cedar's safe Long range`);
  }
  if (!isCountryCode(facts.debtor_country)) return err({ kind: 'invalid-debtor-country', debtor_country: facts.debtor_country });
  const { instruction } = facts;
  if (!Number.isSafeInteger(instruction.instructed_at_s)) return err({ kind: 'instructed-at-out-of-range', instructed_at_s: instruction.instructed_at_s });
  const settlementDay = utcDayNumber(instruction.settlement_date);
  if (settlementDay === undefined) return err({ kind: 'invalid-settlement-date', settlement_date: instruction.settlement_date });

  const principal = { type: 'Partner', id: facts.partner.partner_id };
  const resource = { type: 'Corridor', id: facts.corridor.id };
  const country = { type: 'Country', id: facts.debtor_country };
  const countryJurisdiction = facts.country_jurisdictions.get(facts.debtor_country);
  const entities: PolicyEntity[] = [
    { uid: principal, attrs: { jurisdiction: facts.partner.jurisdiction, bic: facts.partner.bic, tls_min: facts.partner.tls_min }, parents: [] },
    {
      uid: resource,
      attrs: {
        id: facts.corridor.id,
        state: facts.corridor.state,
        source_currency: facts.corridor.source_currency,
        payment_amount_max_minor: Number(facts.corridor.payment_amount_max_minor),
        allow_on_us: facts.corridor.allow_on_us,
      },
      parents: [],
    },
    { uid: country, attrs: countryJurisdiction === undefined ? {} : { jurisdiction: countryJurisdiction }, parents: [] },
  ];
  const context: Record<string, CedarValue> = {
    jurisdiction: facts.jurisdiction,
    debtor_country: { __entity: country },
    amount_minor: Number(facts.amount_minor),
    tls_version: facts.tls_version,
    now: facts.now_s,
    settlement_date_days_from_today: settlementDay - Math.floor(facts.now_s / dayS),
    settlement_date_business_day: isBusinessDay(settlementDay, instruction.settlement_date, facts.corridor.holidays),
    settlement_date_horizon_days: facts.instruction_limits.settlement_date_horizon_days,
    instructed_at: instruction.instructed_at_s,
    clock_skew_s: facts.instruction_limits.clock_skew_s,
    instructed_at_age_max_s: facts.instruction_limits.instructed_at_age_max_s,
    debtor_agent_bic: instruction.debtor_agent_bic,
    creditor_agent_bic: instruction.creditor_agent_bic,
  };

  const tlsExpiry = latestExpiry(facts.tls_exceptions);
  if (tlsExpiry !== undefined) context.tls_exception_expires_at = tlsExpiry.expires_at_s;

  // Only the exception for exactly (partner, debtor country) is passed, the latest-expiring one;
  // whether it is still live is the policy's call.
  const residency = latestExpiry(facts.residency_exceptions.filter((exception) => exception.partner_id === facts.partner.partner_id && exception.debtor_country === facts.debtor_country));
  if (residency !== undefined) {
    const uid = { type: 'ResidencyException', id: residencyExceptionId(residency) };
    entities.push({
      uid,
      attrs: { partner: { __entity: principal }, debtor_country: { __entity: country }, expires_at: residency.expires_at_s, owner: residency.owner, reason: residency.reason },
      parents: [],
    });
    context.residency_exception = { __entity: uid };
  }
  return ok({ principal, action: submitPaymentAction, resource, context, entities });
}

/** Days since 1970-01-01 of a YYYY-MM-DD calendar date (UTC), or undefined when it is not one. */
function utcDayNumber(date: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (match === null) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== date) return undefined;
  return ms / (dayS * 1000);
}

/** Mon-Fri and not one of the corridor's holidays. 1970-01-01 was a Thursday (day 0 → weekday 4). */
function isBusinessDay(dayNumber: number, date: string, holidays: readonly string[]): boolean {
  const weekday = (((dayNumber + 4) % 7) + 7) % 7;
  return weekday >= 1 && weekday <= 5 && !holidays.includes(date);
}

function latestExpiry<T extends { expires_at_s: number }>(exceptions: readonly T[]): T | undefined {
  let latest: T | undefined;
  for (const exception of exceptions) {
    if (!Number.isSafeInteger(exception.expires_at_s)) throw new Error(`policy request: exception expiry ${exception.expires_at_s} is not whole epoch seconds`);
    if (latest === undefined || exception.expires_at_s > latest.expires_at_s) latest = exception;
  }
  return latest;
}

/** Parses policies/country-jurisdictions.json; a bad file is an operator error and throws at load. */
export function countryJurisdictions(source: string): ReadonlyMap<string, PolicyJurisdiction> {
  const parsed: unknown = JSON.parse(source);
  const countries = typeof parsed === 'object' && parsed !== null && 'countries' in parsed ? parsed.countries : undefined;
  if (typeof countries !== 'object' || countries === null) throw new Error('country-jurisdictions.json: no "countries" object');
  const map = new Map<string, PolicyJurisdiction>();
  for (const [country, jurisdiction] of Object.entries(countries)) {
    if (!isCountryCode(country)) throw new Error(`country-jurisdictions.json: ${country} is not an ISO 3166-1 alpha-2 code`);
    if (!policyJurisdictions.includes(jurisdiction)) throw new Error(`country-jurisdictions.json: ${country} maps to unknown jurisdiction ${String(jurisdiction)}`);
    map.set(country, jurisdiction as PolicyJurisdiction);
  }
  return map;
}

// --- Policy text → policies by @id ---------------------------------------------------------------

type CedarAnswer<T> = ({ type: 'success' } & T) | { type: 'failure'; errors: Array<{ message: string }> };
/** The two cedar-wasm functions the split needs; the gateway passes the web build's, the tests the nodejs build's. */
export interface CedarPolicyParser {
  policySetTextToParts(text: string): CedarAnswer<{ policies: string[]; policy_templates: string[] }>;
  policyToJson(policy: string): CedarAnswer<{ json: { annotations?: Record<string, string | null> } }>;
}

/**
 * One file's policies keyed by their `@id` annotation (Cedar would name them policy0, policy1…,
 * and recorded determining ids must be stable names). A policy without `@id`, an id used twice or
 * a template is an authoring error and throws.
 */
export function policiesById(text: string, fileName: string, cedar: CedarPolicyParser): Record<string, string> {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(`${fileName}: ${parts.errors.map((error) => error.message).join('; ')}`);
  if (parts.policy_templates.length > 0) throw new Error(`${fileName}: templates are not used`);
  const byId: Record<string, string> = {};
  for (const policy of parts.policies) {
    const json = cedar.policyToJson(policy);
    if (json.type !== 'success') throw new Error(`${fileName}: ${json.errors.map((error) => error.message).join('; ')}`);
    const id = json.json.annotations?.id;
    if (id === undefined || id === null || id === '') throw new Error(`${fileName}: a policy has no @id annotation:\n${policy}`);
    if (Object.hasOwn(byId, id)) throw new Error(`${fileName}: @id("${id}") appears twice`);
    byId[id] = policy;
  }
  return byId;
}

// --- Determining policy ids → wire slugs -------------------------------------------------------

/** The base permit: the only determining id of an admitted payment. */
export const policyPermitId = 'base.submit-payment';

export type PolicyRefusalSlug = 'residency-denied' | 'corridor-closed' | 'limit-exceeded' | 'downgrade-detected' | 'invalid-instruction';

/**
 * Every forbid policy's `@id` and the slug it refuses with, in precedence order: when several
 * forbids determine one refusal, the first listed names the wire slug (transport first, since a
 * downgraded connection should learn nothing about residency or limits; then the instruction's own
 * business rules, which the partner can fix by itself); evidence keeps them all.
 */
export const policyForbidSlugs = {
  'transport.tls-below-partner-minimum': 'downgrade-detected',
  'instruction.settlement-date-in-past': 'invalid-instruction',
  'instruction.settlement-date-beyond-horizon': 'invalid-instruction',
  'instruction.settlement-date-not-business-day': 'invalid-instruction',
  'instruction.instructed-at-in-future': 'invalid-instruction',
  'instruction.instructed-at-too-old': 'invalid-instruction',
  'instruction.on-us-not-allowed': 'invalid-instruction',
  'residency.jurisdiction-not-allowed': 'residency-denied',
  'corridor.not-open': 'corridor-closed',
  'amount-limits.above-payment-amount-max': 'limit-exceeded',
} as const satisfies Record<string, PolicyRefusalSlug>;

export type PolicyForbidId = keyof typeof policyForbidSlugs;

export function isPolicyForbidId(id: string): id is PolicyForbidId {
  return Object.hasOwn(policyForbidSlugs, id);
}

const instructionRulePrefix = 'instruction.';

/** The business rules among determining ids, by the name the wire's `rule` member carries ("on-us-not-allowed"). */
export function instructionRules(determiningPolicyIds: readonly string[]): string[] {
  return determiningPolicyIds.filter((id) => id.startsWith(instructionRulePrefix) && isPolicyForbidId(id)).map((id) => id.slice(instructionRulePrefix.length));
}

export type PolicyDecisionFacts = { decision: 'allow' | 'deny'; determining_policy_ids: readonly string[]; error_count: number };
export type PolicyDecisionError =
  | { kind: 'policy-evaluation-error'; error_count: number }
  | { kind: 'unknown-determining-policy'; policy_ids: string[] }
  | { kind: 'deny-without-forbid'; policy_ids: string[] };

/**
 * Reads a Cedar response: `ok(null)` admits the payment, `ok(slug)` refuses it with that slug, and
 * an error means the decision cannot be trusted (evaluation errors, ids this build does not know,
 * a deny no forbid explains) — callers must refuse then, and log the reason.
 */
export function policyRefusal(facts: PolicyDecisionFacts): Result<PolicyRefusalSlug | null, PolicyDecisionError> {
  if (facts.error_count > 0) return err({ kind: 'policy-evaluation-error', error_count: facts.error_count });
  const unknown = facts.determining_policy_ids.filter((id) => id !== policyPermitId && !isPolicyForbidId(id));
  if (unknown.length > 0) return err({ kind: 'unknown-determining-policy', policy_ids: unknown });
  if (facts.decision === 'allow') return ok(null);
  for (const [id, slug] of Object.entries(policyForbidSlugs)) {
    if (facts.determining_policy_ids.includes(id)) return ok(slug);
  }
  return err({ kind: 'deny-without-forbid', policy_ids: [...facts.determining_policy_ids] });
}
