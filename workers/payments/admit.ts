/**
 * Stages `priorAnswer` and `admit`, both in the PartnerState shard that holds the payment
 * (durable-objects/partner-state/partner-shards.ts); the prior answer arrives with the request's
 * nonce claim (claim-payment.ts), so a new admission costs that object two calls, a repeat one.
 *
 * `priorAnswer` runs before routing and every limit: a repeat of an admitted UETR with the same
 * instruction gets its original answer whatever has changed since (corridor state, limits,
 * policies), and nothing is charged twice. `admit` places a new payment exactly once into the
 * shard routing chose; PartnerState persists that choice before the enqueue, so a retry of a
 * partial admission finishes at the same shard. The answer carries the acceptance receipt, which
 * this Worker signs (the `receipt` stage, sign-receipt.ts) from the record PartnerState stored once
 * the window placed the payment, or at once, with status `held`, when screening held it.
 */
import type { WindowPayment } from '../../core/corridor-window-contract.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { PaymentAnswer, PolicyDecisionInput, PriorAnswer, ResidencyException, StoredAnswer } from '../../durable-objects/partner-state/partner-state.ts';
import { partnerStateForPayment, partnerStateHome } from '../../durable-objects/partner-state/partner-shards.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';
import type { OpenedInstruction } from './open-instruction.ts';
import type { PaymentRefusal } from './payment-refusal.ts';
import type { CorridorRoute } from './route-to-corridor.ts';
import type { ScreeningEvidence } from './screening-evidence.ts';
import { signedAnswer } from './sign-receipt.ts';

/** `none`: no admission exists for this UETR, so the new-admission stages run (the policy stage reads the partner's unexpired residency exceptions). */
export type Prior = { kind: 'none'; residencyExceptions: ResidencyException[] } | { kind: 'answered'; answer: StoredAnswer };

/**
 * The partner's home PartnerState: policy refusals are recorded there (decide-payment-policy.ts);
 * everything about an admitted payment lives in its own shard (`paymentStateOf`).
 */
export function partnerStateOf(env: Env, partner: PartnerProfile) {
  return partnerStateHome(env, partner.jurisdiction, partner.partner_id);
}

/** The object that holds one payment of the partner: its claim, prior answer and admission all go there. */
export function paymentStateOf(env: Env, partner: PartnerProfile, uetr: string) {
  return partnerStateForPayment(env, partner.jurisdiction, partner.partner_id, uetr);
}

/** The prior answer that came with the request's nonce claim (claim-payment.ts), as the pipeline's `priorAnswer` stage. */
export function priorAnswer(prior: PriorAnswer, uetr: string): Result<Prior, PaymentRefusal> {
  switch (prior.kind) {
    case 'none':
      return ok({ kind: 'none', residencyExceptions: prior.residencyExceptions });
    case 'answered':
      return ok({ kind: 'answered', answer: prior.answer });
    case 'uetr-mismatch':
      return err({ kind: 'uetr-mismatch', uetr });
    case 'unsettleable':
      return err({ kind: 'unsettleable', reason: prior.reason });
  }
}

/**
 * `policyDecision`: the policy stage's allow; `screening`: the screening stage's result (and its
 * hold, when it held the payment). Both are written with the payment row, once. A held payment is
 * admitted `held` and enqueued nowhere: `route` is not used for it, a release routes afresh.
 */
/** `trace`: the edge span's traceparent, carried into PartnerState and the window (workers/observability/). `repeat`: a concurrent submission of the same UETR admitted it first. */
export async function admit(
  env: Env, partner: PartnerProfile, opened: OpenedInstruction, route: CorridorRoute, policyDecision: PolicyDecisionInput, screening: ScreeningEvidence, trace?: string,
): Promise<Result<{ answer: PaymentAnswer; repeat: boolean }, PaymentRefusal>> {
  const { instruction } = opened;
  const payment: WindowPayment = {
    uetr: instruction.uetr,
    partner_id: partner.partner_id,
    instructing_agent: partner.bic,
    amount_minor: opened.amountMinor.toString(),
    source_currency: instruction.amount.currency,
    target_currency: instruction.target_currency,
    debtor_agent_bic: instruction.debtor_agent.bic,
    creditor_agent_bic: instruction.creditor_agent.bic,
    debtor_country: instruction.debtor.country,
    residency_exception: residencyExceptionOf(policyDecision),
  };
  const admission = await paymentStateOf(env, partner, instruction.uetr).admit({
    partnerId: partner.partner_id,
    uetr: instruction.uetr,
    instructionSha256: opened.instructionSha256,
    jws: opened.jws,
    corridor: opened.corridor,
    jurisdiction: partner.jurisdiction,
    windowName: route.windowName,
    corridorConfig: route.corridor,
    payment,
    policyDecision,
    screening: screening.screening,
    ...(screening.hold === undefined ? {} : { hold: screening.hold }),
    ...(trace === undefined ? {} : { trace }),
  });
  switch (admission.kind) {
    case 'accepted':
      return ok({ answer: await signedAnswer(env, admission.answer), repeat: admission.repeat });
    case 'uetr-mismatch':
      return err({ kind: 'uetr-mismatch', uetr: instruction.uetr });
    case 'unsettleable':
      return err({ kind: 'unsettleable', reason: admission.reason });
  }
}

/**
 * The residency exception the policy stage admitted this payment under (its facts record it,
 * decide-payment-policy.ts), carried onto the legs so the regional backend's residency re-check
 * accepts a debtor country of another jurisdiction. Only when the country is not the window's own.
 */
function residencyExceptionOf(decision: PolicyDecisionInput): string | null {
  const { residency_exception: exception, debtor_country_jurisdiction: countryJurisdiction, jurisdiction } = decision.facts;
  if (countryJurisdiction === jurisdiction || typeof exception !== 'object' || exception === null || Array.isArray(exception)) return null;
  return typeof exception.change_id === 'string' ? exception.change_id : null;
}
