/**
 * The one signing interface of the regional backend. Two implementations: the local software
 * signer (./local-signer.ts, the default for dev and tests) and AWS KMS with non-exportable keys
 * (./kms-signer.ts). Callers hold only this interface: they never see key material, so swapping
 * in KMS changes no caller.
 */

/**
 * JOSE algorithm names (RFC 8037 EdDSA, RFC 7518 ES256, draft-ietf-cose-dilithium ML-DSA-65).
 * The receipt JWS `alg` and GET /v1/keys `alg` are this value; it follows the key.
 */
export type SignerAlgorithm = 'EdDSA' | 'ES256' | 'ML-DSA-65';

export interface Signer {
  /** Key id as published in GET /v1/keys and used as the JWS `kid`. */
  readonly kid: string;
  readonly alg: SignerAlgorithm;
  /**
   * Raw public key bytes, as published in GET /v1/keys: Ed25519 the 32-byte key (RFC 8032);
   * ES256 the 65-byte uncompressed SEC1 point 0x04 ‖ X ‖ Y; ML-DSA-65 the 1,952-byte FIPS 204
   * encoding. Never SPKI: an auditor gets the same shape whichever signer produced it.
   */
  readonly publicKey: Uint8Array;
  readonly createdAt: Date;
  /**
   * Signs `bytes` as-is (the message itself, never a caller-side pre-hash) and returns the JWS
   * signature encoding: EdDSA 64 bytes; ES256 64 bytes r ‖ s (RFC 7518 §3.4, not DER);
   * ML-DSA-65 3,309 bytes (pure ML-DSA, empty context).
   */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/** Keys older than this are reported `rotation_overdue` (DESIGN: 90 days). */
export const keyRotationAgeDaysMax = 90;
const dayMs = 24 * 60 * 60 * 1000;

export function isRotationOverdue(createdAt: Date, now: Date): boolean {
  return now.getTime() - createdAt.getTime() > keyRotationAgeDaysMax * dayMs;
}
