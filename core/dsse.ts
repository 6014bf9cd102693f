/**
 * DSSE v1 (github.com/secure-systems-lab/dsse): a signed envelope around an opaque payload.
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body     (LEN: ASCII decimal byte count)
 *   envelope        = {"payload": base64(body), "payloadType": type, "signatures": [{"keyid", "sig": base64}]}
 *
 * Signatures are over the PAE bytes, never over the JSON, so the envelope's serialization is not
 * security-relevant — but Meridian stores envelopes as log leaves and hashes their exact bytes, so
 * `serializeEnvelope` is RFC 8785 canonical JSON: the same envelope always has the same leaf hash.
 *
 * The `keyid` is an unauthenticated hint (DSSE §"Protocol"): it only selects which trusted key to
 * try; an envelope is accepted when a trusted key verifies a signature, never because of its keyid.
 * Signing goes through a `DsseSigner` that sees only the PAE bytes, so a remote key (AWS KMS)
 * signs exactly what a verifier will check.
 *
 * Runtime-neutral: Ed25519 through @noble/curves, ECDSA P-256 through WebCrypto (the global `crypto`),
 * ML-DSA-65 through @noble/post-quantum (core/ml-dsa.ts).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalJson } from './canonical-json.ts';
import { base64Decode, base64Encode, base64urlDecode, utf8 } from './digest.ts';
import { verifyMlDsa65 } from './ml-dsa.ts';
import { err, ok, type Result } from './result.ts';

export interface DsseSignature {
  keyid: string;
  /** base64 of the raw signature bytes. */
  sig: string;
}

export interface DsseEnvelope {
  /** base64 of the payload bytes. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

export interface DsseSigner {
  keyid: string;
  sign(preAuthEncoding: Uint8Array): Promise<Uint8Array>;
}

export interface DsseVerifier {
  keyid: string;
  verify(preAuthEncoding: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export type DsseFailure =
  | { kind: 'malformed-envelope'; detail: string }
  | { kind: 'no-trusted-signature'; detail: string };

export interface VerifiedEnvelope {
  payloadType: string;
  payload: Uint8Array;
  /** Key ids of the trusted keys that verified a signature. */
  verifiedKeyids: string[];
}

/** Bounds on parsing an envelope from an untrusted source. */
export const dsseSignaturesMax = 16;
export const dsseEnvelopeCharsMax = 1 << 20;

export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const typeBytes = utf8(payloadType);
  const head = utf8(`DSSEv1 ${typeBytes.length} ${payloadType} ${payload.length} `);
  const encoded = new Uint8Array(head.length + payload.length);
  encoded.set(head, 0);
  encoded.set(payload, head.length);
  return encoded;
}

export async function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly DsseSigner[]): Promise<DsseEnvelope> {
  if (signers.length === 0) throw new Error('signEnvelope: at least one signer');
  const encoded = preAuthEncoding(payloadType, payload);
  const signatures: DsseSignature[] = [];
  for (const signer of signers) signatures.push({ keyid: signer.keyid, sig: base64Encode(await signer.sign(encoded)) });
  return { payload: base64Encode(payload), payloadType, signatures };
}

/** RFC 8785 canonical JSON of the envelope: deterministic bytes for a log leaf. */
export function serializeEnvelope(envelope: DsseEnvelope): string {
  return canonicalJson({ payload: envelope.payload, payloadType: envelope.payloadType, signatures: envelope.signatures.map((signature) => ({ keyid: signature.keyid, sig: signature.sig })) });
}

