/**
 * The acceptance receipt: the gateway's signed statement that it accepted a partner's instruction
 * (identified by the SHA-256 of the exact JWS bytes) into a netting window, or that it admitted it
 * `held` by sanctions screening (then `window` is null: a held payment is in no window until an
 * operator releases it). Either way the gateway is committed to the instruction and will not drop
 * it. Verifiable with the JWKS at /.well-known/jwks.json.
 *
 * Where it is signed: PartnerState stores an admission's `AcceptanceRecord` (the claims without the
 * signature) and the edge Worker signs the receipt from it, outside the serialised object, once the
 * admission call has returned — and a Durable Object's answer leaves it only after the writes made
 * before it are durable (the output gate), so a receipt is only ever issued for an admission that is
 * stored. Ed25519 (RFC 8032) signatures are deterministic: the same record under the same key gives
 * the same receipt bytes, so a repeat of a UETR, a concurrent copy and the evidence export
 * (PartnerState.listInstructions) all show the one receipt the partner was first given.
 */
import { utf8 } from './digest.ts';
import { signEdDsaCompactJws } from './ed25519.ts';
import type { GatewayKey } from './gateway-key.ts';

export const acceptanceReceiptType = 'meridian-acceptance+jws';

export interface AcceptanceReceiptClaims {
  gateway: string;
  partner_id: string;
  uetr: string;
  instruction_sha256: string;
  status: 'accepted' | 'held';
  /** The netting window (batch id); null when held. */
  window: string | null;
  accepted_at: string;
}

/** An admission as PartnerState stores and returns it: every claim of its receipt but the gateway's id. */
export type AcceptanceRecord = Omit<AcceptanceReceiptClaims, 'gateway'>;

/** An EdDSA compact JWS with header {alg: EdDSA, kid, typ: meridian-acceptance+jws}: the bytes jose's CompactSign wrote before. */
export async function signAcceptanceReceipt(key: GatewayKey, claims: AcceptanceReceiptClaims): Promise<string> {
  return signEdDsaCompactJws(key.privateKey, { kid: key.kid, typ: acceptanceReceiptType }, utf8(JSON.stringify(claims)));
}

/** The receipt of a stored admission. The claims are rebuilt in their one order: the signed bytes depend on it. */
export function signAcceptanceRecord(key: GatewayKey, gateway: string, record: AcceptanceRecord): Promise<string> {
  return signAcceptanceReceipt(key, {
    gateway, partner_id: record.partner_id, uetr: record.uetr, instruction_sha256: record.instruction_sha256, status: record.status, window: record.window, accepted_at: record.accepted_at,
  });
}
