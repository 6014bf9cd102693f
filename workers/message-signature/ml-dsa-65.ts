/**
 * ML-DSA-65 verification of a partner key, natively where the runtime has it:
 *
 *   Node ≥ 24.7 (OpenSSL 3.5)   node:crypto verify() over an SPKI ML-DSA-65 key
 *   workerd                     node:crypto (nodejs_compat) over BoringSSL: createPublicKey()
 *                               takes the SPKI and verify() checks it, although the key reports no
 *                               asymmetricKeyType and WebCrypto has no ML-DSA (tested 2026-12,
 *                               workerd 1.20261117); not documented by Cloudflare
 *   anything else               @noble/post-quantum (core/ml-dsa.ts), ~20× the CPU
 *
 * Because the workerd path is undocumented, a key's native verifier is trusted only once it has
 * agreed with @noble/post-quantum on a signature both accept: until then every verification runs
 * both and the answer is noble's. A disagreement turns the native path off for the isolate and is
 * logged. So native verification can make a verification cheaper, never more permissive than
 * FIPS 204 as @noble implements it.
 *
 * Both are pure ML-DSA with the empty context string, as the partner protocol signs.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mlDsa65PublicKeyBytes, mlDsa65SignatureBytes, verifyMlDsa65 } from '../../core/ml-dsa.ts';
import { mlDsaPublicKey, type MlDsa65PartnerKey } from '../config/partners.ts';

/** DER SubjectPublicKeyInfo header of an ML-DSA-65 key (OID 2.16.840.1.101.3.4.3.18, RFC 9881): the raw key follows. */
const spkiPrefix = Uint8Array.from([0x30, 0x82, 0x07, 0xb2, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12, 0x03, 0x82, 0x07, 0xa1, 0x00]);

type NativeKey = { kind: 'unproven' | 'proven'; key: KeyObject } | { kind: 'unavailable' };
const nativeKeys = new WeakMap<MlDsa65PartnerKey, NativeKey>();
let nativeDisabled = false;

export function verifyPartnerMlDsa65(key: MlDsa65PartnerKey, message: Uint8Array, signature: Uint8Array): boolean {
  const publicKey = mlDsaPublicKey(key);
  if (publicKey.length !== mlDsa65PublicKeyBytes || signature.length !== mlDsa65SignatureBytes) return false;
  const native = nativeKeyOf(key, publicKey);
  if (native.kind === 'proven') return nativeVerify(native.key, message, signature);
  const noble = verifyMlDsa65(publicKey, message, signature);
  if (native.kind === 'unavailable') return noble;
  const agrees = nativeVerify(native.key, message, signature) === noble;
  if (!agrees) {
    nativeDisabled = true;
    console.error(JSON.stringify({ event: 'ml-dsa-native-disagrees', keyid: key.keyid, noble }));
  } else if (noble) {
    nativeKeys.set(key, { kind: 'proven', key: native.key });
  }
  return noble;
}

function nativeKeyOf(key: MlDsa65PartnerKey, publicKey: Uint8Array): NativeKey {
  if (nativeDisabled) return { kind: 'unavailable' };
  let native = nativeKeys.get(key);
  if (native === undefined) {
    native = importNative(publicKey);
    nativeKeys.set(key, native);
  }
  return native;
}

/** The DER SubjectPublicKeyInfo of a raw ML-DSA-65 public key, as node:crypto imports it. */
export function mlDsa65Spki(publicKey: Uint8Array): Uint8Array {
  const spki = new Uint8Array(spkiPrefix.length + publicKey.length);
  spki.set(spkiPrefix);
  spki.set(publicKey, spkiPrefix.length);
  return spki;
}

function importNative(publicKey: Uint8Array): NativeKey {
  try {
    return { kind: 'unproven', key: createPublicKey({ key: Buffer.from(mlDsa65Spki(publicKey)), format: 'der', type: 'spki' }) };
  } catch {
    // This runtime's crypto has no ML-DSA: @noble/post-quantum alone.
    return { kind: 'unavailable' };
  }
}

function nativeVerify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
