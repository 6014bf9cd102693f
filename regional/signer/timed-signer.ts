/**
 * A Signer that reports how long each `sign` took (and whether it failed) to a callback: the
 * signer latency histogram of ../metrics.ts. With KMS every commit holds its SERIALIZABLE
 * transaction open across two Sign calls (commit.ts), so a slow KMS shows up here before it shows
 * up as commit retries. Everything else passes through: callers still see only the interface.
 */
import type { Signer } from './signer.ts';

export type SignOutcome = 'ok' | 'error';

export function timedSigner(signer: Signer, observe: (seconds: number, outcome: SignOutcome, signer: Signer) => void): Signer {
  return {
    kid: signer.kid,
    alg: signer.alg,
    publicKey: signer.publicKey,
    createdAt: signer.createdAt,
    async sign(bytes) {
      const startedAtMs = performance.now();
      try {
        const signature = await signer.sign(bytes);
        observe((performance.now() - startedAtMs) / 1000, 'ok', signer);
        return signature;
      } catch (error) {
        observe((performance.now() - startedAtMs) / 1000, 'error', signer);
        throw error;
      }
    },
  };
}
