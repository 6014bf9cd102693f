import { createHash } from 'node:crypto';

/**
 * The settlement batch digest as the edge takes it when it seals: SHA-256 of the canonical JSON's
 * UTF-8 bytes, lowercase hex, through workerd's node:crypto (BoringSSL, nodejs_compat). Synchronous,
 * so the seal stays one uninterrupted step of the object (an await between reading the parts and
 * writing the sealed window would let a part arrive in between), at a fraction of core's pure-JS
 * hash's CPU for a 10,000-leg batch's ~2 MB. Same digest as core's (test/core/settlement-batch-shape.test.ts).
 */
export function batchDigestHex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
