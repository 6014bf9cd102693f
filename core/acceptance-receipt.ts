/**
 * The acceptance receipt: the gateway's signed statement that it accepted a partner's instruction
 * (identified by the SHA-256 of the exact JWS bytes) into a netting window, or that it admitted it
 * `held` by sanctions screening (then `window` is null: a held payment is in no window until an
 * operator releases it). Either way the gateway is committed to the instruction and will not drop
 * it. Verifiable with the JWKS at /.well-known/jwks.json.
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

/** An EdDSA compact JWS with header {alg: EdDSA, kid, typ: meridian-acceptance+jws}: the bytes jose's CompactSign wrote before. */
export async function signAcceptanceReceipt(key: GatewayKey, claims: AcceptanceReceiptClaims): Promise<string> {
  return signEdDsaCompactJws(key.privateKey, { kid: key.kid, typ: acceptanceReceiptType }, utf8(JSON.stringify(claims)));
}
