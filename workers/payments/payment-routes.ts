/**
 * POST /v1/payments and GET /v1/payments/{uetr}. The pipeline reads top to bottom:
 * media type → body limit → message signature + digest + nonce → instruction JWS → schema →
 * corridor and residency → idempotent admission into the corridor window → 202 + signed receipt.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { sha256Hex } from '../../core/digest.ts';
import { parsePaymentInstruction } from '../../core/instruction.ts';
import { checkPaymentLegs } from '../../core/payment-legs.ts';
import { ProblemError } from '../../core/problem.ts';
import type { Env } from '../env.ts';
import { verifyMessageSignature, type SignedRequestVariables } from '../message-signature/verify-message-signature.ts';
import { routePayment } from './corridor-routing.ts';
import { jwsBytesMax, verifyInstructionJws } from './instruction-jws.ts';

export const paymentBodyBytesMax = 64 * 1024;
const uetrPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type PaymentsApp = { Bindings: Env; Variables: SignedRequestVariables };

export function paymentRoutes(): Hono<PaymentsApp> {
  const payments = new Hono<PaymentsApp>();

  payments.post(
    '/',
    requireMediaType('application/jose'),
    bodyLimit({ maxSize: paymentBodyBytesMax, onError: () => { throw new ProblemError('payload-too-large', `body exceeds ${paymentBodyBytesMax} bytes`); } }),
    verifyMessageSignature(),
    async (c) => {
      const partner = c.var.partner;
      const jws = new TextDecoder().decode(c.var.body).trim();
      if (jws.length > jwsBytesMax) throw new ProblemError('payload-too-large', `the instruction JWS exceeds ${jwsBytesMax} bytes`);
      const parsed = parsePaymentInstruction(await verifyInstructionJws(jws, partner));
      if (!parsed.ok) throw new ProblemError('invalid-instruction', parsed.reason.issues.join('; '), { issues: parsed.reason.issues });
      const { instruction, amountMinor, corridor } = parsed.value;
      if (instruction.debtor_agent.bic !== partner.bic) {
        throw new ProblemError('invalid-instruction', `debtor_agent.bic must be the submitting partner's BIC ${partner.bic}`);
      }
      const route = await routePayment(c.env, partner, corridor, instruction.uetr);
      const payment = {
        uetr: instruction.uetr,
        partner_id: partner.partner_id,
        amount_minor: amountMinor.toString(),
        source_currency: instruction.amount.currency,
        target_currency: instruction.target_currency,
        debtor_agent_bic: instruction.debtor_agent.bic,
        creditor_agent_bic: instruction.creditor_agent.bic,
      };
      // Partner input decides whether an FX payout is at least one minor unit: refuse it here, not at window close.
      const legs = checkPaymentLegs({ ...payment, amount_minor: amountMinor }, {
        fx_provider: route.corridor.fx_provider,
        fx_rate_scaled: route.corridor.fx_rate_scaled === null ? null : BigInt(route.corridor.fx_rate_scaled),
        fx_rate_scale: route.corridor.fx_rate_scale,
      });
      if (!legs.ok) throw new ProblemError('invalid-instruction', legs.reason.detail);
      const partnerState = c.env.PARTNER_STATE.get(c.env.PARTNER_STATE.idFromName(partner.partner_id));
      const admission = await partnerState.admit({
        partnerId: partner.partner_id,
        uetr: instruction.uetr,
        instructionSha256: sha256Hex(jws),
        jws,
        corridor,
        jurisdiction: partner.jurisdiction,
        windowName: route.windowName,
        corridorConfig: route.corridor,
        payment,
      });
      if (admission.kind === 'uetr-mismatch') {
        throw new ProblemError('duplicate-uetr-mismatch', `UETR ${instruction.uetr} was already used for a different instruction`);
      }
      return c.json(admission.answer, 202);
    },
  );

  payments.get('/:uetr', verifyMessageSignature(), async (c) => {
    const uetr = c.req.param('uetr');
    if (!uetrPattern.test(uetr)) throw new ProblemError('not-found', 'no such payment');
    const partnerState = c.env.PARTNER_STATE.get(c.env.PARTNER_STATE.idFromName(c.var.partner.partner_id));
    const payment = await partnerState.getPayment(uetr);
    // Owner only: another partner's UETR is simply not in this partner's state, so it is a 404, not a 403.
    if (payment === null) throw new ProblemError('not-found', 'no such payment');
    return c.json(payment);
  });

  return payments;
}

function requireMediaType(mediaType: string) {
  return async (c: { req: { header(name: string): string | undefined } }, next: () => Promise<void>) => {
    const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== mediaType) throw new ProblemError('unsupported-media-type', `Content-Type must be ${mediaType}`);
    await next();
  };
}
