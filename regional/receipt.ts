/**
 * Settlement receipts: a compact JWS (RFC 7515, alg EdDSA, kid = the signer's kid) whose payload is
 * the canonical JSON of SettlementReceiptClaims.
 *
 * jose's CompactSign wants the private key itself (a CryptoKey, KeyObject or JWK); it cannot sign
 * through a remote key such as AWS KMS. So the JWS is assembled here — signing input =
 * BASE64URL(protected header) '.' BASE64URL(payload) — and only those bytes go to signer.sign().
 * Before a receipt leaves, it is verified against the signer's public key: a signer that returns
 * a bad signature (a misconfigured KMS key, say) fails the commit instead of storing a receipt
 * nobody can verify.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalJson } from '../core/canonical-json.ts';
import { base64urlEncode, utf8 } from '../core/digest.ts';
import type { SettlementReceiptClaims } from '../core/settlement-batch.ts';
import type { Signer } from './signer/signer.ts';

export async function signSettlementReceipt(signer: Signer, claims: SettlementReceiptClaims): Promise<string> {
  const protectedHeader = { alg: signer.alg, kid: signer.kid };
  const signingInput = `${base64urlEncode(utf8(canonicalJson(protectedHeader)))}.${base64urlEncode(utf8(canonicalJson(claims)))}`;
  const signature = await signer.sign(utf8(signingInput));
  if (!signatureVerifies(signer, utf8(signingInput), signature)) {
    throw new Error(`signSettlementReceipt: signer ${signer.kid} produced a signature that does not verify (batch ${claims.batch_id})`);
  }
  return `${signingInput}.${base64urlEncode(signature)}`;
}

function signatureVerifies(signer: Signer, message: Uint8Array, signature: Uint8Array): boolean {
  switch (signer.alg) {
    case 'EdDSA':
      return ed25519.verify(signature, message, signer.publicKey);
  }
}
