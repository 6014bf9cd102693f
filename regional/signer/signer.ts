/**
 * The one signing interface of the regional backend. Two implementations: the local software
 * signer (./local-signer.ts, the default for dev and tests) and AWS KMS with non-exportable keys
 * (a later issue; see ./create-signer.ts). Callers hold only this interface: they never see key
 * material, so swapping in KMS changes no caller.
 */

/** JOSE algorithm names. KMS adds 'ES256' (ECDSA P-256) and 'ML-DSA-65' with its issue. */
export type SignerAlgorithm = 'EdDSA';

export interface Signer {
  /** Key id as published in GET /v1/keys and used as the JWS `kid`. */
  readonly kid: string;
  readonly alg: SignerAlgorithm;
  /** Raw public key bytes (32 bytes for Ed25519). */
  readonly publicKey: Uint8Array;
  readonly createdAt: Date;
  /** Signs `bytes` as-is (for EdDSA, the message itself, not a pre-hash). */
  sign(bytes: Uint8Array): Promise<Uint8Array>;
}

/** Keys older than this are reported `rotation_overdue` (DESIGN: 90 days). */
export const keyRotationAgeDaysMax = 90;
const dayMs = 24 * 60 * 60 * 1000;

export function isRotationOverdue(createdAt: Date, now: Date): boolean {
  return now.getTime() - createdAt.getTime() > keyRotationAgeDaysMax * dayMs;
}
