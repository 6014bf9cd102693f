/**
 * Settlement receipts: a compact JWS (RFC 7515) whose payload is the canonical JSON of
 * SettlementReceiptClaims. `alg` follows the signer's key (EdDSA, ES256 or ML-DSA-65) and `kid`
 * is the signer's kid, as published at GET /v1/keys.
 *
 * jose's CompactSign wants the private key itself (a CryptoKey, KeyObject or JWK); it cannot sign
 * through a remote key such as AWS KMS. So the JWS is assembled here — signing input =
 * BASE64URL(protected header) '.' BASE64URL(payload) — and only those bytes go to signer.sign().
 * Before a receipt leaves, it is verified against the signer's public key: a signer that returns
 * a bad signature (a misconfigured KMS key, say) fails the commit instead of storing a receipt
 * nobody can verify.
 */
import { canonicalJson } from '../core/canonical-json.ts';
import { base64urlEncode, utf8 } from '../core/digest.ts';
import type { SettlementReceiptClaims } from '../core/settlement-batch.ts';
import type { Signer } from './signer/signer.ts';
import { verifySignerSignature } from './signer/verify-signature.ts';

export async function signSettlementReceipt(signer: Signer, claims: SettlementReceiptClaims): Promise<string> {
  const protectedHeader = { alg: signer.alg, kid: signer.kid };
  const signingInput = `${base64urlEncode(utf8(canonicalJson(protectedHeader)))}.${base64urlEncode(utf8(canonicalJson(claims)))}`;
  const signature = await signer.sign(utf8(signingInput));
  if (!verifySignerSignature(signer.alg, signer.publicKey, utf8(signingInput), signature)) {
    throw new Error(`signSettlementReceipt: signer ${signer.kid} (${signer.alg}) produced a signature that does not verify (batch ${claims.batch_id})`);
  }
  return `${signingInput}.${base64urlEncode(signature)}`;
}
