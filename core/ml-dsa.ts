/**
 * ML-DSA-65 (FIPS 204), pure variant with an empty context string unless one is given, through
 * @noble/post-quantum: runs unchanged in workerd (whose WebCrypto has no ML-DSA) and Node.
 *
 * Verification never throws on hostile input: wrong lengths and malformed encodings are a `false`,
 * so a caller can map every failure to one slug.
 */
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';

export const mlDsa65PublicKeyBytes = 1952;
export const mlDsa65SignatureBytes = 3309;
export const mlDsa65SeedBytes = 32;

export function verifyMlDsa65(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context?: Uint8Array): boolean {
  if (publicKey.length !== mlDsa65PublicKeyBytes || signature.length !== mlDsa65SignatureBytes) return false;
  try {
    return ml_dsa65.verify(signature, message, publicKey, context === undefined ? undefined : { context });
  } catch {
    return false;
  }
}

export interface MlDsa65KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Expands the 32-byte FIPS 204 seed ξ into a key pair (what the dev fixtures store). */
export function mlDsa65KeyPairFromSeed(seed: Uint8Array): MlDsa65KeyPair {
  if (seed.length !== mlDsa65SeedBytes) throw new Error(`ML-DSA-65 seed must be ${mlDsa65SeedBytes} bytes, got ${seed.length}`);
  const { publicKey, secretKey } = ml_dsa65.keygen(seed);
  return { publicKey, secretKey };
}

/**
 * Deterministic signing (FIPS 204 §3.4 allows it): the same message always yields the same bytes, so
 * a partner that re-signs an instruction on retry sends a byte-identical JWS and gets the original
 * answer instead of `duplicate-uetr-mismatch`.
 */
export function signMlDsa65(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ml_dsa65.sign(message, secretKey, { extraEntropy: false });
}