/** DSSE allows standard or URL-safe base64; both are decoded strictly (one spelling per byte string). */
function decodeDsseBase64(text: string): Uint8Array {
  return /[-_]/.test(text) || text.length % 4 !== 0 ? base64urlDecode(text) : base64Decode(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses envelope JSON (shape only; no signature is checked here). Unknown fields are rejected. */
export function parseEnvelope(text: string): Result<DsseEnvelope, DsseFailure> {
  const malformed = (detail: string) => err<DsseFailure>({ kind: 'malformed-envelope', detail });
  if (text.length > dsseEnvelopeCharsMax) return malformed(`envelope longer than ${dsseEnvelopeCharsMax} characters`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return malformed('not JSON');
  }
  if (!isRecord(json)) return malformed('not a JSON object');
  const unknown = Object.keys(json).filter((key) => !['payload', 'payloadType', 'signatures'].includes(key));
  if (unknown.length > 0) return malformed(`unknown field ${JSON.stringify(unknown[0]!.slice(0, 40))}`);
  const { payload, payloadType, signatures } = json;
  if (typeof payload !== 'string' || typeof payloadType !== 'string') return malformed('payload and payloadType must be strings');
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > dsseSignaturesMax) return malformed(`signatures must be an array of 1 to ${dsseSignaturesMax}`);
  const parsed: DsseSignature[] = [];
  for (const signature of signatures) {
    if (!isRecord(signature) || typeof signature.sig !== 'string' || (signature.keyid !== undefined && typeof signature.keyid !== 'string')) {
      return malformed('each signature needs a string sig and an optional string keyid');
    }
    if (Object.keys(signature).some((key) => key !== 'keyid' && key !== 'sig')) return malformed('unknown field in a signature');
    parsed.push({ keyid: (signature.keyid as string | undefined) ?? '', sig: signature.sig });
  }
  try {
    decodeDsseBase64(payload);
    for (const signature of parsed) decodeDsseBase64(signature.sig);
  } catch (error) {
    return malformed(`bad base64: ${(error as Error).message}`);
  }
  return ok({ payload, payloadType, signatures: parsed });
}

/**
 * Accepts the envelope when at least one signature verifies under a trusted key (threshold 1).
 * A signature with a keyid is tried only against verifiers with that keyid; one without a keyid
 * against all of them.
 */
export async function verifyEnvelope(envelope: DsseEnvelope, verifiers: readonly DsseVerifier[]): Promise<Result<VerifiedEnvelope, DsseFailure>> {
  let payload: Uint8Array;
  try {
    payload = decodeDsseBase64(envelope.payload);
  } catch (error) {
    return err({ kind: 'malformed-envelope', detail: `payload: ${(error as Error).message}` });
  }
  const encoded = preAuthEncoding(envelope.payloadType, payload);
  const verifiedKeyids: string[] = [];
  for (const signature of envelope.signatures.slice(0, dsseSignaturesMax)) {
    let signatureBytes: Uint8Array;
    try {
      signatureBytes = decodeDsseBase64(signature.sig);
    } catch {
      continue;
    }
    for (const verifier of verifiers) {
      if (signature.keyid !== '' && signature.keyid !== verifier.keyid) continue;
      if (await verifier.verify(encoded, signatureBytes)) {
        if (!verifiedKeyids.includes(verifier.keyid)) verifiedKeyids.push(verifier.keyid);
        break;
      }
    }
  }
  if (verifiedKeyids.length === 0) {
    const keyids = envelope.signatures.map((signature) => signature.keyid || '(no keyid)').join(', ');
    return err({ kind: 'no-trusted-signature', detail: `no signature verifies under a trusted key (signature keyids: ${keyids})` });
  }
  return ok({ payloadType: envelope.payloadType, payload, verifiedKeyids });
}

/** Ed25519 (RFC 8032, strict: no ZIP-215 leniency) over the PAE bytes. */
export function ed25519DsseVerifier(keyid: string, publicKey: Uint8Array): DsseVerifier {
  return {
    keyid,
    verify: async (encoded, signature) => {
      try {
        return ed25519.verify(signature, encoded, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
  };
}

/**
 * ECDSA P-256 with SHA-256 over the PAE bytes, signature as raw r ‖ s (64 bytes, IEEE P1363 —
 * what WebCrypto and the DSSE reference implementation produce; a DER signature does not verify).
 * `publicKey`: the uncompressed point 0x04 ‖ x ‖ y (65 bytes) or a DER SubjectPublicKeyInfo.
 */
export async function ecdsaP256DsseVerifier(keyid: string, publicKey: Uint8Array): Promise<DsseVerifier> {
  const format = publicKey.length === 65 && publicKey[0] === 0x04 ? 'raw' : 'spki';
  const key = await crypto.subtle.importKey(format, publicKey as Uint8Array<ArrayBuffer>, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return {
    keyid,
    verify: async (encoded, signature) => {
      if (signature.length !== 64) return false;
      return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature as Uint8Array<ArrayBuffer>, encoded as Uint8Array<ArrayBuffer>);
    },
  };
}

/** ML-DSA-65 (FIPS 204, pure, empty context) over the PAE bytes. */
export function mlDsa65DsseVerifier(keyid: string, publicKey: Uint8Array): DsseVerifier {
  return { keyid, verify: async (encoded, signature) => verifyMlDsa65(publicKey, encoded, signature) };
}

/**
 * The verifier for a key as GET /v1/keys publishes it (JOSE algorithm name, raw public key bytes),
 * or undefined for an algorithm this code does not know (the caller reports it; never "verified").
 */
export async function dsseVerifierForKey(key: { kid: string; alg: string; publicKey: Uint8Array }): Promise<DsseVerifier | undefined> {
  switch (key.alg) {
    case 'EdDSA':
      return ed25519DsseVerifier(key.kid, key.publicKey);
    case 'ES256':
      try {
        return await ecdsaP256DsseVerifier(key.kid, key.publicKey);
      } catch {
        return undefined;
      }
    case 'ML-DSA-65':
      return mlDsa65DsseVerifier(key.kid, key.publicKey);
    default:
      return undefined;
  }
}
