/**
 * POST /v1/payments and GET /v1/payments/{uetr}. The payment pipeline, in DESIGN.md's order:
 *
 *   verifyRequest    media type → body limit → message signature(s) + Content-Digest
 *                    → openInstruction → nonce claim + prior answer in the payment's PartnerState
 *                    shard, one call → TLS posture (downgrade)             [middlewares below]
 *   openInstruction  seal → instruction JWS → schema → debtor agent         open-instruction.ts
 *   priorAnswer      stored answer, mismatch, or a pending admission finished: short-circuit
 *                    (it came with the nonce claim, claim-payment.ts)
 *   routeToCorridor  corridor exists, open, serves the partner's jurisdiction; the shard
 *   policy           Cedar: residency, corridor, amount limits, TLS, business rules; the decision
 *                    recorded (refusals here, admissions inside admit)  workers/policy/
 *   screening        sanctions screening of debtor and creditor names; a possible match or a
 *                    provider outage admits the payment `held` (fail closed)  workers/screening/
 *   velocity         per-partner and cross-partner limits on Upstash; held payments count too
 *                    (they were accepted), a refusal is 429 / 503 with Retry-After  workers/velocity/
 *   admit            exactly once into the CorridorWindow shard, refused if it cannot settle at
 *                    that window's rate; a held payment is stored `held` and enqueued nowhere
 *   receipt          the gateway-signed acceptance receipt in the 202, signed here from the record
 *                    PartnerState stored (sign-receipt.ts), never inside the serialised object
 *
 * Each stage returns a Result; `refusalProblem` maps every refusal to the wire in one place. The
 * stages from routeToCorridor to admit run once per identical submission in flight in an isolate
 * (`coalesced`); concurrent copies share the answer.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ProblemError } from '../../core/problem.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { PaymentAnswer } from '../../durable-objects/partner-state/partner-state.ts';
import type { Env } from '../env.ts';
import { enforceTransportPosture, type TransportVariables } from '../downgrade/enforce-transport-posture.ts';
import { verifyMessageSignature } from '../message-signature/verify-message-signature.ts';
import { decidePaymentPolicy } from '../policy/decide-payment-policy.ts';
import { admit, paymentStateOf, priorAnswer, type Prior } from './admit.ts';
import { claimStatusRead, mediaTypeOf, openAndClaim, type ClaimedPaymentVariables } from './claim-payment.ts';
import type { OpenedInstruction } from './open-instruction.ts';
import { screenPayment } from '../screening/screen-payment.ts';
import { checkVelocity } from '../velocity/check-velocity.ts';
import type { VelocityRefusal } from '../velocity/velocity-problem.ts';
import { refusalProblem, type PaymentRefusal } from './payment-refusal.ts';
import { recordRouteRefusal, routeToCorridor } from './route-to-corridor.ts';
import { screeningEvidence } from './screening-evidence.ts';
import { signedAnswer } from './sign-receipt.ts';
import { recordAdmission } from '../observability/record-admission.ts';
import { traceparentOf } from '../observability/observe-requests.ts';

export const paymentBodyBytesMax = 64 * 1024;

type PaymentsApp = { Bindings: Env; Variables: TransportVariables & ClaimedPaymentVariables };
type PaymentsContext = Context<PaymentsApp>;

export const paymentMediaTypes = ['application/jose', 'application/jose+json'] as const;

export function paymentRoutes(): Hono<PaymentsApp> {
  const payments = new Hono<PaymentsApp>();

  payments.post(
    '/',
    requireMediaType(paymentMediaTypes),
    bodyLimit({ maxSize: paymentBodyBytesMax, onError: () => { throw new ProblemError('payload-too-large', `body exceeds ${paymentBodyBytesMax} bytes`); } }),
    verifyMessageSignature({ deferNonceClaim: true }),
    openAndClaim(),
    enforceTransportPosture(),
    submitPayment,
  );

  payments.get('/:uetr', verifyMessageSignature({ deferNonceClaim: true }), claimStatusRead(), enforceTransportPosture(), async (c) => {
    const payment = c.var.payment;
    // Owner only: another partner's UETR is simply not in this partner's state, so it is a 404, not a 403.
    if (payment === null) throw new ProblemError('not-found', 'no such payment');
    return c.json(payment);
  });

  return payments;
}

/** The stages after verifyRequest, top to bottom; the first refusal ends the request. */
async function submitPayment(c: PaymentsContext): Promise<Response> {
  const partner = c.var.partner;
  const opened = c.var.opened;
  const prior = priorAnswer(c.var.prior, opened.instruction.uetr);
  if (!prior.ok) throw refusalProblem(prior.reason);
  if (prior.value.kind === 'answered') return c.json(await signedAnswer(c.env, prior.value.answer), 202);
  const none = prior.value;
  const admitted = await coalesced(`${partner.partner_id}|${opened.instruction.uetr}|${opened.instructionSha256}`, () => admitNew(c, opened, none));
  if (!admitted.ok) throw refusalProblem(admitted.reason);
  recordAdmission(c, admitted.value);
  return c.json(admitted.value.answer, 202);
}

