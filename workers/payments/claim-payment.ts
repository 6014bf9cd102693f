/**
 * openAndClaim() and claimStatusRead(): the nonce claim of a payment request, made where each
 * (keyid, nonce) pair is claimed (its nonce shard, durable-objects/partner-state/partner-shards.ts)
 * and sent at the same time as the first call the payment's shard gets anyway — the prior answer
 * for a submission, the record for a status read — folded into that call when the two shards are
 * one. verifyMessageSignature({ deferNonceClaim: true }) leaves the claim to these.
 *
 * They run before enforceTransportPosture() and every other refusal, so that every request whose
 * signature verified has claimed its nonce before it can be refused on anything outside the signed
 * bytes (TLS, limits, corridor state): a captured request refused once cannot be replayed later,
 * over a better connection, into an admission. An instruction that does not open is refused after
 * its claim, as before. The prior answer read beside a claim that turns out refused is dropped; the
 * only thing that read can do is finish an earlier, verified admission left pending.
 */
import { createMiddleware } from 'hono/factory';
import { ProblemError } from '../../core/problem.ts';
import { homeShard, partnerStateShard, partnerStateShardOf, type PartnerStateStub } from '../../durable-objects/partner-state/partner-shards.ts';
import type { ClaimedPayment, ClaimedPrior, PaymentRecord, PriorAnswer, RequestClaim, RequestClaimOutcome } from '../../durable-objects/partner-state/partner-state.ts';
import type { PartnerProfile } from '../config/partners.ts';
import type { Env } from '../env.ts';
import { claimsByNonceShard, combinedClaimOutcome, profileAfterClaim, type SignedRequestVariables } from '../message-signature/verify-message-signature.ts';
import { openInstruction, type OpenedInstruction } from './open-instruction.ts';
import { refusalProblem } from './payment-refusal.ts';

export interface ClaimedPaymentVariables extends SignedRequestVariables {
  opened: OpenedInstruction;
  prior: PriorAnswer;
}

export const uetrPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function openAndClaim() {
  return createMiddleware<{ Bindings: Env; Variables: ClaimedPaymentVariables }>(async (c, next) => {
    const claim = deferredClaim(c.var.requestClaim);
    const listed = c.var.partner;
    const mediaType = mediaTypeOf(c.req.header('content-type'));
    let opened = await openInstruction(c, mediaType);
    if (!opened.ok) {
      await claimOnly(c.env, listed, claim);
      throw refusalProblem(opened.reason);
    }
    const { uetr } = opened.value.instruction;
    const { instructionSha256 } = opened.value;
    const { partner, answer: prior } = await claimBeside(
      c.env, listed, claim, partnerStateShardOf(uetr),
      async (stub, folded) => claimedValue((await stub.claimAndPriorAnswer({ claim: folded, uetr, instructionSha256 })) as ClaimedPrior, (claimed: Extract<ClaimedPrior, { kind: 'claimed' }>) => claimed.prior),
      (stub) => stub.priorAnswer(uetr, instructionSha256),
    );
    if (partner !== listed) {
      // A key the isolate's directory still lists was revoked: the instruction must verify without it (rare: within the directory's cache period).
      c.set('partner', partner);
      opened = await openInstruction(c, mediaType);
      if (!opened.ok) throw refusalProblem(opened.reason);
    }
    c.set('opened', opened.value);
    c.set('prior', prior as PriorAnswer);
    await next();
  });
}

/** GET /v1/payments/{uetr}: claimed beside (or with) the read of the record; a malformed UETR names no payment and reads nothing. */
export function claimStatusRead() {
  return createMiddleware<{ Bindings: Env; Variables: SignedRequestVariables & { payment: PaymentRecord | null } }>(async (c, next) => {
    const claim = deferredClaim(c.var.requestClaim);
    const listed = c.var.partner;
    const uetr = c.req.param('uetr') ?? '';
    if (!uetrPattern.test(uetr)) {
      await claimOnly(c.env, listed, claim);
      throw new ProblemError('not-found', 'no such payment');
    }
    const { partner, answer: payment } = await claimBeside(
      c.env, listed, claim, partnerStateShardOf(uetr),
      async (stub, folded) => claimedValue((await stub.claimAndGetPayment({ claim: folded, uetr })) as ClaimedPayment, (claimed: Extract<ClaimedPayment, { kind: 'claimed' }>) => claimed.payment),
      (stub) => stub.getPayment(uetr),
    );
    c.set('partner', partner);
    c.set('payment', payment as PaymentRecord | null);
    await next();
  });
}

type ShardClaim<T> = { outcome: RequestClaimOutcome; answer?: T };

/**
 * Claims a request that names no payment (an instruction that does not open, a malformed UETR):
 * every pair in its own nonce shard, the home shard's included, so its replay is refused too.
 */
async function claimOnly(env: Env, listed: PartnerProfile, claim: RequestClaim): Promise<void> {
  await claimBeside(env, listed, claim, homeShard, async (stub, folded) => ({ outcome: await stub.claimRequest(folded) }), async () => undefined);
}
const claimedNothing: RequestClaimOutcome = { kind: 'claimed', revokedProfileKeyids: [] };

/**
 * Claims the request's pairs, each group in its nonce shard, while `shard` answers `read`: folded
 * into one call (`withClaim`) for the group that shard claims itself, beside it (`alone`) when it
 * claims none. Refuses the request (the problem of `profileAfterClaim`) if any group is refused.
 */
async function claimBeside<T>(
  env: Env, listed: PartnerProfile, claim: RequestClaim, shard: number,
  withClaim: (stub: PartnerStateStub, folded: RequestClaim) => Promise<ShardClaim<T>>,
  alone: (stub: PartnerStateStub) => Promise<T>,
): Promise<{ partner: PartnerProfile; answer: T }> {
  const groups = claimsByNonceShard(claim.claims);
  const stub = partnerStateShard(env, listed.jurisdiction, listed.partner_id, shard);
  const folded = groups.get(shard);
  groups.delete(shard);
  const [first, ...others] = await Promise.all([
    folded === undefined ? alone(stub).then((answer): ShardClaim<T> => ({ outcome: claimedNothing, answer })) : withClaim(stub, { ...claim, claims: folded }),
    ...[...groups].map(([other, pairs]) => partnerStateShard(env, listed.jurisdiction, listed.partner_id, other).claimRequest({ ...claim, claims: pairs })),
  ]);
  const partner = profileAfterClaim(listed, claim.claims, combinedClaimOutcome([first.outcome, ...others]));
  return { partner, answer: first.answer as T };
}

function claimedValue<C extends { kind: 'claimed'; revokedProfileKeyids: string[] }, T>(answer: C | { kind: 'refused'; outcome: RequestClaimOutcome }, value: (claimed: C) => T): ShardClaim<T> {
  if (answer.kind === 'refused') return { outcome: (answer as { outcome: RequestClaimOutcome }).outcome };
  const claimed = answer as C;
  return { outcome: { kind: 'claimed', revokedProfileKeyids: claimed.revokedProfileKeyids }, answer: value(claimed) };
}

function deferredClaim(claim: RequestClaim | undefined): RequestClaim {
  // Programmer error: these run only behind verifyMessageSignature({ deferNonceClaim: true }).
  if (claim === undefined) throw new Error('the nonce claim was not deferred to this route');
  return claim;
}

export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
