/**
 * The byte shapes a remote signer (AWS KMS) hands back, turned into the shapes JOSE and auditors
 * use: SubjectPublicKeyInfo DER → raw public key, and ECDSA DER → raw r ‖ s. Strict on purpose:
 * a key or signature of an unexpected shape is a misconfigured key (or a tampered response) and
 * must stop the signer, not be coerced into something that merely parses.
 *
 * SPKI for these three key types has a fixed length, so each one is matched as a constant DER
 * prefix (SEQUENCE { AlgorithmIdentifier, BIT STRING with 0 unused bits }) followed by the key:
 *   Ed25519     RFC 8410: OID 1.3.101.112, no parameters
 *   P-256       RFC 5480: id-ecPublicKey + prime256v1, uncompressed point (KMS never compresses)
 *   ML-DSA-65   RFC 9881 (draft-ietf-lamps-dilithium-certificates): OID 2.16.840.1.101.3.4.3.18
 */
import { p256 } from '@noble/curves/nist.js';
import type { SignerAlgorithm } from './signer.ts';

interface SpkiLayout {
  prefix: Uint8Array;
  keyBytes: number;
}

const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g)!.map((byte) => parseInt(byte, 16)));

export const publicKeyBytes: Record<SignerAlgorithm, number> = { EdDSA: 32, ES256: 65, 'ML-DSA-65': 1_952 };
export const signatureBytes: Record<SignerAlgorithm, number> = { EdDSA: 64, ES256: 64, 'ML-DSA-65': 3_309 };

const spkiLayouts: Record<SignerAlgorithm, SpkiLayout> = {
  EdDSA: { prefix: hex('302a300506032b6570032100'), keyBytes: publicKeyBytes.EdDSA },
  ES256: { prefix: hex('3059301306072a8648ce3d020106082a8648ce3d030107034200'), keyBytes: publicKeyBytes.ES256 },
  'ML-DSA-65': { prefix: hex('308207b2300b0609608648016503040312038207a100'), keyBytes: publicKeyBytes['ML-DSA-65'] },
};

/** The raw public key inside a SubjectPublicKeyInfo of the expected algorithm, or an Error. */
export function rawPublicKeyFromSpki(alg: SignerAlgorithm, spki: Uint8Array): Uint8Array {
  const layout = spkiLayouts[alg];
  const expectedBytes = layout.prefix.length + layout.keyBytes;
  if (spki.length !== expectedBytes || !layout.prefix.every((byte, index) => spki[index] === byte)) {
    throw new Error(`public key is not a ${alg} SubjectPublicKeyInfo (${spki.length} bytes, expected ${expectedBytes} starting ${toHex(layout.prefix)})`);
  }
  const raw = spki.slice(layout.prefix.length);
  // A P-256 point must be on the curve; fromBytes checks it (and rejects the point at infinity).
  if (alg === 'ES256') p256.Point.fromBytes(raw).assertValidity();
  return raw;
}

/** The SubjectPublicKeyInfo DER of a raw public key (the inverse of rawPublicKeyFromSpki). */
export function spkiFromRawPublicKey(alg: SignerAlgorithm, raw: Uint8Array): Uint8Array {
  const layout = spkiLayouts[alg];
  if (raw.length !== layout.keyBytes) throw new Error(`${alg} public key is ${raw.length} bytes, expected ${layout.keyBytes}`);
  const spki = new Uint8Array(layout.prefix.length + raw.length);
  spki.set(layout.prefix);
  spki.set(raw, layout.prefix.length);
  return spki;
}

const p256ScalarBytes = 32;
const derSequenceTag = 0x30;
const derIntegerTag = 0x02;

/**
 * ECDSA-Sig-Value DER (SEQUENCE { r INTEGER, s INTEGER }, what KMS returns for ECDSA_SHA_256)
 * → the JWS ES256 encoding r ‖ s, each left-padded to 32 bytes (RFC 7518 §3.4). DER integers are
 * minimal and positive, so a value with its high bit set carries a leading 0x00 that goes, and a
 * short one (leading zero bytes, about 1 in 256 signatures) gets padded back.
 */
export function ecdsaP256DerToRaw(der: Uint8Array): Uint8Array {
  const fail = (reason: string): never => {
    throw new Error(`ECDSA signature is not P-256 DER: ${reason} (${der.length} bytes)`);
  };
  // The whole value is < 128 bytes, so every length here is in DER short form.
  if (der.length < 8 || der[0] !== derSequenceTag || der[1] !== der.length - 2) fail('bad SEQUENCE header');
  const raw = new Uint8Array(2 * p256ScalarBytes);
  let offset = 2;
  for (const half of [0, 1]) {
    if (der[offset] !== derIntegerTag) fail('expected INTEGER');
    const length = der[offset + 1]!;
    const start = offset + 2;
    const end = start + length;
    if (length === 0 || length > p256ScalarBytes + 1 || end > der.length) fail('INTEGER length out of range');
    if ((der[start]! & 0x80) !== 0) fail('negative INTEGER');
    if (length > 1 && der[start] === 0 && (der[start + 1]! & 0x80) === 0) fail('non-minimal INTEGER');
    const value = der.subarray(der[start] === 0 ? start + 1 : start, end);
    if (value.length > p256ScalarBytes) fail('INTEGER wider than 32 bytes');
    raw.set(value, (half + 1) * p256ScalarBytes - value.length);
    offset = end;
  }
  if (offset !== der.length) fail('trailing bytes');
  return raw;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