type Admitted = Result<{ answer: PaymentAnswer; repeat: boolean }, PaymentRefusal>;

/**
 * Identical submissions in flight in this isolate (a partner's client retrying on a timeout, a
 * burst of the same request) run the new-admission stages once and share the answer: one
 * screening, one velocity script, one admission. Across isolates PartnerState's own in-flight
 * dedup and velocity's per-UETR marker keep them exactly-once; this only spares the work.
 */
const admissionsInFlight = new Map<string, Promise<Admitted>>();

async function coalesced(key: string, run: () => Promise<Admitted>): Promise<Admitted> {
  const inflight = admissionsInFlight.get(key);
  if (inflight !== undefined) {
    const shared = await inflight;
    return shared.ok ? ok({ answer: shared.value.answer, repeat: true }) : shared;
  }
  const admission = run();
  admissionsInFlight.set(key, admission);
  try {
    return await admission;
  } finally {
    admissionsInFlight.delete(key);
  }
}

/** routeToCorridor → policy → screening → velocity → admit: only new admissions reach these (priorAnswer answered every repeat). */
async function admitNew(c: PaymentsContext, opened: OpenedInstruction, prior: Extract<Prior, { kind: 'none' }>): Promise<Admitted> {
  const partner = c.var.partner;
  const { instruction } = opened;
  const route = await routeToCorridor(c.env, partner, opened.corridor, instruction.uetr);
  if (!route.ok) {
    await recordRouteRefusal(c.env, partner, opened, route.reason);
    return route;
  }
  const policy = await decidePaymentPolicy(c.env, { partner, opened, route: route.value, residencyExceptions: prior.residencyExceptions, tls: c.var.tls, nowMs: Date.now() });
  if (!policy.ok) return policy;
  const screening = screeningEvidence(instruction.uetr, instruction, await screenPayment(c.env, instruction));
  const velocity = await checkVelocity(c.env, partner, {
    uetr: instruction.uetr, corridor: opened.corridor, amount_minor: opened.amountMinor, source_currency: instruction.amount.currency,
    debtor_account: instruction.debtor.account, creditor_account: instruction.creditor.account,
  });
  if (!velocity.ok) {
    // Screened but not admitted: the screening result is recorded on its own, in the payment's shard (a held name probed past a limit leaves its trace too).
    await paymentStateOf(c.env, partner, instruction.uetr).recordScreeningResult(screening.screening);
    return err(velocityRefusal(velocity.reason));
  }
  return admit(c.env, partner, opened, route.value, policy.value, screening, traceparentOf(c));
}

function velocityRefusal(refusal: VelocityRefusal): PaymentRefusal {
  switch (refusal.kind) {
    case 'limit-reached':
      return { kind: 'velocity-exceeded', refusal };
    case 'store-unavailable':
      return { kind: 'velocity-unavailable', refusal };
  }
}

function requireMediaType(mediaTypes: readonly string[]) {
  return async (c: { req: { header(name: string): string | undefined } }, next: () => Promise<void>) => {
    if (!mediaTypes.includes(mediaTypeOf(c.req.header('content-type')))) throw new ProblemError('unsupported-media-type', `Content-Type must be ${mediaTypes.join(' or ')}`);
    await next();
  };
}
