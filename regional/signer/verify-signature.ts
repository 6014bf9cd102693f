/**
 * Verifies a JWS signature of each signer algorithm against the raw public key published at
 * GET /v1/keys. Used on the way out (a receipt whose signature does not verify is never stored)
 * and by anyone holding the published key. Never throws on malformed input: false.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { publicKeyBytes, signatureBytes } from './key-encodings.ts';
import type { SignerAlgorithm } from './signer.ts';

export function verifySignerSignature(alg: SignerAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== publicKeyBytes[alg] || signature.length !== signatureBytes[alg]) return false;
  try {
    switch (alg) {
      case 'EdDSA':
        return ed25519.verify(signature, message, publicKey);
      case 'ES256':
        // JWS ES256 accepts either S; KMS (like most HSMs) does not normalise to low S.
        return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: 'compact' });
      case 'ML-DSA-65':
        return ml_dsa65.verify(signature, message, publicKey);
    }
  } catch {
    return false;
  }
}
