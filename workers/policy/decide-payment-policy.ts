/**
 * Stage `policy`: Cedar decides one new payment (policies/: residency, corridor, amount limits,
 * transport, the instruction's business rules) and the decision is recorded in the partner's
 * PartnerState: a refusal here, with one `recordPolicyDecision` call; an admission inside `admit`,
 * which carries the record returned by this stage, so it costs no round trip of its own.
 *
 * Facts: the partner's profile (jurisdiction, BIC, tls_min, TLS exceptions); the corridor as
 * routing saw it (state, source currency, payment_amount_max, on-us, holidays); J = the partner's
 * jurisdiction, which is the window's (routeToCorridor names the window by it); the debtor's
 * country; the amount; the TLS version the edge observed; now; and the partner's unexpired
 * residency exceptions, which `priorAnswer` returned with its `none`. Cedar judges their expiry.
 *
 * Threat: every rule is a forbid beside one permit, so anything that makes Cedar skip a forbid
 * would admit. The stage fails closed: a Cedar failure, an evaluation error, a determining id this
 * build does not know or a deny no forbid explains is refused (503 `unavailable`, retryable: it is
 * the gateway's fault, not the partner's), logged and recorded.
 *
 * TLS: `enforceTransportPosture()` still runs before this stage, on every signed route (sessions,
 * status reads), records the downgrade as a security event and is stricter than Cedar (it wants a
 * live exception for TLS 1.2 whatever `tls_min` says). Cedar's transport rule re-decides it for
 * the payment so the decision record names it; both must pass.
 */
import { paymentAmountMaxMinor } from '../../core/corridor-config.ts';
import {
  instructedAtAgeMaxS,
  instructionRules,
  policyRefusal,
  policyRequest,
  settlementDateHorizonDays,
  type PolicyPaymentFacts,
  type PolicyRefusalSlug,
  type PolicyRequestError,
} from '../../core/policy-request.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { JsonValue, PolicyDecisionInput, ResidencyException } from '../../durable-objects/partner-state/partner-state.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { TlsObservation } from '../downgrade/tls-posture.ts';
import type { Env } from '../env.ts';
import { createdSkewMaxMs } from '../message-signature/verify-message-signature.ts';
import type { OpenedInstruction } from '../payments/open-instruction.ts';
import { partnerStateOf } from '../payments/admit.ts';
import { refusalProblem, type PaymentRefusal } from '../payments/payment-refusal.ts';
import type { CorridorRoute } from '../payments/route-to-corridor.ts';
import { authorizePayment, policySet } from './policy-engine.ts';
import { bundledCountryJurisdictions } from './policy-set.ts';

export interface PolicyStageInput {
  partner: PartnerProfile;
  opened: OpenedInstruction;
  route: CorridorRoute;
  residencyExceptions: readonly ResidencyException[];
  tls: TlsObservation;
  nowMs: number;
}

/** The allow decision to record with the admission. */
export type PolicyAdmission = PolicyDecisionInput;

const cedarTlsVersions: Record<string, string> = { 'TLSv1.3': '1.3', 'TLSv1.2': '1.2', 'TLSv1.1': '1.1', TLSv1: '1.0' };

export async function decidePaymentPolicy(env: Env, input: PolicyStageInput): Promise<Result<PolicyAdmission, PaymentRefusal>> {
  const facts = paymentFacts(input);
  const built = policyRequest(facts);
  const { digest } = policySet();
  const record = (decision: 'allow' | 'deny', ids: string[], slug: string | null): PolicyDecisionInput => ({
    partner_id: input.partner.partner_id,
    uetr: input.opened.instruction.uetr,
    instruction_sha256: input.opened.instructionSha256,
    decision,
    determining_policy_ids: ids,
    slug,
    facts: recordedFacts(facts, input),
    policy_set_digest: digest,
  });
  if (!built.ok) {
    // Facts Cedar cannot carry: refused before it runs, and recorded with no determining policy.
    const refusal = requestRefusal(built.reason, input);
    await recordRefusal(env, input.partner, record('deny', [], refusalProblem(refusal).slug));
    return err(refusal);
  }
  const answer = authorizePayment(built.value);
  const ids = answer.kind === 'decided' ? answer.determiningPolicyIds : [];
  const read = answer.kind === 'failed'
    ? err({ kind: 'policy-engine-failed' as const, errors: answer.errors })
    : policyRefusal({ decision: answer.decision, determining_policy_ids: answer.determiningPolicyIds, error_count: answer.errorCount });
  if (!read.ok) {
    console.error(JSON.stringify({ event: 'policy-decision-untrusted', partner_id: input.partner.partner_id, uetr: input.opened.instruction.uetr, reason: read.reason, errors: answer.errors }));
    await recordRefusal(env, input.partner, record('deny', ids, 'unavailable'));
    return err({ kind: 'policy-untrusted', reason: read.reason.kind });
  }
  if (read.value === null) return ok(record('allow', ids, null));
  await recordRefusal(env, input.partner, record('deny', ids, read.value));
  return err(policyDenied(read.value, ids, facts, input));
}

