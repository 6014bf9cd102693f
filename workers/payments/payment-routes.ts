/**
 * POST /v1/payments and GET /v1/payments/{uetr}. The pipeline reads top to bottom:
 * media type → body limit → message signature(s) + digest + nonce → TLS posture (downgrade) →
 * sealed or not (pq-required partners must seal) → open the seal (session ticket + JWE) →
 * instruction JWS (EdDSA; + ML-DSA-65 for hybrid partners) → schema → corridor and residency →
 * idempotent admission into the corridor window → 202 + signed receipt.
 *
 * Bodies (DESIGN.md "Bodies"): `application/jose` carries a compact JWS (three segments) or a
 * sealed compact JWE (five); `application/jose+json` carries the JWS JSON serialization.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { sha256Hex } from '../../core/digest.ts';
import { parsePaymentInstruction } from '../../core/instruction.ts';
import { checkPaymentLegs } from '../../core/payment-legs.ts';
import { ProblemError } from '../../core/problem.ts';
import type { Env } from '../env.ts';
import { enforceTransportPosture, type TransportVariables } from '../downgrade/enforce-transport-posture.ts';
import { refuseWithSecurityEvent } from '../downgrade/security-events.ts';
import { verifyMessageSignature } from '../message-signature/verify-message-signature.ts';
import { isCompactJwe, openSealedInstruction } from '../sessions/sealed-body.ts';
import { routePayment } from './corridor-routing.ts';
import { jwsBytesMax, verifyInstructionJws, type InstructionJws } from './instruction-jws.ts';

export const paymentBodyBytesMax = 64 * 1024;
const uetrPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type PaymentsApp = { Bindings: Env; Variables: TransportVariables };
type PaymentsContext = Context<PaymentsApp>;

export const paymentMediaTypes = ['application/jose', 'application/jose+json'] as const;

export function paymentRoutes(): Hono<PaymentsApp> {
  const payments = new Hono<PaymentsApp>();

  payments.post(
    '/',
    requireMediaType(paymentMediaTypes),
    bodyLimit({ maxSize: paymentBodyBytesMax, onError: () => { throw new ProblemError('payload-too-large', `body exceeds ${paymentBodyBytesMax} bytes`); } }),
    verifyMessageSignature(),
    enforceTransportPosture(),
    async (c) => {
      const partner = c.var.partner;
      const instructionJws = await instructionFromBody(c);
      const jws = instructionJws.text;
      const parsed = parsePaymentInstruction(await verifyInstructionJws(instructionJws, partner));
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

  payments.get('/:uetr', verifyMessageSignature(), enforceTransportPosture(), async (c) => {
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

/**
 * The instruction JWS out of the body: sealed (compact JWE) or not. A partner whose profile says
 * `pq: required` must seal — an unsealed body from it is refused and recorded (downgrade case 2).
 */
async function instructionFromBody(c: PaymentsContext): Promise<InstructionJws> {
  const mediaType = mediaTypeOf(c.req.header('content-type'));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(c.var.body).trim();
  } catch {
    throw new ProblemError('invalid-instruction', 'body is not UTF-8');
  }
  const sealed = mediaType === 'application/jose' && isCompactJwe(text);
  if (!sealed && c.var.partner.pq === 'required') {
    await refuseWithSecurityEvent(c, 'pq-required-unsealed', 'pq-required', `partner ${c.var.partner.partner_id} must seal its instructions under a PQ session (POST /v1/sessions)`, {
      media_type: mediaType,
    });
  }
  if (sealed) text = await openSealedInstruction(c, text, Date.now());
  if (text.length > jwsBytesMax) throw new ProblemError('payload-too-large', `the instruction JWS exceeds ${jwsBytesMax} bytes`);
  // Inside a seal the plaintext says which serialization it is; outside, the media type does.
  const json = sealed ? text.startsWith('{') : mediaType === 'application/jose+json';
  return json ? { form: 'json', text } : { form: 'compact', text };
}

function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function requireMediaType(mediaTypes: readonly string[]) {
  return async (c: { req: { header(name: string): string | undefined } }, next: () => Promise<void>) => {
    if (!mediaTypes.includes(mediaTypeOf(c.req.header('content-type')))) throw new ProblemError('unsupported-media-type', `Content-Type must be ${mediaTypes.join(' or ')}`);
    await next();
  };
}
