/**
 * The acceptance receipt: the gateway's signed statement that it accepted a partner's instruction
 * (identified by the SHA-256 of the exact JWS bytes) into a netting window. Verifiable with the
 * JWKS at /.well-known/jwks.json.
 */
import { CompactSign } from 'jose';
import type { GatewayKey } from './gateway-key.ts';

export const acceptanceReceiptType = 'meridian-acceptance+jws';

export interface AcceptanceReceiptClaims {
  gateway: string;
  partner_id: string;
  uetr: string;
  instruction_sha256: string;
  status: 'accepted' | 'held';
  window: string;
  accepted_at: string;
}

export async function signAcceptanceReceipt(key: GatewayKey, claims: AcceptanceReceiptClaims): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: acceptanceReceiptType })
    .sign(key.privateKey);
}