function paymentFacts({ partner, opened, route, residencyExceptions, tls, nowMs }: PolicyStageInput): PolicyPaymentFacts {
  const { instruction } = opened;
  const nowS = Math.floor(nowMs / 1000);
  return {
    partner: { partner_id: partner.partner_id, jurisdiction: partner.jurisdiction, bic: partner.bic, tls_min: partner.tls_min },
    corridor: {
      id: route.config.id,
      state: route.config.state,
      source_currency: route.config.source_currency,
      payment_amount_max_minor: paymentAmountMaxMinor(route.config),
      allow_on_us: route.config.allow_on_us ?? false,
      holidays: route.config.holidays ?? [],
    },
    jurisdiction: partner.jurisdiction,
    debtor_country: instruction.debtor.country,
    amount_minor: opened.amountMinor,
    tls_version: cedarTlsVersion(tls),
    tls_exceptions: (partner.tls_exceptions ?? [])
      .filter((exception) => exception.owner.trim() !== '' && exception.reason.trim() !== '')
      .map((exception) => ({ expires_at_s: Math.floor(Date.parse(exception.expires_at) / 1000) })),
    // An exception lapses at the start of the second it expires in: never later than stored.
    residency_exceptions: residencyExceptions.map((exception) => ({ ...exception, expires_at_s: Math.floor(exception.expires_at_ms / 1000) })),
    country_jurisdictions: bundledCountryJurisdictions,
    instruction: {
      settlement_date: instruction.settlement_date,
      instructed_at_s: Math.floor(Date.parse(instruction.instructed_at) / 1000),
      debtor_agent_bic: instruction.debtor_agent.bic,
      creditor_agent_bic: instruction.creditor_agent.bic,
    },
    instruction_limits: { clock_skew_s: createdSkewMaxMs / 1000, instructed_at_age_max_s: instructedAtAgeMaxS, settlement_date_horizon_days: settlementDateHorizonDays },
    now_s: nowS,
  };
}

/**
 * The TLS version Cedar sees. An unobserved connection exists only under MERIDIAN_POSTURE=local-dev
 * (plain http, no Cloudflare in front: tls-posture.ts); it is passed as "1.3", and the decision
 * record says `tls_observed: false`. Production never reaches here unobserved.
 */
function cedarTlsVersion(tls: TlsObservation): string {
  if (tls.kind === 'unobserved') return '1.3';
  return cedarTlsVersions[tls.version] ?? 'none';
}

function recordedFacts(facts: PolicyPaymentFacts, input: PolicyStageInput): Record<string, JsonValue> {
  const residency = input.residencyExceptions.find((exception) => exception.debtor_country === facts.debtor_country);
  return {
    jurisdiction: facts.jurisdiction,
    debtor_country: facts.debtor_country,
    debtor_country_jurisdiction: facts.country_jurisdictions.get(facts.debtor_country) ?? null,
    corridor: facts.corridor.id,
    corridor_state: facts.corridor.state,
    amount_minor: facts.amount_minor.toString(),
    currency: facts.corridor.source_currency,
    payment_amount_max_minor: facts.corridor.payment_amount_max_minor.toString(),
    tls_version: facts.tls_version,
    tls_observed: input.tls.kind === 'observed',
    settlement_date: facts.instruction.settlement_date,
    instructed_at: input.opened.instruction.instructed_at,
    debtor_agent_bic: facts.instruction.debtor_agent_bic,
    creditor_agent_bic: facts.instruction.creditor_agent_bic,
    residency_exception: residency === undefined ? null : { change_id: residency.change_id, owner: residency.owner, expires_at: new Date(residency.expires_at_ms).toISOString() },
    now: new Date(facts.now_s * 1000).toISOString(),
  };
}

function policyDenied(slug: PolicyRefusalSlug, ids: string[], facts: PolicyPaymentFacts, input: PolicyStageInput): PaymentRefusal {
  const { instruction } = input.opened;
  switch (slug) {
    case 'invalid-instruction':
      return { kind: 'instruction-rule', rules: instructionRules(ids), policyIds: ids, settlementDate: instruction.settlement_date, instructedAt: instruction.instructed_at };
    case 'residency-denied':
      return { kind: 'residency-denied', partnerId: facts.partner.partner_id, jurisdiction: facts.jurisdiction, debtorCountry: facts.debtor_country, policyIds: ids };
    case 'limit-exceeded':
      return { kind: 'amount-above-max', corridor: facts.corridor.id, amountMax: input.route.config.payment_amount_max, currency: facts.corridor.source_currency, policyIds: ids };
    case 'corridor-closed':
      return { kind: 'corridor-not-open', corridor: facts.corridor.id, state: facts.corridor.state };
    case 'downgrade-detected':
      return { kind: 'tls-policy-denied', tlsVersion: facts.tls_version, policyIds: ids };
  }
}

/** Facts Cedar cannot carry are refused before it runs; the schema already vouched for the rest. */
function requestRefusal(reason: PolicyRequestError, input: PolicyStageInput): PaymentRefusal {
  switch (reason.kind) {
    case 'amount-out-of-range':
      // Above 2^53 - 1 minor units: above every corridor's payment_amount_max, which corridorFile caps there.
      return { kind: 'amount-above-max', corridor: input.route.config.id, amountMax: input.route.config.payment_amount_max, currency: input.route.config.source_currency, policyIds: [] };
    case 'invalid-debtor-country':
      return { kind: 'invalid-instruction', issues: [`debtor.country: ${reason.debtor_country} is not an ISO 3166-1 alpha-2 code`] };
    case 'invalid-settlement-date':
      return { kind: 'invalid-instruction', issues: [`settlement_date: ${reason.settlement_date} is not a calendar date`] };
    case 'instructed-at-out-of-range':
      return { kind: 'invalid-instruction', issues: ['instructed_at: not a representable time'] };
  }
}

async function recordRefusal(env: Env, partner: PartnerProfile, decision: PolicyDecisionInput): Promise<void> {
  await partnerStateOf(env, partner).recordPolicyDecision(decision);
}
