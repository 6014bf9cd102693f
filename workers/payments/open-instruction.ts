/**
 * Stage `openInstruction`: the verified instruction out of a request whose message signature
 * already verified. Sealed or not (a `pq: required` partner must seal: an unsealed body is refused
 * and recorded as a downgrade), the seal opened under its session, the JWS verified with every
 * signature the partner's profile requires, the payload parsed against the pacs.008-derived schema,
 * and the debtor agent checked to be the submitting partner.
 *
 * Bodies (DESIGN.md "Bodies"): `application/jose` carries a compact JWS (three segments) or a
 * sealed compact JWE (five); `application/jose+json` carries the JWS JSON serialization.
 */
import { sha256Hex } from '../../core/digest.ts';
import { parsePaymentInstruction, type PaymentInstruction } from '../../core/instruction.ts';
import { isProblemError } from '../../core/problem.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { PartnerProfile } from '../config/partners.ts';
import { refuseWithSecurityEvent, type SignedRequestContext } from '../downgrade/security-events.ts';
import { isCompactJwe, openSealedInstruction } from '../sessions/sealed-body.ts';
import { jwsBytesMax, verifyInstructionJws, type InstructionJws } from './instruction-jws.ts';
import type { PaymentRefusal } from './payment-refusal.ts';

export interface OpenedInstruction {
  instruction: PaymentInstruction;
  amountMinor: bigint;
  corridor: string;
  /** The exact JWS text: the partner's non-repudiable commitment, kept as evidence. */
  jws: string;
  instructionSha256: string;
}

export async function openInstruction(c: SignedRequestContext & { var: { body: Uint8Array } }, mediaType: string): Promise<Result<OpenedInstruction, PaymentRefusal>> {
  const partner = c.var.partner;
  let jws: InstructionJws;
  let payload: unknown;
  try {
    const extracted = await instructionFromBody(c, mediaType);
    if (!extracted.ok) return extracted;
    jws = extracted.value;
    payload = await verifyInstructionJws(jws, partner);
  } catch (cause) {
    // The JWS and seal verifiers and the downgrade evidence still throw their problem; carried as a value from here.
    if (isProblemError(cause)) return err({ kind: 'verification-failed', problem: cause });
    throw cause;
  }
  const parsed = parsePaymentInstruction(payload);
  if (!parsed.ok) return err({ kind: 'invalid-instruction', issues: parsed.reason.issues });
  const { instruction, amountMinor, corridor } = parsed.value;
  if (instruction.debtor_agent.bic !== partner.bic) return err({ kind: 'debtor-agent-not-partner', partnerBic: partner.bic });
  return ok({ instruction, amountMinor, corridor, jws: jws.text, instructionSha256: sha256Hex(jws.text) });
}

async function instructionFromBody(c: SignedRequestContext & { var: { body: Uint8Array; partner: PartnerProfile } }, mediaType: string): Promise<Result<InstructionJws, PaymentRefusal>> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(c.var.body).trim();
  } catch {
    return err({ kind: 'instruction-not-utf8' });
  }
  const sealed = mediaType === 'application/jose' && isCompactJwe(text);
  if (!sealed && c.var.partner.pq === 'required') {
    await refuseWithSecurityEvent(c, 'pq-required-unsealed', 'pq-required', `partner ${c.var.partner.partner_id} must seal its instructions under a PQ session (POST /v1/sessions)`, {
      media_type: mediaType,
    });
  }
  if (sealed) text = await openSealedInstruction(c, text, Date.now());
  if (text.length > jwsBytesMax) return err({ kind: 'instruction-too-large', bytesMax: jwsBytesMax });
  // Inside a seal the plaintext says which serialization it is; outside, the media type does.
  const json = sealed ? text.startsWith('{') : mediaType === 'application/jose+json';
  return ok(json ? { form: 'json', text } : { form: 'compact', text });
}
