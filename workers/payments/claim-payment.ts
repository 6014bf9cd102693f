/**
 * openAndClaim() and claimStatusRead(): the nonce claim of a payment request, made in the object
 * that holds the payment (durable-objects/partner-state/partner-shards.ts), folded into the first
 * call that object gets anyway — the prior answer for a submission, the record for a status read.
 * verifyMessageSignature({ deferNonceClaim: true }) leaves the claim to these.
 *
 * They run before enforceTransportPosture() and every other refusal, so that every request whose
 * signature verified has claimed its nonce before it can be refused on anything outside the signed
 * bytes (TLS, limits, corridor state): a captured request refused once cannot be replayed later,
 * over a better connection, into an admission. Where it is claimed depends on signed bytes only: the
 * UETR of the instruction when it opens, the home object when it does not (an instruction that does
 * not open today does not open on replay either: the same bytes meet the same checks, and session
 * tickets only ever expire).
 */
import { createMiddleware } from 'hono/factory';
import { ProblemError } from '../../core/problem.ts';
import { partnerStateForPayment, partnerStateHome } from '../../durable-objects/partner-state/partner-shards.ts';
import type { PriorAnswer, RequestClaim } from '../../durable-objects/partner-state/partner-state.ts';
import type { Env } from '../env.ts';
import { profileAfterClaim, type SignedRequestVariables } from '../message-signature/verify-message-signature.ts';
import { openInstruction, type OpenedInstruction } from './open-instruction.ts';
import { refusalProblem } from './payment-refusal.ts';

export interface ClaimedPaymentVariables extends SignedRequestVariables {
  opened: OpenedInstruction;
  prior: PriorAnswer;
}

export const uetrPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type PaymentRecordOf = Extract<Awaited<ReturnType<ReturnType<typeof partnerStateForPayment>['claimAndGetPayment']>>, { kind: 'claimed' }>['payment'];

export function openAndClaim() {
  return createMiddleware<{ Bindings: Env; Variables: ClaimedPaymentVariables }>(async (c, next) => {
    const claim = deferredClaim(c.var.requestClaim);
    const listed = c.var.partner;
    const mediaType = mediaTypeOf(c.req.header('content-type'));
    let opened = await openInstruction(c, mediaType);
    if (!opened.ok) {
      // Not a payment this request can name: claimed at home, where its replay will be claimed too.
      profileAfterClaim(listed, claim.claims, await partnerStateHome(c.env, listed.jurisdiction, listed.partner_id).claimRequest(claim));
      throw refusalProblem(opened.reason);
    }
    const { uetr } = opened.value.instruction;
    const answer = await partnerStateForPayment(c.env, listed.jurisdiction, listed.partner_id, uetr).claimAndPriorAnswer({ claim, uetr, instructionSha256: opened.value.instructionSha256 });
    const partner = profileAfterClaim(listed, claim.claims, answer.kind === 'refused' ? answer.outcome : { kind: 'claimed', revokedProfileKeyids: answer.revokedProfileKeyids });
    if (answer.kind === 'refused') throw new Error('profileAfterClaim returned for a refused claim');
    if (partner !== listed) {
      // A key the isolate's directory still lists was revoked: the instruction must verify without it (rare: within the directory's cache period).
      c.set('partner', partner);
      opened = await openInstruction(c, mediaType);
      if (!opened.ok) throw refusalProblem(opened.reason);
    }
    c.set('opened', opened.value);
    c.set('prior', answer.prior);
    await next();
  });
}

/** GET /v1/payments/{uetr}: claimed with the read of the record, in the payment's object; a malformed UETR names no payment and is claimed at home. */
export function claimStatusRead() {
  return createMiddleware<{ Bindings: Env; Variables: SignedRequestVariables & { payment: PaymentRecordOf } }>(async (c, next) => {
    const claim = deferredClaim(c.var.requestClaim);
    const listed = c.var.partner;
    const uetr = c.req.param('uetr') ?? '';
    if (!uetrPattern.test(uetr)) {
      profileAfterClaim(listed, claim.claims, await partnerStateHome(c.env, listed.jurisdiction, listed.partner_id).claimRequest(claim));
      throw new ProblemError('not-found', 'no such payment');
    }
    const answer = await partnerStateForPayment(c.env, listed.jurisdiction, listed.partner_id, uetr).claimAndGetPayment({ claim, uetr });
    c.set('partner', profileAfterClaim(listed, claim.claims, answer.kind === 'refused' ? answer.outcome : { kind: 'claimed', revokedProfileKeyids: answer.revokedProfileKeyids }));
    if (answer.kind === 'refused') throw new Error('profileAfterClaim returned for a refused claim');
    c.set('payment', answer.payment);
    await next();
  });
}

function deferredClaim(claim: RequestClaim | undefined): RequestClaim {
  // Programmer error: these run only behind verifyMessageSignature({ deferNonceClaim: true }).
  if (claim === undefined) throw new Error('the nonce claim was not deferred to this route');
  return claim;
}

export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
