/**
 * Ed25519 for the offline verifier on node:crypto (OpenSSL), synchronously.
 *
 * Why not the shared verifiers: core/dsse.ts and regional/signer/verify-signature.ts verify with
 * @noble/curves (pure JS, portable to workerd) at ~5-8 ms a signature on this machine, and the
 * partner and acceptance-receipt JWSs went through jose on WebCrypto, whose every call is a
 * threadpool round trip (~0.3 ms). An hour's bundle holds ~3,600 leaf and receipt signatures and
 * ~360,000 JWSs: 53 s of the 10-minute bundle's verify was mostly these. node:crypto's one-shot
 * `verify(null, …)` is ~60 µs and the CLI runs on Node only. The result is the same RFC 8032
 * verification (OpenSSL rejects a non-canonical S like noble's strict mode); only the engine differs.
 *
 * The compact JWS check keeps what jose checked and what the edge refuses outright
 * (workers/payments/instruction-jws.ts): three strict base64url segments, a JSON-object protected
 * header naming alg EdDSA and a kid, no `crit` and no `b64` (we implement no JWS extension).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { base64urlEncode } from '../../core/digest.ts';
import type { DsseVerifier } from '../../core/dsse.ts';
import { ed25519SignatureBytes } from '../../core/ed25519.ts';
import { jwsSigningInput } from '../../core/hybrid-jws.ts';

const ed25519PublicKeyBytes = 32;

/** The key object of a raw 32-byte Ed25519 public key (throws on another length or a bad point encoding). */
export function ed25519KeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== ed25519PublicKeyBytes) throw new Error(`an Ed25519 public key is ${ed25519PublicKeyBytes} bytes, not ${publicKey.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(publicKey) }, format: 'jwk' });
}

/** False for any signature that is not 64 bytes or does not verify; never throws. */
export function verifyEd25519Native(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ed25519SignatureBytes) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** A DSSE verifier (core/dsse.ts's interface) for an Ed25519 key, verifying natively. */
export function nativeEd25519DsseVerifier(keyid: string, publicKey: Uint8Array): DsseVerifier {
  const key = ed25519KeyObject(publicKey);
  return { keyid, verify: async (encoded, signature) => verifyEd25519Native(key, encoded, signature) };
}

const base64urlSymbols = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url (RFC 4648 §5, unpadded, zero trailing bits), as core/digest.ts base64urlDecode
 * but on Buffer's native decoder (the pure-JS one was ~4% of an instruction check): Buffer skips
 * what it cannot read, so the symbols are checked first and the bytes must re-encode to the text.
 */
export function strictBase64urlDecode(text: string): Uint8Array {
  if (text.length % 4 === 1 || !base64urlSymbols.test(text)) throw new Error('base64url: invalid character or impossible length');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new Error('base64url: non-zero trailing bits');
  return bytes;
}

export type CompactJwsVerdict = { ok: true; header: Record<string, unknown>; payload: Uint8Array } | { ok: false; detail: string };

/**
 * Verifies an EdDSA compact JWS under the key `keyFor` returns for its protected header's kid
 * (undefined: no such key). Returns the decoded payload; the caller checks what it claims.
 */
export function verifyEdDsaCompactJws(jws: string, keyFor: (kid: string) => KeyObject | undefined): CompactJwsVerdict {
  const segments = jws.split('.');
  if (segments.length !== 3) return { ok: false, detail: 'not a compact JWS (three segments)' };
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  let header: unknown;
  let payload: Uint8Array;
  let signature: Uint8Array;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(strictBase64urlDecode(headerSegment)));
    payload = strictBase64urlDecode(payloadSegment);
    signature = strictBase64urlDecode(signatureSegment);
  } catch {
    return { ok: false, detail: 'a segment is not base64url, or the protected header is not JSON' };
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return { ok: false, detail: 'the protected header is not a JSON object' };
  const fields = header as Record<string, unknown>;
  if (fields.alg !== 'EdDSA') return { ok: false, detail: `alg ${JSON.stringify(fields.alg)} is not EdDSA` };
  if (Object.hasOwn(fields, 'crit') || Object.hasOwn(fields, 'b64')) return { ok: false, detail: 'crit and b64 are not supported' };
  if (typeof fields.kid !== 'string') return { ok: false, detail: 'the protected header names no kid' };
  const key = keyFor(fields.kid);
  if (key === undefined) return { ok: false, detail: `no key ${fields.kid.slice(0, 80)}` };
  if (!verifyEd25519Native(key, jwsSigningInput(headerSegment, payloadSegment), signature)) return { ok: false, detail: 'signature verification failed' };
  return { ok: true, header: fields, payload };
}
